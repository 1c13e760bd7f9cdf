// The JSON a task's inputs and results become: canonical (object keys sorted) so equal inputs hash
// equally whatever order their keys were built in, and strict, so a stored result reads back as the
// very value the task returned. Values JSON cannot carry exactly (functions, symbols, bigint,
// undefined inside arrays or objects, NaN and infinities, class instances, cycles) make the whole
// value "not JSON": its task then has no inputs hash (a restart runs it again) or no stored result.
import { createHash } from 'node:crypto';

/** Largest result the agent stores, in UTF-8 bytes of its JSON: 64 MiB. Bigger results are not stored. */
export const MAX_RESULT_BYTES = 64 * 1024 * 1024;

const NOT_JSON = Symbol('not-json');

/**
 * Canonical JSON of `value`, or null when it is not JSON (see above). With `dates`, a Date becomes
 * `{"$date":"<ISO>"}` (inputs only: a hash need not read back; a result must).
 *
 * @example canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown, options: { dates?: boolean } = {}): string | null {
  const seen = new Set<object>();
  const encode = (v: unknown): string | typeof NOT_JSON => {
    switch (typeof v) {
      case 'string':
        return JSON.stringify(v);
      case 'boolean':
        return v ? 'true' : 'false';
      case 'number':
        return Number.isFinite(v) ? JSON.stringify(v) : NOT_JSON;
      case 'object': {
        if (v === null) return 'null';
        if (v instanceof Date) {
          if (!options.dates || Number.isNaN(v.getTime())) return NOT_JSON;
          return `{"$date":${JSON.stringify(v.toISOString())}}`;
        }
        if (seen.has(v)) return NOT_JSON;
        seen.add(v);
        try {
          if (Array.isArray(v)) {
            const parts: string[] = [];
            for (const item of v) {
              const part = encode(item);
              if (part === NOT_JSON) return NOT_JSON;
              parts.push(part);
            }
            return `[${parts.join(',')}]`;
          }
          const proto = Object.getPrototypeOf(v) as unknown;
          if (proto !== Object.prototype && proto !== null) return NOT_JSON;
          const parts: string[] = [];
          for (const key of Object.keys(v).sort()) {
            const part = encode((v as Record<string, unknown>)[key]);
            if (part === NOT_JSON) return NOT_JSON;
            parts.push(`${JSON.stringify(key)}:${part}`);
          }
          return `{${parts.join(',')}}`;
        } finally {
          seen.delete(v);
        }
      }
      default:
        return NOT_JSON;
    }
  };
  const encoded = encode(value);
  return encoded === NOT_JSON ? null : encoded;
}

/**
 * sha256 (hex) of the canonical JSON of a task call's arguments (an array; Dates allowed), or null
 * when they are not JSON.
 *
 * @example inputsHashOf([{ year: 2024 }]) // '5f0c…'
 */
export function inputsHashOf(args: readonly unknown[]): string | null {
  const json = canonicalJson(args, { dates: true });
  return json === null ? null : createHash('sha256').update(json).digest('hex');
}

/**
 * The JSON text a task's result is stored as: '' for undefined (a task that returns nothing), the
 * canonical JSON otherwise; null when the value is not JSON or its JSON is over MAX_RESULT_BYTES.
 */
export function resultJsonOf(value: unknown): string | null {
  if (value === undefined) return '';
  const json = canonicalJson(value);
  if (json === null || json.length > MAX_RESULT_BYTES || Buffer.byteLength(json) > MAX_RESULT_BYTES) return null;
  return json;
}

/** The value of a stored result's JSON text (resultJsonOf's inverse). */
export function parseResultJson(json: string): unknown {
  return json === '' ? undefined : (JSON.parse(json) as unknown);
}
