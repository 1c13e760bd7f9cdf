// The Run form's fields and checks, from parameter schemas as the SDK exports them (zod 4's JSON
// Schema, draft 2020-12).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

interface Field {
  name: string;
  kind: string;
  required: boolean;
}
// Loaded by path, not by a static import: ui/ is the browser's room, outside the Node compile.
const { fieldsOf, initialText, readForm } = (await import(String(new URL('../../ui/src/param-schema.ts', import.meta.url)))) as {
  fieldsOf: (schema: unknown) => Field[];
  initialText: (field: Field) => string;
  readForm: (fields: Field[], texts: Record<string, string>) => unknown;
};

const schema = z.toJSONSchema(
  z.object({
    year: z.int().min(2002).max(2011).default(2010).describe('year of the figures'),
    city: z.string().min(1),
    code: z.string().regex(/^[A-Z]{2}$/).optional(),
    kind: z.enum(['daily', 'monthly']),
    tables: z.array(z.string()).optional(),
    dryRun: z.boolean().default(false),
    ratio: z.number().min(0).max(1).optional(),
  }),
  { io: 'input' },
);
const fields = fieldsOf(schema);
const texts = (overrides: Record<string, string>) => ({ ...Object.fromEntries(fields.map((f) => [f.name, initialText(f)])), city: 'Rio', kind: 'daily', ...overrides });

describe('fields from a parameter schema', () => {
  it('makes one field per property with its kind, default, bounds, pattern and options', () => {
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['year', 'integer', false],
      ['city', 'string', true],
      ['code', 'string', false],
      ['kind', 'enum', true],
      ['tables', 'string-list', false],
      ['dryRun', 'boolean', false],
      ['ratio', 'number', false],
    ]);
    expect(fields[0]).toMatchObject({ default: 2010, minimum: 2002, maximum: 2011, description: 'year of the figures' });
    expect(fields[2]).toMatchObject({ pattern: '^[A-Z]{2}$' });
    expect(fields[3]).toMatchObject({ options: ['daily', 'monthly'] });
    expect(initialText(fields[0]!)).toBe('2010');
  });
});

describe('checking the form before it is sent', () => {
  it('converts valid input and leaves empty optional fields to the server’s defaults', () => {
    expect(readForm(fields, texts({ tables: 'a\nb, c', ratio: '0.5', code: 'RJ' }))).toEqual({
      ok: true,
      parameters: { year: 2010, city: 'Rio', code: 'RJ', kind: 'daily', tables: ['a', 'b', 'c'], dryRun: false, ratio: 0.5 },
    });
  });

  it.each([
    ['a missing required string', { city: '' }, { city: 'required' }],
    ['an integer below its minimum', { year: '1990' }, { year: 'at least 2002' }],
    ['an integer above its maximum', { year: '2012' }, { year: 'at most 2011' }],
    ['a fraction for an integer', { year: '2005.5' }, { year: 'a whole number' }],
    ['text for a number', { ratio: 'half' }, { ratio: 'a number' }],
    ['a string outside its pattern', { code: 'rio' }, { code: 'must match ^[A-Z]{2}$' }],
    ['a value outside the enum', { kind: 'weekly' }, { kind: 'one of daily, monthly' }],
  ])('refuses %s', (_why, overrides, errors) => {
    expect(readForm(fields, texts(overrides))).toEqual({ ok: false, errors });
  });
});
