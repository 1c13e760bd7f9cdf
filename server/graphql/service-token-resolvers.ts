// Resolvers of service tokens, the audit log and the tenant list: arguments in, core calls with
// the verified identity, GraphQL shapes out. Merged into resolvers.ts.
import { isRole, kindToGraphQL, roleFromGraphQL, roleToGraphQL } from '../../common/identity.js';
import { FluxoError, type ErrorCode } from '../../common/errors.js';
import type { AuditEvent, ServiceToken } from '../../schema/generated/graphql.js';
import type { MutationResolvers, QueryResolvers } from './generated/resolver-types.js';
import { parseDateTime } from '../core/validate-input.js';
import type { AuditEventRecord } from '../core/audit-reads.js';
import type { ServiceTokenRecord } from '../core/service-token-admin.js';
import { connection } from './connection.js';

/** A stored token as the API shows it (never its hash). */
function serviceTokenOf(record: ServiceTokenRecord): ServiceToken {
  return {
    id: record.id,
    name: record.name,
    role: roleToGraphQL(record.role),
    kind: kindToGraphQL(record.role),
    subject: record.subject,
    labels: record.labels,
    createdAt: record.createdAt,
    createdBy: record.createdBy,
    expiresAt: record.expiresAt,
    revokedAt: record.revokedAt,
    revokedBy: record.revokedBy,
  };
}

function auditEventOf(record: AuditEventRecord): AuditEvent {
  return {
    id: record.id,
    at: record.at,
    tenant: record.tenant,
    subject: record.subject,
    role: record.role !== null && isRole(record.role) ? roleToGraphQL(record.role) : null,
    action: record.action,
    requestId: record.requestId,
    outcome: record.outcome,
    code: record.code as ErrorCode | null,
    detail: record.detail,
  };
}

export const securityQueries: Pick<QueryResolvers, 'serviceTokens' | 'auditEvents' | 'tenants'> = {
  serviceTokens: async (_, args, ctx) =>
    connection(
      await ctx.service.serviceTokens.list(ctx.identity, { includeRevoked: args.includeRevoked, first: args.first, after: args.after }),
      serviceTokenOf,
    ),
  auditEvents: async (_, args, ctx) => {
    const filter = args.filter ?? {};
    const page = await ctx.service.audit.events(
      ctx.identity,
      {
        tenant: filter.tenant,
        subject: filter.subject,
        action: filter.action,
        outcome: filter.outcome,
        after: parseDateTime('filter.after', filter.after),
        before: parseDateTime('filter.before', filter.before),
      },
      { first: args.first, after: args.after },
    );
    return connection(page, auditEventOf);
  },
  tenants: (_, __, ctx) => ctx.service.audit.tenants(ctx.identity),
};

export const securityMutations: Pick<MutationResolvers, 'createServiceToken' | 'revokeServiceToken'> = {
  createServiceToken: async (_, { input }, ctx) => {
    const role = roleFromGraphQL(input.role);
    if (!role) throw new FluxoError('BAD_USER_INPUT', `role ${input.role} is not a fluxo role`);
    const { record, token } = await ctx.service.serviceTokens.create(ctx.identity, {
      name: input.name,
      role,
      labels: input.labels,
      ttlSeconds: input.ttlSeconds,
    });
    return { serviceToken: serviceTokenOf(record), token };
  },
  revokeServiceToken: async (_, { id }, ctx) => serviceTokenOf(await ctx.service.serviceTokens.revoke(ctx.identity, id)),
};
