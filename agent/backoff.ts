// Retrying calls that failed in transit (server restarting, proxy unreachable): exponential delay
// with jitter, capped, so a fleet of agents does not hammer a server that comes back.
import { TransportError } from '../client/graphql-client.js';
import { coerceError } from '../common/errors.js';

export interface BackoffOptions {
  /** Delay of the first retry. @default 200 */
  baseMs?: number;
  /** Largest delay. @default 15000 */
  maxMs?: number;
  /** Source of randomness, for tests. @default Math.random */
  random?: () => number;
}

/**
 * Delay before retry number `failures` (1 for the first): "equal jitter", half fixed and half
 * random, so it grows exponentially yet never collapses to zero.
 *
 * @example backoffDelay(3) // between 400 and 800 ms
 */
export function backoffDelay(failures: number, { baseMs = 200, maxMs = 15_000, random = Math.random }: BackoffOptions = {}): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Thrown by `retryInTransit` when its signal aborted before a call got through. */
export class RetryAbortedError extends Error {
  override name = 'RetryAbortedError';
}

/**
 * Calls `operation` until it returns or fails with anything but a TransportError; between
 * transport failures waits `backoffDelay`. Requests retried this way must be idempotent (state
 * writes are compare-and-set, log batches carry a batch id).
 */
export async function retryInTransit<T>(
  operation: () => Promise<T>,
  { signal, onRetry, backoff }: { signal?: AbortSignal; onRetry?: (error: Error, retryInMs: number) => void; backoff?: BackoffOptions } = {},
): Promise<T> {
  for (let failures = 1; ; failures++) {
    if (signal?.aborted) throw new RetryAbortedError('gave up retrying: stopped', { cause: signal.reason });
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      const delay = backoffDelay(failures, backoff);
      onRetry?.(coerceError(error), delay);
      await sleep(delay, signal);
    }
  }
}
