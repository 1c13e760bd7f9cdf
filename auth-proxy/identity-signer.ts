// The identity header the proxy forwards. Signing it (jose, HS256 through WebCrypto) cost about a
// quarter of the proxy's CPU when done per request (docs/benchmarks.md, "Where the time went"), and
// a fresh header per request also defeated the server's memory of verified headers
// (server/identity-cache.ts). A header says only who the caller is and lives 60 s; one signed
// for a caller a few seconds ago says the same, so it is reused while it is young.
import { signIdentity, type Identity } from '../common/identity.js';

/** How long a signed header is reused: it still has at least 50 of its 60 s when the server reads it. */
const REUSE_MS = 10_000;
/** Callers remembered at most; past it the oldest go first. */
const MAX_ENTRIES = 4096;

/**
 * `signIdentity` that reuses the header signed for the same subject, tenant and role in the last
 * {@link REUSE_MS} ms.
 *
 * @example const sign = identitySigner(secret); headers['x-fluxo-identity'] = await sign(identity)
 */
export function identitySigner(secret: Uint8Array, now: () => number = Date.now): (identity: Identity) => Promise<string> {
  const signed = new Map<string, { header: Promise<string>; at: number }>();
  return (identity) => {
    const key = `${identity.role}\n${identity.tenant}\n${identity.subject}`;
    const at = now();
    const known = signed.get(key);
    if (known && at - known.at < REUSE_MS) return known.header;
    if (known) signed.delete(key);
    else if (signed.size >= MAX_ENTRIES) signed.delete(signed.keys().next().value!);
    const header = signIdentity(identity, secret);
    signed.set(key, { header, at });
    // A failed signature is not remembered: the next request tries again.
    header.catch(() => {
      if (signed.get(key)?.header === header) signed.delete(key);
    });
    return header;
  };
}
