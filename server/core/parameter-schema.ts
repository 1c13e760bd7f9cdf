// Compiling a flow's parameter JSON Schema, and checking parameters against it. Any developer of
// any tenant writes these schemas and the shared server evaluates them, so two rules hold here:
//
// - **Patterns run on a linear-time engine.** `pattern`, `patternProperties` and `propertyNames`
//   regular expressions are matched by RE2JS (a pure-JavaScript port of RE2), never by V8's
//   backtracking RegExp: `^(a+)+$` against "a"×28 + "!" takes microseconds instead of seconds. The
//   price is RE2's syntax: lookaround and backreferences cannot be matched in linear time, so a
//   schema using them is refused at registration. (The native `re2` binding would be faster, but
//   it needs a compiler or a download at install time; the patterns here are short and the
//   parameters small.) `format` is an annotation only (ajv ships no format regexes here).
// - **No registry is shared.** Every schema is compiled by its own ajv instance, so an `$id` one
//   tenant (or one version) defines is invisible to every other schema; a `$ref` can only reach the
//   schema itself. Only the meta-schema check uses a shared instance, which never holds a user's schema.
//
// This bounds what one regular expression costs, not what a schema costs: nested `anyOf` over
// shared definitions is exponential without any pattern. parameters.ts therefore runs this module
// in worker threads with a time and memory limit (parameter-worker.ts).
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import { RE2JS } from 're2js';
import { FluxoError } from '../../common/errors.js';

// ajv ships CommonJS; createRequire keeps its default export straight under NodeNext.
const Ajv2020 = createRequire(import.meta.url)('ajv/dist/2020') as typeof import('ajv/dist/2020.js').default;

/** Where the refusals point for the supported pattern syntax. */
const SYNTAX_DOC = 'see docs/api.md#parameter-schemas';

/** The two ways a pattern can be refused; carried through ajv (which rethrows what the engine throws). */
class PatternError extends Error {
  override name = 'PatternError';
}

/**
 * ajv's `code.regExp` engine: the pattern must be a valid ECMA-262 expression (JSON Schema's
 * dialect; compiling a RegExp matches nothing, so it is safe) and compile on RE2.
 */
function linearRegExp(pattern: string, flags: string): { test(input: string): boolean; toString(): string } {
  try {
    new RegExp(pattern, flags);
  } catch (error) {
    throw new PatternError(`the pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message}`, { cause: error });
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(pattern));
  } catch (error) {
    throw new PatternError(`the pattern ${JSON.stringify(pattern)} cannot be checked in linear time (lookaround and backreferences are not supported; ${SYNTAX_DOC})`, { cause: error });
  }
  // ajv keys compiled patterns by toString(): it must name the pattern, as RegExp's does.
  return { test: (input) => re.test(input), toString: () => `/${pattern}/${flags}` };
}
// Only used when generating standalone code, which fluxo never does; named for its error messages.
linearRegExp.code = 'fluxoLinearRegExp';

const options = { coerceTypes: true, useDefaults: true, allErrors: true, strict: false, validateFormats: false, code: { regExp: linearRegExp } } as const;

// Checks schemas against the draft 2020-12 meta-schema. Shared because the meta-schema is public and
// fixed: validateSchema() never adds the schema it checks to the instance.
const metaValidator = new Ajv2020({ strict: false, validateFormats: false });

/** Throws BAD_USER_INPUT when `schema` is not a usable parameter schema; the validator otherwise. */
export function compileParameterSchema(schema: Record<string, unknown>): ValidateFunction {
  let valid: boolean;
  try {
    valid = metaValidator.validateSchema(schema) as boolean;
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `parameterSchema is not a valid JSON Schema: ${(error as Error).message}`, { cause: error });
  }
  if (!valid) throw new FluxoError('BAD_USER_INPUT', `parameterSchema is not a valid JSON Schema: ${metaValidator.errorsText(metaValidator.errors, { dataVar: 'parameterSchema' })}`);
  try {
    return new Ajv2020({ ...options, validateSchema: false }).compile(schema);
  } catch (error) {
    if (error instanceof PatternError) throw new FluxoError('BAD_USER_INPUT', `parameterSchema: ${error.message}`, { cause: error });
    const missingRef = (error as { missingRef?: unknown }).missingRef;
    if (typeof missingRef === 'string') {
      // The fresh instance knows no other schema, so every unresolvable reference reads the same.
      throw new FluxoError(
        'BAD_USER_INPUT',
        `parameterSchema: "$ref": ${JSON.stringify((error as { missingSchema?: string }).missingSchema || missingRef)} points outside this schema; a parameter schema may refer only to itself ("#/$defs/...") or to an "$id" it defines`,
        { cause: error },
      );
    }
    throw new FluxoError('BAD_USER_INPUT', `parameterSchema is not a valid JSON Schema: ${(error as Error).message}`, { cause: error });
  }
}

/** Violations listed in an INVALID_PARAMETERS answer; the rest are counted. */
const MAX_REPORTED = 50;

/**
 * Validated, coerced `parameters` with defaults filled in, or INVALID_PARAMETERS listing each
 * violation. Coercion and defaults change `parameters` in place: pass a copy you own.
 */
export function checkParameters(validate: ValidateFunction, parameters: unknown): Record<string, unknown> {
  const value = (parameters ?? {}) as Record<string, unknown>;
  if (validate(value)) return value;
  const errors = validate.errors ?? [];
  const details = errors.slice(0, MAX_REPORTED).map((e) => ({
    path: e.instancePath || '/',
    message: e.message ?? 'invalid',
    ...(e.keyword === 'additionalProperties' ? { property: (e.params as { additionalProperty: string }).additionalProperty } : {}),
  }));
  const more = errors.length > MAX_REPORTED ? `; and ${errors.length - MAX_REPORTED} more` : '';
  const summary = details.map((d) => `${d.path}${'property' in d ? ` "${d.property}"` : ''}: ${d.message}`).join('; ') + more;
  throw new FluxoError('INVALID_PARAMETERS', `parameters do not match the flow's schema: ${summary}`, { details });
}
