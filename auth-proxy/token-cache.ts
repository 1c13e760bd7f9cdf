// Verified tokens, remembered so a busy caller's signature is checked once rather than on every
// request (an Ed25519 or RSA verification costs far more than forwarding a small GraphQL request).
// Only successful verifications are kept, keyed by the exact token text, until the token's `exp`
// or `maxAgeMs`, whichever comes first: the bound caps how long a removed signing key, or a changed
// claim mapping, can keep an already-seen token alive. Refusals are not remembered, so the cache
// cannot be filled by garbage.
import type { VerifiedToken } from './verified-token.js';

/** @default 10000 */
export const DEFAULT_TOKEN_CACHE_ENTRIES = 10_000;
/** @default 60000 */
export const DEFAULT_TOKEN_CACHE_MAX_AGE_MS = 60_000;

/** A least-recently-used cache of verified tokens. */
export interface TokenCache {
  /** The verified token, if it was stored and is not past its deadline at `nowMs`. */
  get(token: string, nowMs: number): VerifiedToken | undefined;
  /** Stores a verified token until `min(expMs, nowMs + maxAgeMs)`. */
  set(token: string, verified: VerifiedToken, expMs: number, nowMs: number): void;
}

/**
 * A Map keeps insertion order, so re-inserting on each hit makes its first key the least recently
 * used one: the whole LRU is a delete and a set.
 *
 * @example const cache = createTokenCache({ maxEntries: 10_000 })
 */
export function createTokenCache({ maxEntries = DEFAULT_TOKEN_CACHE_ENTRIES, maxAgeMs = DEFAULT_TOKEN_CACHE_MAX_AGE_MS } = {}): TokenCache {
  if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new TypeError('maxEntries must be a non-negative integer');
  const entries = new Map<string, { verified: VerifiedToken; untilMs: number }>();
  return {
    get(token, nowMs) {
      const entry = entries.get(token);
      if (!entry) return undefined;
      entries.delete(token);
      if (nowMs >= entry.untilMs) return undefined;
      entries.set(token, entry);
      return entry.verified;
    },
    set(token, verified, expMs, nowMs) {
      if (maxEntries === 0) return;
      entries.delete(token);
      entries.set(token, { verified, untilMs: Math.min(expMs, nowMs + maxAgeMs) });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
  };
}
