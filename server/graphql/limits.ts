// Limits on what one GraphQL operation may ask of the server, checked before anything runs: the
// document's tokens (while parsing), its depth and aliases (validation), and a static estimate of
// its cost (once the variables are known, since page sizes usually come in them). Every refusal is
// QUERY_TOO_COMPLEX with a message naming the limit and the value found.
import {
  GraphQLError,
  getNamedType,
  getNullableType,
  isInputType,
  isListType,
  isObjectType,
  parse,
  specifiedRules,
  validate,
  valueFromAST,
  Kind,
  NoSchemaIntrospectionCustomRule,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  typeFromAST,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { FluxoError } from '../../common/errors.js';

/** What one operation may ask. */
export interface GraphQLLimits {
  /** Lexical tokens of the document. @default 5000 */
  maxTokens: number;
  /** Nesting of field selections, through fragments. @default 12 */
  maxDepth: number;
  /** Aliased fields, through fragments (each use of a fragment counts again). @default 30 */
  maxAliases: number;
  /** Estimated cost: 1 per field, times the page size of every list above it. @default 50000 */
  maxCost: number;
}

export const defaultLimits: GraphQLLimits = { maxTokens: 5000, maxDepth: 12, maxAliases: 30, maxCost: 50_000 };

/** What a list without a `first` argument is assumed to hold (task runs, state history, claims). */
const PLAIN_LIST_SIZE = 100;

function tooComplex(message: string, nodes?: OperationDefinitionNode): GraphQLError {
  // The http extension makes Apollo answer 400; formatError finds the FluxoError for the code.
  return new GraphQLError(message, { ...(nodes ? { nodes } : {}), originalError: new FluxoError('QUERY_TOO_COMPLEX', message), extensions: { http: { status: 400 } } });
}

/** Fragments of a document by name. */
function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  return fragments;
}

interface Shape {
  depth: number;
  aliases: number;
}

/**
 * Depth and aliases of a selection set, expanding fragments. Each fragment is measured once and
 * remembered, so nested spreads cannot make this exponential; a fragment cycle (refused by
 * validation anyway) counts as empty.
 */
function shapeOf(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, memo: Map<string, Shape | 'measuring'>): Shape {
  let depth = 0;
  let aliases = 0;
  for (const selection of selectionSet.selections) {
    let inner: Shape;
    if (selection.kind === Kind.FIELD) {
      const child = selection.selectionSet ? shapeOf(selection.selectionSet, fragments, memo) : { depth: 0, aliases: 0 };
      inner = { depth: child.depth + 1, aliases: child.aliases + (selection.alias ? 1 : 0) };
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      inner = shapeOf(selection.selectionSet, fragments, memo);
    } else {
      const name = selection.name.value;
      const known = memo.get(name);
      if (known === 'measuring') continue;
      if (known) inner = known;
      else {
        const fragment = fragments.get(name);
        if (!fragment) continue;
        memo.set(name, 'measuring');
        inner = shapeOf(fragment.selectionSet, fragments, memo);
        memo.set(name, inner);
      }
    }
    depth = Math.max(depth, inner.depth);
    aliases += inner.aliases;
  }
  return { depth, aliases };
}

/** Validation rule: refuses an operation deeper than `maxDepth` or with more than `maxAliases` aliases. */
export function shapeLimitsRule(limits: Pick<GraphQLLimits, 'maxDepth' | 'maxAliases'>): ValidationRule {
  return (context) => {
    const fragments = fragmentsOf(context.getDocument());
    const memo = new Map<string, Shape | 'measuring'>();
    return {
      OperationDefinition(node) {
        const { depth, aliases } = shapeOf(node.selectionSet, fragments, memo);
        const name = node.name ? `operation ${node.name.value}` : 'the operation';
        if (depth > limits.maxDepth) context.reportError(tooComplex(`${name} is nested ${depth} fields deep; the limit is ${limits.maxDepth}`, node));
        if (aliases > limits.maxAliases) context.reportError(tooComplex(`${name} uses ${aliases} aliases; the limit is ${limits.maxAliases}`, node));
      },
    };
  };
}

/**
 * The estimated cost of an operation: each field costs 1, and the fields below a list cost as
 * many times as the list may hold: its `first` argument (from the operation, its variables or, for
 * a connection, the schema's default), or {@link PLAIN_LIST_SIZE} for a list without one. A connection's `nodes`
 * are counted by the connection's `first`, not again.
 */
export function estimateCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> = {}): number {
  const fragments = fragmentsOf(document);
  const memo = new Map<string, number | 'measuring'>();
  const values = { ...variables };
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const type = typeFromAST(schema, definition.type);
    if (values[name] === undefined && definition.defaultValue && type && isInputType(type)) values[name] = valueFromAST(definition.defaultValue, type);
  }

  const pageSize = (field: GraphQLField<unknown, unknown>, node: FieldNode): number | null => {
    const argument = field.args.find((a) => a.name === 'first');
    if (!argument) return null;
    const given = node.arguments?.find((a) => a.name.value === 'first');
    // A plain list that gained a page size (FlowRun.taskRuns) is estimated as before unless the
    // operation asks for a size: its schema default bounds what comes back, and costing that
    // default would refuse queries that were accepted before the list was paged.
    if (!given && isListType(getNullableType(field.type))) return null;
    const value = given ? valueFromAST(given.value, argument.type, values) : argument.defaultValue;
    return typeof value === 'number' && Number.isFinite(value) ? Math.max(1, value) : PLAIN_LIST_SIZE;
  };

  // A list whose size the request bounds with `input.max` (claimFlowRuns) holds at most that many.
  const inputMax = (field: GraphQLField<unknown, unknown>, node: FieldNode): number | null => {
    const argument = field.args.find((a) => a.name === 'input');
    const given = node.arguments?.find((a) => a.name.value === 'input');
    if (!argument || !given) return null;
    const value = valueFromAST(given.value, argument.type, values) as { max?: unknown } | undefined;
    return typeof value?.max === 'number' && Number.isFinite(value.max) ? Math.min(PLAIN_LIST_SIZE, Math.max(1, value.max)) : null;
  };

  const computedItems = (field: GraphQLField<unknown, unknown>, node: FieldNode): number => {
    const argument = field.args.find((a) => a.name === 'count');
    if (!argument) return 0;
    const given = node.arguments?.find((a) => a.name.value === 'count');
    const value = given ? valueFromAST(given.value, argument.type, values) : argument.defaultValue;
    return typeof value === 'number' && Number.isFinite(value) ? Math.max(1, value) : PLAIN_LIST_SIZE;
  };

  const queryType = schema.getQueryType();
  // Introspection's entry points are no field of Query, but their lists cost like any other.
  const fieldOf = (parent: GraphQLObjectType | null, name: string): GraphQLField<unknown, unknown> | undefined => {
    if (parent && parent === queryType && name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (parent && parent === queryType && name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
    return parent?.getFields()[name];
  };

  const costOf = (selectionSet: SelectionSetNode, parent: GraphQLObjectType | null): number => {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const field = fieldOf(parent, selection.name.value);
        total += 1;
        // A computed leaf list (`Clock.nextTimes(count:)`) costs one per item it computes.
        if (field && !selection.selectionSet) total += computedItems(field, selection);
        if (!selection.selectionSet || !field) continue;
        const named = getNamedType(field.type);
        const children = costOf(selection.selectionSet, isObjectType(named) ? named : null);
        const first = pageSize(field, selection);
        const countedByConnection = selection.name.value === 'nodes' && parent?.name.endsWith('Connection') === true;
        const times = first ?? (isListType(getNullableType(field.type)) && !countedByConnection ? (inputMax(field, selection) ?? PLAIN_LIST_SIZE) : 1);
        total += times * children;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        total += costOf(selection.selectionSet, condition && isObjectType(condition) ? condition : null);
      } else {
        const name = selection.name.value;
        const known = memo.get(name);
        if (known === 'measuring') continue;
        if (known !== undefined) {
          total += known;
          continue;
        }
        const fragment = fragments.get(name);
        if (!fragment) continue;
        memo.set(name, 'measuring');
        const condition = schema.getType(fragment.typeCondition.name.value);
        const cost = costOf(fragment.selectionSet, condition && isObjectType(condition) ? condition : null);
        memo.set(name, cost);
        total += cost;
      }
    }
    return total;
  };

  return costOf(operation.selectionSet, schema.getRootType(operation.operation) ?? null);
}

/** Throws QUERY_TOO_COMPLEX when the operation's estimated cost exceeds `maxCost`. */
export function assertCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined, maxCost: number): void {
  const cost = estimateCost(schema, document, operation, variables);
  if (cost > maxCost) {
    const name = operation.name ? `operation ${operation.name.value}` : 'the operation';
    throw tooComplex(`${name} has an estimated cost of ${cost}; the limit is ${maxCost} (ask for smaller pages with "first", or fewer nested lists)`);
  }
}

/** QUERY_TOO_COMPLEX for graphql-js's "more than N tokens" parse error; undefined for any other error. */
export function tokenLimitError(error: { message: string }): FluxoError | undefined {
  // graphql-js 16 spells it "more that".
  const match = /Document contains more tha[nt] (\d+) tokens/.exec(error.message);
  return match ? new FluxoError('QUERY_TOO_COMPLEX', `the document has more than ${match[1]} tokens; the limit is ${match[1]}`) : undefined;
}

/** Removes graphql-js's "Did you mean ...?" hints, which describe the schema to whoever asks. */
function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean(.+?)\?$/, '');
}

/** Settings for operations over WebSocket, the same Apollo applies over HTTP. */
interface OperationChecks {
  schema: GraphQLSchema;
  limits: GraphQLLimits;
  /** Introspection and field suggestions off. */
  production: boolean;
}

/**
 * Parses, validates and checks the limits of an operation that arrived over graphql-ws (its
 * `onSubscribe` hook), exactly as Apollo does for HTTP: the arguments to execute it, or the errors
 * to answer with.
 */
export function prepareOperation(
  checks: OperationChecks,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
): ExecutionArgs | GraphQLError[] {
  const { schema, limits, production } = checks;
  let document: DocumentNode;
  try {
    document = parse(payload.query, { maxTokens: limits.maxTokens });
  } catch (error) {
    const tooMany = tokenLimitError(error as Error);
    if (tooMany) return [tooComplex(tooMany.message)];
    return [new GraphQLError((error as Error).message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
  }
  const rules = [...specifiedRules, shapeLimitsRule(limits), ...(production ? [NoSchemaIntrospectionCustomRule] : [])];
  const errors = validate(schema, document, rules);
  if (errors.length > 0) {
    return errors.map(
      (error) =>
        new GraphQLError(production ? withoutSuggestions(error.message) : error.message, {
          ...(error.nodes ? { nodes: error.nodes } : {}),
          ...(error.originalError ? { originalError: error.originalError } : {}),
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        }),
    );
  }
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (!payload.operationName || d.name?.value === payload.operationName),
  );
  if (!operation) return [new GraphQLError(payload.operationName ? `no operation named "${payload.operationName}" in the document` : 'the document has no operation')];
  try {
    assertCost(schema, document, operation, payload.variables ?? undefined, limits.maxCost);
  } catch (error) {
    return [error as GraphQLError];
  }
  return { schema, document, operationName: payload.operationName ?? null, variableValues: payload.variables ?? null };
}
