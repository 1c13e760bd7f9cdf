// DateTime travels as ISO-8601 strings; inside the server times are epoch milliseconds.
import { GraphQLScalarType, Kind, print } from 'graphql';
import { FluxoError } from '../../common/errors.js';
import { DATE_TIME_EXPECTED, parseIsoDateTime } from '../core/validate-input.js';

/** The value as given when it is an RFC 3339 date-time with a zone; BAD_USER_INPUT otherwise. */
function dateTimeInput(value: unknown): string {
  if (typeof value === 'string' && parseIsoDateTime(value) !== null) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 60)) : JSON.stringify(value) ?? typeof value;
  throw new FluxoError('BAD_USER_INPUT', `DateTime must be ${DATE_TIME_EXPECTED}, got ${shown}`);
}

export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  serialize(value) {
    if (typeof value === 'number') return new Date(value).toISOString();
    if (typeof value === 'string') return value;
    throw new TypeError(`DateTime cannot represent ${typeof value}`);
  },
  parseValue: dateTimeInput,
  // A literal of another kind (42, true) is shown as written, and refused like any non-date string.
  parseLiteral: (ast) => dateTimeInput(ast.kind === Kind.STRING ? ast.value : print(ast)),
});

function literalToJson(ast: import('graphql').ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literalToJson);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value)]));
    default:
      throw new FluxoError('BAD_USER_INPUT', 'JSON literals cannot contain variables; pass the whole value as a variable');
  }
}

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literalToJson,
});
