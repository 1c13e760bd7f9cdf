import { describe, expect, it } from 'vitest';
import { createRateLimiter, parseRateLimit } from '../../auth-proxy/rate-limit.js';

/** A clock the test moves by hand. */
function frozenClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('token buckets', () => {
  it('allows a burst, then the steady rate, and says when to retry', () => {
    const clock = frozenClock();
    const limiter = createRateLimiter({ perToken: { ratePerSecond: 2, burst: 3 }, perTenant: null, now: clock.now });
    const keys = { token: 't1', tenant: 'rj-smtr' };
    expect([1, 2, 3].map(() => limiter.take(keys).allowed)).toEqual([true, true, true]);
    expect(limiter.take(keys)).toEqual({ allowed: false, limit: 'token', retryAfterSeconds: 1, message: 'too many requests for this token: the token limit is 2 requests/s (bursts of 3); retry after 1 s' });
    clock.advance(500);
    expect(limiter.take(keys).allowed).toBe(true);
    expect(limiter.take(keys).allowed).toBe(false);
    clock.advance(10_000);
    expect([1, 2, 3, 4].map(() => limiter.take(keys).allowed)).toEqual([true, true, true, false]);
  });

  it('rounds Retry-After up to whole seconds for slow rates', () => {
    const clock = frozenClock();
    const limiter = createRateLimiter({ perToken: { ratePerSecond: 0.1, burst: 1 }, perTenant: null, now: clock.now });
    limiter.take({ token: 't', tenant: 'x' });
    expect(limiter.take({ token: 't', tenant: 'x' })).toMatchObject({ allowed: false, retryAfterSeconds: 10 });
    clock.advance(7_500);
    expect(limiter.take({ token: 't', tenant: 'x' })).toMatchObject({ allowed: false, retryAfterSeconds: 3 });
  });

  it('charges neither bucket when one of them refuses', () => {
    const clock = frozenClock();
    const limiter = createRateLimiter({ perToken: { ratePerSecond: 1, burst: 2 }, perTenant: { ratePerSecond: 1, burst: 2 }, now: clock.now });
    expect(limiter.take({ token: 'a', tenant: 'rj-smtr' }).allowed).toBe(true);
    expect(limiter.take({ token: 'b', tenant: 'rj-smtr' }).allowed).toBe(true);
    // The tenant is empty: token a keeps its second request for later.
    expect(limiter.take({ token: 'a', tenant: 'rj-smtr' })).toMatchObject({ allowed: false, limit: 'tenant', message: expect.stringMatching(/^too many requests for tenant "rj-smtr"/) });
    clock.advance(1_000);
    expect(limiter.take({ token: 'a', tenant: 'rj-smtr' }).allowed).toBe(true);
    // Had the refused request been charged, token a would be empty now.
    expect(limiter.take({ token: 'a', tenant: 'rj-cor' }).allowed).toBe(true);
    expect(limiter.take({ token: 'a', tenant: 'rj-cor' })).toMatchObject({ allowed: false, limit: 'token' });
  });

  it('keeps at most maxBuckets buckets: idle (refilled) ones go first, then the least recently used', () => {
    const clock = frozenClock();
    const limiter = createRateLimiter({ perToken: { ratePerSecond: 1, burst: 1 }, perTenant: null, maxBuckets: 2, now: clock.now });
    limiter.take({ token: 'old', tenant: 'x' });
    clock.advance(2_000);
    limiter.take({ token: 'recent', tenant: 'x' });
    limiter.take({ token: 'new', tenant: 'x' }); // evicts "old", refilled anyway
    expect(limiter.take({ token: 'recent', tenant: 'x' }).allowed).toBe(false); // kept, still empty
    limiter.take({ token: 'newer', tenant: 'x' }); // nothing idle: evicts the least recently used, "new"
    expect(limiter.take({ token: 'recent', tenant: 'x' }).allowed).toBe(false);
    expect(limiter.take({ token: 'new', tenant: 'x' }).allowed).toBe(true); // forgotten: a fresh burst
  });

  it('does nothing with both limits disabled', () => {
    const limiter = createRateLimiter({ perToken: null, perTenant: null });
    expect(Array.from({ length: 1_000 }, () => limiter.take({ token: 't', tenant: 'x' }).allowed).every(Boolean)).toBe(true);
  });
});

describe('parsing --rate-limit-* values', () => {
  it.each([
    ['50:100', { ratePerSecond: 50, burst: 100 }],
    ['0.5:2', { ratePerSecond: 0.5, burst: 2 }],
    [' 300:600 ', { ratePerSecond: 300, burst: 600 }],
    ['0', null],
  ])('reads %j', (text, limit) => {
    expect(parseRateLimit(text)).toEqual(limit);
  });

  it.each(['50', '50:', ':100', '0:10', '50:0', '50:1.5', '-1:10', 'fast', ''])('refuses %j with BAD_USER_INPUT and an example', (text) => {
    expect(() => parseRateLimit(text, 'rate-limit-token')).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: `rate-limit-token must be <requests per second>:<burst> with both above 0 (e.g. 50:100), or 0 to disable it; got ${JSON.stringify(text)}` }),
    );
  });
});
