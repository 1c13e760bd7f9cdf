// The server verifies the proxy's identity header on every request. jose's HS256 check goes
// through WebCrypto (a key conversion, a promise and a thread-pool job per call) and cost about a
// sixth of the server's CPU per request (docs/benchmarks.md, "Where the time went"). The proxy
// signs one header per caller and reuses it for a few seconds (auth-proxy/identity-signer.ts), so
// nearly every header has been verified before: remember the verified ones, byte for byte, until
// they expire.
import { verifyIdentity, type Identity } from '../common/identity.js';

/** Headers remembered at most; past it the oldest go first. A header is a few hundred bytes. */
const MAX_ENTRIES = 4096;

interface Verified {
  identity: Identity;
  /** Epoch ms after which the header is verified afresh (and refused once jose says it expired). */
  until: number;
}

/**
 * `verifyIdentity` with a memory of headers it accepted. Only an exact copy of a header whose
 * HMAC was checked is answered from memory, and only until that header's own `exp`; anything
 * else (a new header, an expired one, a malformed one) goes through `verifyIdentity` and fails
 * the same way.
 *
 * @example const verify = identityVerifier(secret); const identity = await verify(req.headers['x-fluxo-identity'])
 */
export function identityVerifier(secret: Uint8Array, now: () => number = Date.now): (header: string | undefined) => Promise<Identity> {
  const verified = new Map<string, Verified>();
  return async (header) => {
    if (header) {
      const known = verified.get(header);
      if (known && now() < known.until) return known.identity;
      if (known) verified.delete(header);
    }
    const identity = await verifyIdentity(header, secret);
    const until = expiryOf(header!);
    if (until !== null && until > now()) {
      if (verified.size >= MAX_ENTRIES) verified.delete(verified.keys().next().value!);
      verified.set(header!, { identity, until });
    }
    return identity;
  };
}

/** Epoch ms of a verified header's `exp` (signed with the secret, like the rest of it), or null. */
function expiryOf(header: string): number | null {
  try {
    const payload = JSON.parse(Buffer.from(header.split('.')[1]!, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}
