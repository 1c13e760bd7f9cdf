// One audit event per root field of every GraphQL operation, over HTTP (an Apollo plugin) and
// WebSocket (graphql-ws onOperation). A mutation's response waits until its events are committed
// (AuditLog's group commit), so an acknowledged mutation is always in the log; reads and
// subscription starts are recorded without waiting. The detail names the ids acted on, or the
// error message: never other argument values (parameters, secret values).
import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import {
  getOperationAST, Kind, type DocumentNode, type ExecutionResult, type FieldNode, type GraphQLFormattedError, type OperationDefinitionNode,
  type SelectionSetNode, type ValueNode,
} from 'graphql';
import { FluxoError } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import type { Logger } from '../../common/logger.js';
import type { AuditLog, NewAuditEvent } from '../core/audit-log.js';
import type { AuditOutcome } from '../core/audit-reads.js';
import type { GraphQLContext } from './context.js';

/** Codes that mean "refused" (authentication or authorization) rather than "failed". */
function outcomeOf(code: string | null): AuditOutcome {
  if (code === null) return 'ALLOWED';
  if (code === 'FORBIDDEN' || code === 'IDENTITY_MISSING' || code.startsWith('TOKEN_')) return 'DENIED';
  return 'FAILED';
}

/** Argument and input fields whose values are ids: the only argument values the log keeps. */
const ID_ARGUMENTS = new Set(['id', 'flowId', 'flowRunId', 'flowVersionId', 'agentId']);
const MAX_IDS = 10;

interface RootField {
  /** The field's name in the response (its alias, if any). */
  key: string;
  name: string;
  node: FieldNode;
}

function rootFieldsOf(selectionSet: SelectionSetNode, document: DocumentNode, into: RootField[] = []): RootField[] {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (!selection.name.value.startsWith('__')) into.push({ key: selection.alias?.value ?? selection.name.value, name: selection.name.value, node: selection });
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      rootFieldsOf(selection.selectionSet, document, into);
    } else {
      const fragment = document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value);
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) rootFieldsOf(fragment.selectionSet, document, into);
    }
  }
  return into;
}

/** Ids among a field's arguments (and one level into input objects), literal or from variables. */
function argumentIds(field: FieldNode, variables: Record<string, unknown>, ids: Set<string>): void {
  const valueOf = (node: ValueNode): unknown => {
    if (node.kind === Kind.VARIABLE) return variables[node.name.value];
    if (node.kind === Kind.STRING) return node.value;
    if (node.kind === Kind.OBJECT) return Object.fromEntries(node.fields.map((f) => [f.name.value, valueOf(f.value)]));
    return undefined;
  };
  for (const argument of field.arguments ?? []) {
    const value = valueOf(argument.value);
    if (ID_ARGUMENTS.has(argument.name.value) && typeof value === 'string') ids.add(value);
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) if (ID_ARGUMENTS.has(key) && typeof inner === 'string') ids.add(inner);
    }
  }
}

/** `id` fields of a mutation's result, two levels deep (`createFlowRun.id`, `createServiceToken.serviceToken.id`). */
function resultIds(value: unknown, ids: Set<string>, depth = 2): void {
  if (ids.size >= MAX_IDS || depth < 0 || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) resultIds(item, ids, depth);
    return;
  }
  const id = (value as Record<string, unknown>).id;
  if (typeof id === 'string') ids.add(id);
  for (const inner of Object.values(value)) if (inner && typeof inner === 'object') resultIds(inner, ids, depth - 1);
}

function detailOfIds(ids: Set<string>): string | null {
  if (ids.size === 0) return null;
  const list = [...ids].slice(0, MAX_IDS);
  return `ids: ${list.join(', ')}${ids.size > MAX_IDS ? ', ...' : ''}`;
}

/** An error as the audit needs it: its code and message. */
interface AuditedError {
  code: string;
  message: string;
  path?: readonly (string | number)[] | undefined;
}

/** One finished GraphQL operation, as {@link auditEventsOf} reads it. */
interface OperationAudit {
  identity: Identity;
  requestId: string;
  document: DocumentNode | undefined;
  operationName: string | null | undefined;
  variables: Record<string, unknown>;
  data: Record<string, unknown> | null | undefined;
  errors: readonly AuditedError[];
}

/** The events of one operation: one per root field; one `graphql` event when the document did not resolve to an operation. */
function auditEventsOf(audit: OperationAudit): { events: NewAuditEvent[]; operation: OperationDefinitionNode | null } {
  const { identity, requestId } = audit;
  const base = { at: Date.now(), tenant: identity.tenant, subject: identity.subject, role: identity.role, requestId };
  const operation = audit.document ? getOperationAST(audit.document, audit.operationName ?? undefined) : null;
  if (!audit.document || !operation) {
    const error = audit.errors[0];
    return {
      operation: null,
      events: [{ ...base, action: 'graphql', outcome: error ? outcomeOf(error.code) : 'FAILED', code: error?.code ?? 'GRAPHQL_VALIDATION_FAILED', detail: error?.message ?? 'no operation to run' }],
    };
  }
  const events = rootFieldsOf(operation.selectionSet, audit.document).map((field): NewAuditEvent => {
    const error = audit.errors.find((e) => !e.path || e.path[0] === field.key);
    const ids = new Set<string>();
    argumentIds(field.node, audit.variables, ids);
    if (!error && operation.operation === 'mutation') resultIds(audit.data?.[field.key], ids);
    return {
      ...base,
      action: `${operation.operation}.${field.name}`,
      outcome: outcomeOf(error?.code ?? null),
      code: error?.code ?? null,
      detail: error ? error.message : detailOfIds(ids),
    };
  });
  return { events, operation };
}

const codeOfFormatted = (e: GraphQLFormattedError): string => {
  const code = e.extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
};

/**
 * The Apollo plugin. If a mutation's events cannot be written, the mutation's answer becomes
 * SERVICE_UNAVAILABLE: what was not audited must not be acknowledged.
 */
export function auditPlugin(log: AuditLog, logger: Logger): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, document, request, contextValue }) {
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          const { events, operation } = auditEventsOf({
            identity: contextValue.identity,
            requestId: contextValue.requestId,
            document,
            operationName: request.operationName,
            variables: request.variables ?? {},
            data: result.data,
            errors: (result.errors ?? []).map((e) => ({ code: codeOfFormatted(e), message: e.message, path: e.path })),
          });
          const written = log.record(events);
          if (operation?.operation !== 'mutation') {
            written.catch((error: unknown) => logger.error({ err: error, requestId: contextValue.requestId }, 'could not write audit events'));
            return;
          }
          try {
            await written;
          } catch (error) {
            logger.error({ err: error, requestId: contextValue.requestId }, 'could not write the audit events of a mutation; answering SERVICE_UNAVAILABLE');
            response.http.status = 503;
            response.body.singleResult = {
              errors: [{ message: `the operation could not be recorded in the audit log; retry shortly (request ${contextValue.requestId})`, extensions: { code: 'SERVICE_UNAVAILABLE' } }],
            };
          }
        },
      };
    },
  };
}

function codeOfRaw(error: unknown): string {
  const original = unwrapResolverError(error);
  if (original instanceof FluxoError) return original.code;
  const code = (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}

function rawErrors(errors: readonly unknown[] | undefined): AuditedError[] {
  return (errors ?? []).map((e) => ({ code: codeOfRaw(e), message: (e as Error).message, path: (e as { path?: readonly (string | number)[] }).path }));
}

/**
 * Audits an operation started over WebSocket (graphql-ws `onOperation`) and returns the result to
 * send. A subscription is recorded when its stream yields its first result or fails (the field's
 * authorization runs then), not when it is merely set up.
 */
export function auditWebSocketOperation<T extends ExecutionResult | AsyncIterable<ExecutionResult>>(
  log: AuditLog,
  logger: Logger,
  context: { identity: Identity; requestId: string; document: DocumentNode; operationName: string | null | undefined; variables: Record<string, unknown> },
  result: T,
): T {
  const record = (data: Record<string, unknown> | null | undefined, errors: AuditedError[]): void => {
    const { events } = auditEventsOf({ ...context, data, errors });
    log.record(events).catch((error: unknown) => logger.error({ err: error, requestId: context.requestId }, 'could not write audit events'));
  };
  if (!(Symbol.asyncIterator in result)) {
    record(result.data, rawErrors(result.errors));
    return result;
  }
  const source = result as AsyncIterable<ExecutionResult>;
  async function* audited(): AsyncGenerator<ExecutionResult> {
    let recorded = false;
    try {
      for await (const value of source) {
        if (!recorded) {
          recorded = true;
          record(null, rawErrors(value.errors));
        }
        yield value;
      }
    } catch (error) {
      if (!recorded) {
        recorded = true;
        record(null, [{ code: codeOfRaw(error), message: (error as Error).message }]);
      }
      throw error;
    } finally {
      if (!recorded) record(null, []);
    }
  }
  return audited() as unknown as T;
}
