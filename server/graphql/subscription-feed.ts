// A core iterator (core/lease-signals.ts, core/run-subscriptions.ts) as a graphql-ws subscription:
// each value wrapped under the subscription's field name. Ending the subscription aborts the core
// iterator at once, so a closed connection leaves no listener on the event bus waiting for an
// event that may never come.

/**
 * Starts `start` with a signal that aborts when the subscription ends, and wraps its values as
 * `{ [field]: shape(value) }`, the payload graphql-js expects.
 *
 * @example subscribe: (_, { id }, ctx) => feed('flowRunLogs', (ended) => ctx.service.runs.logLines(ctx.identity, id, null, ended))
 */
export function feed<K extends string, T, R = T>(
  field: K,
  start: (ended: AbortSignal) => AsyncGenerator<T>,
  shape: (value: T) => R = (value) => value as unknown as R,
): AsyncIterableIterator<Record<K, R>> {
  const ended = new AbortController();
  const inner = start(ended.signal);
  const iterator: AsyncIterableIterator<Record<K, R>> = {
    next: async () => {
      const step = await inner.next();
      return step.done ? { done: true, value: undefined } : { done: false, value: { [field]: shape(step.value) } as Record<K, R> };
    },
    return: async () => {
      ended.abort();
      await inner.return(undefined);
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
