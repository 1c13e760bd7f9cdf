// The server's internal routes, for the auth proxy only: verifying fluxo service tokens and
// appending the proxy's refusals to the audit log. Every request must carry the proxy credential
// (common/identity.ts `signProxyCredential`); a user's identity header opens nothing here, and the
// credential opens nothing on /graphql.
//
//   POST /internal/service-tokens/verify  {"token": "fxs_..."}
//     200 {"identity": {subject, tenant, role}, "expiresAtMs": number | null, "tokenId": "..."}
//     401 error body (TOKEN_INVALID, TOKEN_REVOKED, TOKEN_EXPIRED)
//   POST /internal/audit  {"events": ProxyAuditEvent[]}  (at most 500 events, 1 MiB)
//     204
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FluxoError, httpStatusOf, type ErrorCode } from '../common/errors.js';
import { isRole, PROXY_CREDENTIAL_HEADER, verifyProxyCredential } from '../common/identity.js';
import type { Logger } from '../common/logger.js';
import { MAX_AUDIT_DETAIL, type AuditLog, type NewAuditEvent } from './core/audit-log.js';
import { verifyServiceToken } from './core/service-tokens.js';
import { readBody, refuse } from './http-responses.js';
import type { Store } from './store/store.js';

/** Most events one `POST /internal/audit` may carry. */
const MAX_FORWARDED_EVENTS = 500;
/** Largest body of an internal request. */
const MAX_BODY_BYTES = 1024 * 1024;

/** What the internal routes need from the server. */
export interface InternalRoutesOptions {
  store: Store;
  identitySecret: Uint8Array;
  audit: AuditLog;
  logger: Logger;
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** Internal answers are never cached by anything in between. */
const NO_STORE = { 'cache-control': 'no-store' };

async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req, MAX_BODY_BYTES);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', 'the request body is not JSON', { cause: error });
  }
}

const bad = (message: string): never => {
  throw new FluxoError('BAD_USER_INPUT', message);
};

function optionalText(event: Record<string, unknown>, key: string, max: number, index: number): string | null {
  const value = event[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > max) bad(`events[${index}].${key} must be a string of at most ${max} characters`);
  return value as string;
}

/** Validates the forwarded events; BAD_USER_INPUT naming the first bad field. */
function parseProxyAuditEvents(body: unknown): NewAuditEvent[] {
  const events = (body as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) bad('the body must be {"events": [...]}');
  const list = events as unknown[];
  if (list.length > MAX_FORWARDED_EVENTS) bad(`at most ${MAX_FORWARDED_EVENTS} events per request, got ${list.length}`);
  return list.map((raw, i): NewAuditEvent => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) bad(`events[${i}] must be an object`);
    const event = raw as Record<string, unknown>;
    if (typeof event.at !== 'number' || !Number.isSafeInteger(event.at) || event.at <= 0) bad(`events[${i}].at must be epoch milliseconds`);
    if (typeof event.action !== 'string' || !/^[a-z][A-Za-z0-9_.:-]{0,99}$/.test(event.action)) bad(`events[${i}].action must be like "proxy.authenticate"`);
    if (typeof event.requestId !== 'string' || event.requestId.length === 0 || event.requestId.length > 100) bad(`events[${i}].requestId must be 1-100 characters`);
    if (event.outcome !== 'DENIED') bad(`events[${i}].outcome must be DENIED (the proxy forwards refusals only)`);
    if (typeof event.code !== 'string' || !Object.hasOwn(httpStatusOf, event.code)) bad(`events[${i}].code must be an ErrorCode`);
    const role = optionalText(event, 'role', 40, i);
    if (role !== null && !isRole(role)) bad(`events[${i}].role must be a fluxo role`);
    return {
      at: event.at as number,
      tenant: optionalText(event, 'tenant', 200, i),
      subject: optionalText(event, 'subject', 500, i),
      role,
      action: event.action as string,
      requestId: event.requestId as string,
      outcome: 'DENIED',
      code: event.code as ErrorCode,
      detail: optionalText(event, 'detail', 4 * MAX_AUDIT_DETAIL, i),
    };
  });
}

/** Answers `/internal/...` requests; resolves when the response is sent. */
export function createInternalRoutes(options: InternalRoutesOptions): (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void> {
  const { store, identitySecret, audit, logger } = options;
  return async (req, res, pathname) => {
    try {
      await verifyProxyCredential(req.headers[PROXY_CREDENTIAL_HEADER] as string | undefined, identitySecret);
    } catch (error) {
      logger.warn({ path: pathname, remote: req.socket.remoteAddress }, 'refused an internal request without a valid proxy credential');
      return refuse(res, error as FluxoError, NO_STORE);
    }
    try {
      if (req.method !== 'POST') throw new FluxoError('BAD_USER_INPUT', `${pathname} takes POST only`);
      if (pathname === '/internal/service-tokens/verify') {
        const token = ((await readJson(req)) as { token?: unknown } | null)?.token;
        if (typeof token !== 'string' || token.length > 200) throw new FluxoError('BAD_USER_INPUT', 'the body must be {"token": "fxs_..."}');
        const verified = await verifyServiceToken(store, token);
        return send(res, 200, { identity: verified.identity, expiresAtMs: verified.expiresAtMs, tokenId: verified.tokenId });
      }
      if (pathname === '/internal/audit') {
        await audit.record(parseProxyAuditEvents(await readJson(req)));
        return send(res, 204);
      }
      throw new FluxoError('NOT_FOUND', `no internal route ${pathname}`);
    } catch (error) {
      if (error instanceof FluxoError) return refuse(res, error, NO_STORE);
      logger.error({ err: error, path: pathname }, 'internal request failed');
      return refuse(res, new FluxoError('INTERNAL_SERVER_ERROR', 'internal error; the server log has the details'), NO_STORE);
    }
  };
}
