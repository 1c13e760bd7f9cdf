// Per-token and per-tenant rate limits: token buckets (a steady rate plus a burst), checked after a
// caller is authenticated and before its request is forwarded. A request must find a token in both
// of its buckets; when either is empty neither is charged, so a caller held back by its tenant's
// limit does not also drain its own.
//
// Memory is bounded: a bucket idle long enough to have refilled completely is the same as a new one,
// so it is dropped whenever the table is full; if every bucket is still busy, the least recently
// used one goes (its key gets a fresh burst, a small leniency under an attack on the table itself).
import { FluxoError } from '../common/errors.js';

/** A steady rate and the burst a bucket holds. */
export interface RateLimit {
  /** Requests per second refilled. */
  ratePerSecond: number;
  /** Requests a full bucket allows at once (at least 1). */
  burst: number;
}

/** Per-token default: 50 requests/s, bursts of 100. */
export const DEFAULT_TOKEN_RATE_LIMIT: RateLimit = { ratePerSecond: 50, burst: 100 };
/** Per-tenant default: 300 requests/s, bursts of 600. */
export const DEFAULT_TENANT_RATE_LIMIT: RateLimit = { ratePerSecond: 300, burst: 600 };
/** Buckets kept per table before idle (then least recently used) ones are evicted. @default 100000 */
export const DEFAULT_MAX_BUCKETS = 100_000;

/** Which limit a request ran into. */
export type LimitName = 'token' | 'tenant';

/** The answer of {@link RateLimiter.take}. */
export type RateDecision =
  | { allowed: true }
  | {
      allowed: false;
      limit: LimitName;
      /** Whole seconds (at least 1) until both buckets hold a token again. */
      retryAfterSeconds: number;
      /** Names the limit and its numbers, for the refusal. */
      message: string;
    };

/** What a request is counted against. */
export interface RateKeys {
  /** The caller's token: its id (jti, service-token id), else subject and tenant. */
  token: string;
  tenant: string;
}

/** Per-token and per-tenant buckets. */
export interface RateLimiter {
  /** Takes one request from the token's and the tenant's bucket, or says which limit refuses it. */
  take(keys: RateKeys): RateDecision;
}

/** Settings of `createRateLimiter`. */
export interface RateLimiterOptions {
  /** null disables the per-token limit. @default DEFAULT_TOKEN_RATE_LIMIT */
  perToken?: RateLimit | null;
  /** null disables the per-tenant limit. @default DEFAULT_TENANT_RATE_LIMIT */
  perTenant?: RateLimit | null;
  /** @default DEFAULT_MAX_BUCKETS */
  maxBuckets?: number;
  /** Milliseconds clock; tests inject one. @default Date.now */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Builds the limiter.
 *
 * @example
 * const limiter = createRateLimiter({ perToken: { ratePerSecond: 50, burst: 100 } })
 * const decision = limiter.take({ token: verified.tokenId ?? `${subject}@${tenant}`, tenant })
 */
export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const perToken = options.perToken === undefined ? DEFAULT_TOKEN_RATE_LIMIT : options.perToken;
  const perTenant = options.perTenant === undefined ? DEFAULT_TENANT_RATE_LIMIT : options.perTenant;
  for (const limit of [perToken, perTenant]) if (limit) assertLimit(limit);
  const maxBuckets = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
  if (!Number.isInteger(maxBuckets) || maxBuckets < 1) throw new TypeError('maxBuckets must be a positive integer');
  const now = options.now ?? Date.now;
  const tables = { token: new Map<string, Bucket>(), tenant: new Map<string, Bucket>() };

  /** The bucket for `key`, refilled up to `at`; marked most recently used. */
  const bucketOf = (name: LimitName, limit: RateLimit, key: string, at: number): Bucket => {
    const table = tables[name];
    let bucket = table.get(key);
    if (bucket) {
      table.delete(key);
      bucket.tokens = Math.min(limit.burst, bucket.tokens + ((at - bucket.updatedAt) / 1000) * limit.ratePerSecond);
      bucket.updatedAt = at;
    } else {
      if (table.size >= maxBuckets) evict(table, limit, at);
      bucket = { tokens: limit.burst, updatedAt: at };
    }
    table.set(key, bucket);
    return bucket;
  };

  const evict = (table: Map<string, Bucket>, limit: RateLimit, at: number): void => {
    const refillMs = (limit.burst / limit.ratePerSecond) * 1000;
    for (const [key, bucket] of table) if (at - bucket.updatedAt >= refillMs) table.delete(key);
    // Map iteration follows insertion order, and a use re-inserts: the first key is the least recently used.
    while (table.size >= maxBuckets) table.delete(table.keys().next().value!);
  };

  return {
    take(keys) {
      const at = now();
      const checks: { name: LimitName; limit: RateLimit; bucket: Bucket }[] = [];
      if (perToken) checks.push({ name: 'token', limit: perToken, bucket: bucketOf('token', perToken, keys.token, at) });
      if (perTenant) checks.push({ name: 'tenant', limit: perTenant, bucket: bucketOf('tenant', perTenant, keys.tenant, at) });
      const empty = checks.filter(({ bucket }) => bucket.tokens < 1);
      if (empty.length === 0) {
        for (const { bucket } of checks) bucket.tokens -= 1;
        return { allowed: true };
      }
      const waits = empty.map(({ name, limit, bucket }) => ({ name, limit, seconds: Math.max(1, Math.ceil((1 - bucket.tokens) / limit.ratePerSecond)) }));
      const longest = waits.reduce((a, b) => (b.seconds > a.seconds ? b : a));
      const whose = longest.name === 'token' ? 'this token' : `tenant "${keys.tenant}"`;
      return {
        allowed: false,
        limit: longest.name,
        retryAfterSeconds: longest.seconds,
        message: `too many requests for ${whose}: the ${longest.name} limit is ${formatRate(longest.limit)}; retry after ${longest.seconds} s`,
      };
    },
  };
}

/**
 * Parses `<requests per second>:<burst>` (`50:100`, `0.5:2`), or `0` to disable (null).
 * Throws FluxoError BAD_USER_INPUT with an example for anything else.
 *
 * @example parseRateLimit('50:100') // { ratePerSecond: 50, burst: 100 }
 */
export function parseRateLimit(text: string, setting = 'rate limit'): RateLimit | null {
  const trimmed = text.trim();
  if (trimmed === '0') return null;
  const match = /^(\d+(?:\.\d+)?):(\d+)$/.exec(trimmed);
  const limit = match ? { ratePerSecond: Number(match[1]), burst: Number(match[2]) } : undefined;
  if (!limit || limitProblem(limit)) {
    throw new FluxoError('BAD_USER_INPUT', `${setting} must be <requests per second>:<burst> with both above 0 (e.g. 50:100), or 0 to disable it; got ${JSON.stringify(text)}`);
  }
  return limit;
}

/** `50 requests/s (bursts of 100)`. */
export function formatRate(limit: RateLimit): string {
  return `${limit.ratePerSecond} requests/s (bursts of ${limit.burst})`;
}

function limitProblem(limit: RateLimit): string | undefined {
  if (!(Number.isFinite(limit.ratePerSecond) && limit.ratePerSecond > 0)) return 'ratePerSecond must be a number above 0';
  if (!(Number.isSafeInteger(limit.burst) && limit.burst >= 1)) return 'burst must be a whole number of at least 1';
  return undefined;
}

function assertLimit(limit: RateLimit): void {
  const problem = limitProblem(limit);
  if (problem) throw new TypeError(`invalid rate limit: ${problem}`);
}
