// The headers the proxy sends upstream. A client must never be able to speak for the proxy, so
// every `x-fluxo-*` header it sent is dropped (the identity header above all), its credentials are
// dropped (the server sees the signed identity, never the bearer token), and hop-by-hop headers
// stay on the hop they were meant for (RFC 9110 §7.6.1).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { IDENTITY_HEADER, REQUEST_ID_HEADER } from '../common/identity.js';

/**
 * Header with which an admin acts in another tenant (`x-fluxo-tenant: rj-smtr`). Like every
 * `x-fluxo-*` header it never reaches the server: the proxy puts the tenant in the signed identity.
 */
export const TENANT_HEADER = 'x-fluxo-tenant';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1, plus legacy ones). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Headers only the proxy may set upstream. */
function isReserved(name: string): boolean {
  return name.startsWith('x-fluxo-') || name === 'authorization' || name === REQUEST_ID_HEADER;
}

/** Connection-specific header names listed in `Connection: a, b`. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  return new Set((value ?? '').split(',').map((token) => token.trim().toLowerCase()).filter(Boolean));
}

/** What the proxy adds to every forwarded request. */
export interface ProxyHeaderValues {
  /** The signed identity (common/identity.ts `signIdentity`). */
  identity: string;
  /** The id the proxy assigned to this request. */
  requestId: string;
  /** The client's address, appended to X-Forwarded-For. */
  clientAddress: string | undefined;
}

/**
 * Copies the end-to-end headers a client sent, minus reserved and hop-by-hop ones, plus the
 * proxy's own. With `websocket: true` the client's `Sec-WebSocket-*` handshake headers are dropped
 * too: the proxy opens its own WebSocket to the server, which negotiates its own key, version and
 * extensions.
 */
export function upstreamHeaders(incoming: IncomingHttpHeaders, values: ProxyHeaderValues, { websocket = false } = {}): OutgoingHttpHeaders {
  const listed = connectionTokens(incoming);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    // Host is the server's own (set by node:http from the upstream URL); the client's goes in X-Forwarded-Host.
    if (isReserved(lower) || HOP_BY_HOP.has(lower) || listed.has(lower) || lower === 'host') continue;
    if (websocket && lower.startsWith('sec-websocket-')) continue;
    out[lower] = value;
  }
  if (incoming.host) out['x-forwarded-host'] = incoming.host;
  const forwardedFor = incoming['x-forwarded-for'];
  const chain = [forwardedFor, values.clientAddress].flat().filter((part): part is string => typeof part === 'string' && part !== '');
  if (chain.length > 0) out['x-forwarded-for'] = chain.join(', ');
  // Empty for the web interface's public files: the server answers those without an identity.
  if (values.identity !== '') out[IDENTITY_HEADER] = values.identity;
  out[REQUEST_ID_HEADER] = values.requestId;
  return out;
}

/** Copies an upstream response's headers for the client, minus hop-by-hop ones. */
export function downstreamHeaders(incoming: IncomingHttpHeaders, requestId: string): OutgoingHttpHeaders {
  const listed = connectionTokens(incoming);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    out[lower] = value;
  }
  out[REQUEST_ID_HEADER] = requestId;
  return out;
}
