// Flow-run parameters are validated against the version's JSON Schema before a run exists, and
// coerced the way a CLI user expects (`--param year=2010` becomes 2010 for an integer).
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import { FluxoError } from '../../common/errors.js';

// ajv ships CommonJS; createRequire keeps its default export straight under NodeNext.
const Ajv2020 = createRequire(import.meta.url)('ajv/dist/2020') as typeof import('ajv/dist/2020.js').default;
const ajv = new Ajv2020({ coerceTypes: true, useDefaults: true, allErrors: true, strict: false });
const compiled = new Map<string, ValidateFunction>();

/** Throws BAD_USER_INPUT when `schema` is not a usable JSON Schema. */
export function compileParameterSchema(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    try {
      validate = ajv.compile(schema);
    } catch (error) {
      throw new FluxoError('BAD_USER_INPUT', `parameterSchema is not a valid JSON Schema: ${(error as Error).message}`, { cause: error });
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(key, validate);
  }
  return validate;
}

/** Returns validated, coerced parameters with defaults, or throws INVALID_PARAMETERS listing each violation. */
export function validateParameters(schema: Record<string, unknown>, parameters: unknown): Record<string, unknown> {
  const value = structuredClone(parameters ?? {}) as Record<string, unknown>;
  const validate = compileParameterSchema(schema);
  if (validate(value)) return value;
  const details = (validate.errors ?? []).map((e) => ({
    path: e.instancePath || '/',
    message: e.message ?? 'invalid',
    ...(e.keyword === 'additionalProperties' ? { property: (e.params as { additionalProperty: string }).additionalProperty } : {}),
  }));
  const summary = details.map((d) => `${d.path}${'property' in d ? ` "${d.property}"` : ''}: ${d.message}`).join('; ');
  throw new FluxoError('INVALID_PARAMETERS', `parameters do not match the flow's schema: ${summary}`, { details });
}
