// The shape of the bearer values fluxo issues as service tokens, shared by the server that issues
// and verifies them and the proxy that tells them from JWTs and refuses garbage without a round trip.

/** The prefix of every service token, so the proxy can tell them from JWTs. */
export const SERVICE_TOKEN_PREFIX = 'fxs_';

// `fxs_` + UUIDv7 + `_` + 43 base64url characters (32 bytes). The secret's alphabet includes `_`,
// so the parts are told apart by position, not by splitting.
const SERVICE_TOKEN = /^fxs_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** Whether a bearer value is meant as a fluxo service token (rather than a JWT). */
export function isServiceToken(token: string): boolean {
  return token.startsWith(SERVICE_TOKEN_PREFIX);
}

/** The id and secret of a well-formed service token, or null. */
export function parseServiceToken(token: string): { id: string; secret: string } | null {
  const match = SERVICE_TOKEN.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : null;
}
