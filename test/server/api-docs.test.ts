// docs/api.md lists every error code the API answers with. The table is rendered from the schema's
// own ErrorCode descriptions and common/errors.ts's HTTP statuses, so the doc cannot drift from the
// code: this test fails, printing the table to paste, when they differ.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isEnumType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { httpStatusOf, type ErrorCode } from '../../common/errors.js';
import { buildSchema } from '../../server/graphql/apollo.js';
import { repoRoot } from '../support/harness.js';

/** One row per ErrorCode value: the code, its HTTP status when it refuses a whole request, its description. */
function renderErrorTable(): string {
  const type = buildSchema().getType('ErrorCode');
  if (!isEnumType(type)) throw new Error('the schema has no ErrorCode enum');
  const lines = ['| code | HTTP, when it refuses the whole request | meaning |', '|---|---|---|'];
  for (const value of type.getValues()) {
    const description = (value.description ?? '').replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
    lines.push(`| \`${value.name}\` | ${httpStatusOf[value.name as ErrorCode]} | ${description} |`);
  }
  return lines.join('\n');
}

describe('docs/api.md', () => {
  it('lists every error code of the schema with its HTTP status and meaning', async () => {
    const doc = await readFile(join(repoRoot, 'docs', 'api.md'), 'utf8');
    const block = /<!-- error-codes:start -->\n([\s\S]*?)\n<!-- error-codes:end -->/.exec(doc)?.[1];
    const table = renderErrorTable();
    expect(block, `paste between the error-codes markers of docs/api.md:\n\n${table}\n`).toBe(table);
  });

  it('describes every code in the schema (a code without a description would leave a blank row)', () => {
    const type = buildSchema().getType('ErrorCode');
    if (!isEnumType(type)) throw new Error('the schema has no ErrorCode enum');
    const undescribed = type.getValues().filter((v) => !v.description?.trim()).map((v) => v.name);
    expect(undescribed).toEqual([]);
    expect(type.getValues().length).toBe(Object.keys(httpStatusOf).length);
  });
});
