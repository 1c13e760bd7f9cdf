// Token kinds per operation, decided in the proxy before the server sees a request: agent tokens
// may call only the root fields the schema marks `@agentOperation` (and the `@anyTokenKind` ones),
// every other token anything but the `@agentOperation` fields. The table comes from the schema the
// server is built from (schema/generated/sdl.ts), so the contract has one source.
//
// The check looks at the operation the server would execute: `getOperationAST` with the same
// operation name, as Apollo and graphql-ws do, and every root field of it, through fragments and
// whatever their @skip/@include say (a field that might run counts). A document that does not parse
// is left to the server, which cannot execute it either and answers GRAPHQL_PARSE_FAILED as usual;
// only the token limit is the proxy's own answer (QUERY_TOO_COMPLEX), since the server would parse
// whatever it is sent, and an operationName that is not a GraphQL name (BAD_USER_INPUT), which
// names no operation of any document.
import { buildSchema, getOperationAST, GraphQLError, Kind, parse, type DocumentNode, type GraphQLObjectType, type SelectionSetNode } from 'graphql';
import type { TokenKind } from '../common/identity.js';
import { typeDefs } from '../schema/generated/sdl.js';
import type { Refusal } from './refuse.js';

/** Who may call a root field. */
export type FieldKind = 'agent' | 'any' | 'user';

type OperationType = 'query' | 'mutation' | 'subscription';

/** The root fields of each operation type marked `@agentOperation` or `@anyTokenKind`. */
export interface OperationKindTable {
  agent: ReadonlySet<string>;
  any: ReadonlySet<string>;
}

/** What one GraphQL request asks to execute. */
export interface GraphQLRequestText {
  query: string;
  operationName?: string | undefined;
}

/** Most lexical tokens a document may have. @default 5000 */
export const DEFAULT_MAX_QUERY_TOKENS = 5_000;
/** Documents whose root fields are remembered (agents send the same few over and over). */
const CACHE_ENTRIES = 1_000;
/** Longer documents are parsed each time rather than kept. */
const CACHE_MAX_QUERY_LENGTH = 16 * 1024;
/** A GraphQL Name (spec, section 2.1.9): no operation can have any other name, so no other operationName is executable. */
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * Reads the `@agentOperation` and `@anyTokenKind` root fields from an SDL, as `operation.field`
 * (`mutation.claimFlowRuns`, `query.viewer`).
 *
 * @example operationKindTable().agent.has('mutation.heartbeat') // true
 */
export function operationKindTable(sdl: string = typeDefs): OperationKindTable {
  const schema = buildSchema(sdl);
  const agent = new Set<string>();
  const any = new Set<string>();
  const roots: [OperationType, GraphQLObjectType | null | undefined][] = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ];
  for (const [operation, type] of roots) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      const directives = new Set(field.astNode?.directives?.map((directive) => directive.name.value));
      if (directives.has('agentOperation')) agent.add(`${operation}.${field.name}`);
      if (directives.has('anyTokenKind')) any.add(`${operation}.${field.name}`);
    }
  }
  return { agent, any };
}

/** Checks GraphQL requests against a token kind. */
export interface OperationKindChecker {
  /** The kind a root field needs; `operation.field`. */
  kindOf(field: string): FieldKind;
  /**
   * The refusal for a request the token may not make (TOKEN_KIND_MISMATCH, QUERY_TOO_COMPLEX, and
   * BAD_USER_INPUT for an operationName that is not a GraphQL name), or undefined when the proxy
   * has nothing against it.
   */
  check(kind: TokenKind, request: GraphQLRequestText): (Refusal & { field?: string }) | undefined;
}

/** Settings of `createOperationKindChecker`. */
export interface OperationKindCheckerOptions {
  /** @default operationKindTable() */
  table?: OperationKindTable;
  /** @default DEFAULT_MAX_QUERY_TOKENS */
  maxTokens?: number;
}

/**
 * Builds the checker once per proxy.
 *
 * @example
 * const kinds = createOperationKindChecker()
 * kinds.check('agent', { query: '{ flows { nodes { id } } }' }) // { code: 'TOKEN_KIND_MISMATCH', ... }
 */
export function createOperationKindChecker(options: OperationKindCheckerOptions = {}): OperationKindChecker {
  const table = options.table ?? operationKindTable();
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_QUERY_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new TypeError('maxTokens must be a positive integer');
  const cache = new Map<string, RootFields>();
  const agentFields = [...table.agent].join(', ');

  const kindOf = (field: string): FieldKind => (table.agent.has(field) ? 'agent' : table.any.has(field) ? 'any' : 'user');

  const rootFieldsOf = (request: GraphQLRequestText): RootFields => {
    // Unambiguous: no (operationName, query) pair encodes like another (a separator could be part
    // of either value, and an operation name with a newline once poisoned another request's entry).
    const key = JSON.stringify([request.operationName ?? null, request.query]);
    const cached = cache.get(key);
    if (cached) return cached;
    const found = readRootFields(request, maxTokens);
    if (request.query.length <= CACHE_MAX_QUERY_LENGTH) {
      if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(key, found);
    }
    return found;
  };

  return {
    kindOf,
    check(kind, request) {
      if (request.operationName !== undefined && !GRAPHQL_NAME.test(request.operationName)) {
        return { code: 'BAD_USER_INPUT', message: `operationName must be a GraphQL name (${GRAPHQL_NAME.source}), got ${JSON.stringify(request.operationName.slice(0, 100))}` };
      }
      const found = rootFieldsOf(request);
      if (found === 'too-many-tokens') {
        return { code: 'QUERY_TOO_COMPLEX', message: `the GraphQL document has more than ${maxTokens} tokens (the proxy's limit); split it into smaller operations` };
      }
      if (found === 'not-executable') return undefined;
      for (const field of found) {
        const needs = kindOf(field);
        if (kind === 'agent' && needs === 'user') {
          return {
            code: 'TOKEN_KIND_MISMATCH',
            field,
            message: `an agent token may call only agent operations (${agentFields}) and ${[...table.any].join(', ')}; ${field} needs a user token`,
          };
        }
        if (kind === 'user' && needs === 'agent') {
          return { code: 'TOKEN_KIND_MISMATCH', field, message: `${field} is an agent operation: call it with an agent token (e.g. from fluxo token create --name <agent> --role agent)` };
        }
      }
      return undefined;
    },
  };
}

/** The executed operation's root fields (`operation.field`), or why there are none to check. */
type RootFields = readonly string[] | 'too-many-tokens' | 'not-executable';

function readRootFields(request: GraphQLRequestText, maxTokens: number): RootFields {
  let document: DocumentNode;
  try {
    document = parse(request.query, { maxTokens, noLocation: true });
  } catch (error) {
    // graphql-js 16 words it "more that"; accept the corrected spelling too.
    if (error instanceof GraphQLError && /Document contains more tha[nt] \d+ tokens/.test(error.message)) return 'too-many-tokens';
    return 'not-executable';
  }
  const operation = getOperationAST(document, request.operationName);
  if (!operation) return 'not-executable';
  const fragments = new Map<string, SelectionSetNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition.selectionSet);
  }
  const fields = new Set<string>();
  const visited = new Set<string>();
  const collect = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        // __typename is harmless for any token; __schema and __type count as user fields.
        if (selection.name.value !== '__typename') fields.add(`${operation.operation}.${selection.name.value}`);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collect(selection.selectionSet);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // An unknown or cyclic spread fails the server's validation; nothing more to collect here.
        if (fragment && !visited.has(name)) {
          visited.add(name);
          collect(fragment);
        }
      }
    }
  };
  collect(operation.selectionSet);
  return [...fields];
}
