// Resolvers of notification rules and deliveries (merged into resolvers.ts): arguments go to the
// core's notifications service (`service.notifications`, core/notifications.ts), which checks
// roles and input. A rule's URL is a
// credential: `target` shows it with the path hidden, and no field returns it whole.
import type { MutationResolvers, NotificationDeliveryResolvers, NotificationRuleResolvers, QueryResolvers } from './generated/resolver-types.js';
import { maskUrl } from '../core/notifications.js';
import { connection } from './connection.js';

export const notificationQueries: Pick<QueryResolvers, 'notificationRules' | 'notificationDeliveries'> = {
  notificationRules: (_, __, ctx) => ctx.service.notifications.listRules(ctx.identity),
  notificationDeliveries: async (_, args, ctx) =>
    connection(await ctx.service.notifications.listDeliveries(ctx.identity, { failed: args.failed ?? false }, { first: args.first, after: args.after })),
};

export const notificationMutations: Pick<MutationResolvers, 'createNotificationRule' | 'deleteNotificationRule'> = {
  createNotificationRule: (_, { input }, ctx) => ctx.service.notifications.createRule(ctx.identity, input),
  deleteNotificationRule: (_, { id }, ctx) => ctx.service.notifications.deleteRule(ctx.identity, id),
};

export const notificationTypes: { NotificationRule: NotificationRuleResolvers; NotificationDelivery: NotificationDeliveryResolvers } = {
  NotificationRule: {
    flow: (rule, _, ctx) => ctx.service.flows.flowById(ctx.identity, rule.flowId),
    target: (rule) => maskUrl(rule.url),
  },
  NotificationDelivery: {
    rule: (delivery, _, ctx) => ctx.service.notifications.ruleOf(ctx.identity, delivery.ruleId),
    flowRun: (delivery, _, ctx) => ctx.service.runs.maybeById(ctx.identity, delivery.flowRunId),
  },
};
