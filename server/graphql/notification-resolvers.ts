// Resolvers of notification rules and deliveries (merged into resolvers.ts): arguments go to the
// notifications service (core/notifications.ts), which checks roles and input. A rule's URL is a
// credential: `target` shows it with the path hidden, and no field returns it whole.
import type { MutationResolvers, NotificationDeliveryResolvers, NotificationRuleResolvers, QueryResolvers } from './generated/resolver-types.js';
import { maskUrl } from '../core/notifications.js';
import { connection } from './connection.js';

export const notificationQueries: Pick<QueryResolvers, 'notificationRules' | 'notificationDeliveries'> = {
  notificationRules: (_, __, ctx) => ctx.notifications.listRules(ctx.identity),
  notificationDeliveries: async (_, args, ctx) =>
    connection(await ctx.notifications.listDeliveries(ctx.identity, { failed: args.failed ?? false }, { first: args.first, after: args.after })),
};

export const notificationMutations: Pick<MutationResolvers, 'createNotificationRule' | 'deleteNotificationRule'> = {
  createNotificationRule: (_, { input }, ctx) => ctx.notifications.createRule(ctx.identity, input),
  deleteNotificationRule: (_, { id }, ctx) => ctx.notifications.deleteRule(ctx.identity, id),
};

export const notificationTypes: { NotificationRule: NotificationRuleResolvers; NotificationDelivery: NotificationDeliveryResolvers } = {
  NotificationRule: {
    flow: (rule, _, ctx) => (rule.flowId === null ? null : ctx.service.store.getFlow(rule.tenant, rule.flowId)),
    target: (rule) => maskUrl(rule.url),
  },
  NotificationDelivery: {
    rule: (delivery, _, ctx) => ctx.notifications.ruleOf(delivery.tenant, delivery.ruleId),
    flowRun: (delivery, _, ctx) => ctx.service.store.getFlowRun(delivery.tenant, delivery.flowRunId),
  },
};
