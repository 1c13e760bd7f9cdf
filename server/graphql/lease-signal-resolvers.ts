// The `leaseSignals` subscription (merged into resolvers.ts): core/lease-signals.ts over graphql-ws,
// ended at once when the subscription ends (subscription-feed.ts).
import type { SubscriptionResolvers } from './generated/resolver-types.js';
import { feed } from './subscription-feed.js';

export const leaseSignalSubscriptions: Pick<SubscriptionResolvers, 'leaseSignals'> = {
  leaseSignals: {
    subscribe: (_, { agentId }, ctx) => feed('leaseSignals', (ended) => ctx.service.leaseSignals(ctx.identity, agentId, ended)),
  },
};
