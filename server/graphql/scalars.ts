// DateTime travels as ISO-8601 strings; inside the server times are epoch milliseconds.
import { GraphQLScalarType, Kind } from 'graphql';
import { FluxoError } from '../../common/errors.js';

export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  serialize(value) {
    if (typeof value === 'number') return new Date(value).toISOString();
    if (typeof value === 'string') return value;
    throw new TypeError(`DateTime cannot represent ${typeof value}`);
  },
  parseValue(value) {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new FluxoError('BAD_USER_INPUT', `DateTime must be an ISO-8601 string, got ${JSON.stringify(value)}`);
    return value;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING || Number.isNaN(Date.parse(ast.value))) throw new FluxoError('BAD_USER_INPUT', 'DateTime must be an ISO-8601 string');
    return ast.value;
  },
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
