// The `leaseSignals` subscription (merged into resolvers.ts): core/lease-signals.ts over graphql-ws.
// Ending the subscription aborts the core iterator at once, so a closed connection leaves no
// listener on the event bus waiting for an event that may never come.
import type { SubscriptionResolvers } from './generated/resolver-types.js';
import { leaseSignals, type LeaseSignal } from '../core/lease-signals.js';

type Payload = { leaseSignals: LeaseSignal };

export const leaseSignalSubscriptions: Pick<SubscriptionResolvers, 'leaseSignals'> = {
  leaseSignals: {
    subscribe: (_, { agentId }, ctx) => {
      const ended = new AbortController();
      const inner = leaseSignals(ctx.service, ctx.identity, agentId, ended.signal);
      const iterator: AsyncIterableIterator<Payload> = {
        next: async () => {
          const step = await inner.next();
          return step.done ? { done: true, value: undefined } : { done: false, value: { leaseSignals: step.value } };
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
    },
  },
};
