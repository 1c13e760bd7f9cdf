// Retrying idempotent CLI requests (`fluxo register`'s knownBundles and registerFlows batches)
// that failed in transit: exponential backoff with jitter (agent/backoff.ts), and a refusal's own
// Retry-After when the proxy rate-limited us longer than the client's timeout could wait.
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../agent/backoff.js';
import { RateLimitedError, TransportError } from '../client/graphql-client.js';
import { FluxoError } from '../common/errors.js';

export interface RetryOptions {
  /** Attempts in all, the first included. @default 5 */
  attempts?: number;
  /** Delay before the first retry (doubling each time, with jitter). @default 500 */
  baseMs?: number;
  /** Told before each wait. */
  onRetry?: (error: Error, attempt: number, waitMs: number) => void;
}

/**
 * True for failures a later attempt may not see: no answer (TransportError, which covers a 5xx
 * without a GraphQL body and SERVICE_UNAVAILABLE), RATE_LIMITED, and INTERNAL_SERVER_ERROR (a
 * 5xx answer with a GraphQL body, or a server whose database blinked).
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof TransportError) return true;
  return error instanceof FluxoError && ['SERVICE_UNAVAILABLE', 'RATE_LIMITED', 'INTERNAL_SERVER_ERROR'].includes(error.code);
}

/**
 * Runs `request` until it succeeds, fails with an error that is not {@link isRetryable}, or has
 * been tried `attempts` times (then its last error). Only for idempotent requests.
 *
 * @example
 * const data = await withRetry(() => client.request(REGISTER_FLOWS, { inputs }));
 */
export async function withRetry<T>(request: () => Promise<T>, { attempts = 5, baseMs = 500, onRetry }: RetryOptions = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      const backoff = backoffDelay(attempt, { baseMs, maxMs: 30_000 });
      const waitMs = error instanceof RateLimitedError ? Math.max(backoff, error.retryAfterSeconds * 1000 + Math.random() * 250) : backoff;
      onRetry?.(error as Error, attempt, waitMs);
      await sleep(waitMs);
    }
  }
}
