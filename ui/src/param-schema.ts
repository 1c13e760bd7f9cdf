// The Run form of a flow, generated from its version's parameter schema (JSON Schema draft
// 2020-12, as fluxo's SDK exports it from zod): one field per property, with its type, default,
// bounds, pattern and enum. Values are checked here before createFlowRun is sent; the server
// validates again (INVALID_PARAMETERS) and its answer is shown the same way.

/** The kinds of field the form renders. */
export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'string-list' | 'json';

/** One form field. */
export interface ParamField {
  name: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  options?: string[];
}

type Schema = Record<string, unknown>;

/** Beyond these magnitudes zod's "any integer" bounds are noise, not a rule worth showing. */
const SAFE = Number.MAX_SAFE_INTEGER;

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < SAFE ? value : undefined;
}

/** The fields of an object schema, in the schema's order. */
export function fieldsOf(schema: unknown): ParamField[] {
  if (!schema || typeof schema !== 'object') return [];
  const root = schema as Schema;
  const properties = (root.properties ?? {}) as Record<string, Schema>;
  const required = new Set(Array.isArray(root.required) ? (root.required as string[]) : []);
  return Object.entries(properties).map(([name, property]) => {
    const field: ParamField = { name, kind: kindOf(property), required: required.has(name) && property.default === undefined };
    if (typeof property.description === 'string') field.description = property.description;
    if (property.default !== undefined) field.default = property.default;
    const bounds = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength'] as const;
    for (const bound of bounds) {
      const value = numberOr(property[bound]);
      if (value !== undefined) field[bound] = value;
    }
    if (typeof property.pattern === 'string') field.pattern = property.pattern;
    if (field.kind === 'enum') field.options = (property.enum as unknown[]).map(String);
    return field;
  });
}

function kindOf(property: Schema): FieldKind {
  if (Array.isArray(property.enum) && property.enum.every((value) => typeof value === 'string')) return 'enum';
  switch (property.type) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'integer':
      return 'integer';
    case 'boolean':
      return 'boolean';
    case 'array': {
      const items = property.items as Schema | undefined;
      return items?.type === 'string' ? 'string-list' : 'json';
    }
    default:
      return 'json';
  }
}

/** The text a field starts with: its default, formatted for its input. */
export function initialText(field: ParamField): string {
  if (field.default === undefined) return '';
  if (field.kind === 'string-list' && Array.isArray(field.default)) return field.default.join('\n');
  if (field.kind === 'json') return JSON.stringify(field.default);
  return String(field.default);
}

/** The outcome of reading the form: parameters to send, or a message per field. */
export type FormReading = { ok: true; parameters: Record<string, unknown> } | { ok: false; errors: Record<string, string> };

/**
 * Reads the form's texts (booleans as 'true'/'false'): empty optional fields are left out (the
 * server applies defaults), everything else is converted and checked against the field's rules.
 */
export function readForm(fields: ParamField[], texts: Record<string, string>): FormReading {
  const parameters: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const text = (texts[field.name] ?? '').trim();
    if (text === '' && field.kind !== 'boolean') {
      if (field.required) errors[field.name] = 'required';
      continue;
    }
    const result = convert(field, texts[field.name] ?? '');
    if ('error' in result) errors[field.name] = result.error;
    else parameters[field.name] = result.value;
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, parameters };
}

function convert(field: ParamField, raw: string): { value: unknown } | { error: string } {
  const text = raw.trim();
  switch (field.kind) {
    case 'boolean':
      return { value: raw === 'true' };
    case 'enum':
      return field.options?.includes(text) ? { value: text } : { error: `one of ${field.options?.join(', ')}` };
    case 'number':
    case 'integer': {
      const value = Number(text);
      if (!Number.isFinite(value)) return { error: 'a number' };
      if (field.kind === 'integer' && !Number.isInteger(value)) return { error: 'a whole number' };
      if (field.minimum !== undefined && value < field.minimum) return { error: `at least ${field.minimum}` };
      if (field.maximum !== undefined && value > field.maximum) return { error: `at most ${field.maximum}` };
      if (field.exclusiveMinimum !== undefined && value <= field.exclusiveMinimum) return { error: `more than ${field.exclusiveMinimum}` };
      if (field.exclusiveMaximum !== undefined && value >= field.exclusiveMaximum) return { error: `less than ${field.exclusiveMaximum}` };
      return { value };
    }
    case 'string': {
      if (field.minLength !== undefined && raw.length < field.minLength) return { error: `at least ${field.minLength} characters` };
      if (field.maxLength !== undefined && raw.length > field.maxLength) return { error: `at most ${field.maxLength} characters` };
      if (field.pattern !== undefined) {
        let matches = true;
        try {
          matches = new RegExp(field.pattern, 'u').test(raw);
        } catch {
          // A pattern JavaScript cannot read is left to the server's validator.
        }
        if (!matches) return { error: `must match ${field.pattern}` };
      }
      return { value: raw };
    }
    case 'string-list':
      return { value: raw.split(/\n|,/).map((item) => item.trim()).filter(Boolean) };
    case 'json':
      try {
        return { value: JSON.parse(text) as unknown };
      } catch {
        return { error: 'valid JSON' };
      }
  }
}

/** A field's rules as a short hint (`integer, 2002 to 2011`). */
export function hintOf(field: ParamField): string {
  const parts: string[] = [field.kind === 'string-list' ? 'list, one per line' : field.kind === 'json' ? 'JSON' : field.kind];
  if (field.minimum !== undefined && field.maximum !== undefined) parts.push(`${field.minimum} to ${field.maximum}`);
  else if (field.minimum !== undefined) parts.push(`≥ ${field.minimum}`);
  else if (field.maximum !== undefined) parts.push(`≤ ${field.maximum}`);
  if (field.pattern) parts.push(`pattern ${field.pattern}`);
  if (field.required) parts.push('required');
  else if (field.default !== undefined) parts.push(`default ${JSON.stringify(field.default)}`);
  return parts.join(', ');
}
