// How the proxy says no: the coded GraphQL-shaped body of common/errors.ts, over a normal HTTP
// response or, for a WebSocket upgrade that never became one, written straight onto the socket.
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, httpStatusOf, type ErrorCode } from '../common/errors.js';
import { REQUEST_ID_HEADER } from '../common/identity.js';

/** A refusal ready to send. */
export interface Refusal {
  code: ErrorCode;
  message: string;
  /** For RATE_LIMITED: whole seconds (at least 1) until a retry can succeed, sent as `Retry-After`. */
  retryAfterSeconds?: number;
}

function headersOf(refusal: Refusal, body: string, requestId: string): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    [REQUEST_ID_HEADER]: requestId,
  };
  if (refusal.retryAfterSeconds !== undefined) headers['retry-after'] = refusal.retryAfterSeconds;
  // RFC 6750 §3: tell the client which scheme to use and what went wrong.
  if (httpStatusOf[refusal.code] === 401) {
    headers['www-authenticate'] = `Bearer realm="fluxo", error="${refusal.code === 'TOKEN_MISSING' ? 'invalid_request' : 'invalid_token'}"`;
  }
  return headers;
}

/**
 * Answers an HTTP request with a coded error. With `close`, the connection is closed afterwards
 * (used when the request body was not read).
 */
export function refuse(res: ServerResponse, refusal: Refusal, requestId: string, { close = false } = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(refusal.code, refusal.message);
  const headers = headersOf(refusal, body, requestId);
  if (close) headers.connection = 'close';
  res.writeHead(httpStatusOf[refusal.code], headers);
  res.end(body);
}

/** Writes a complete HTTP/1.1 error response onto a raw socket (a refused upgrade) and closes it. */
export function refuseSocket(socket: Duplex, refusal: Refusal, requestId: string): void {
  if (socket.destroyed) return;
  const status = httpStatusOf[refusal.code];
  const body = errorBody(refusal.code, refusal.message);
  const headers = { ...headersOf(refusal, body, requestId), connection: 'close' };
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)].join('\r\n');
  socket.end(`${head}\r\n\r\n${body}`, () => socket.destroy());
}
