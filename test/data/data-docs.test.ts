// docs/data.md, the flow authors' guide to fluxo/data, lists every DataError code with its meaning
// and every environment variable of the data settings. Both come from the code (the JSDoc comment
// above each code in data/contract.ts's DATA_ERROR_CODES; data/config.ts's DATA_ENV), so the guide
// cannot drift from them: these tests fail, printing what to paste, when they differ.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA_ENV } from '../../data/config.js';
import { DATA_ERROR_CODES } from '../../data/contract.js';
import { repoRoot } from '../support/harness.js';

const readRepoFile = (...path: string[]): Promise<string> => readFile(join(repoRoot, ...path), 'utf8');

/** Each code of DATA_ERROR_CODES with the text of the JSDoc comment just above it, in order. */
function documentedCodes(contractSource: string): { code: string; meaning: string }[] {
  const list = /export const DATA_ERROR_CODES = \[([\s\S]*?)\] as const;/.exec(contractSource)?.[1];
  if (list === undefined) throw new Error('data/contract.ts no longer declares `export const DATA_ERROR_CODES = [...] as const;`');
  return [...list.matchAll(/\/\*\*([\s\S]*?)\*\/\s*'([A-Z_]+)',?/g)].map(([, comment, code]) => ({
    code: code!,
    meaning: comment!
      .split('\n')
      .map((line) => line.replace(/^\s*\*?\s?/, '').trim())
      .filter(Boolean)
      .join(' '),
  }));
}

/** The table docs/data.md holds between its data-error-codes markers. */
function renderErrorTable(codes: { code: string; meaning: string }[]): string {
  return ['| code | meaning |', '|---|---|', ...codes.map(({ code, meaning }) => `| \`${code}\` | ${meaning.replaceAll('|', '\\|')} |`)].join('\n');
}

describe('docs/data.md', () => {
  it('reads a meaning for every error code of the contract', async () => {
    const codes = documentedCodes(await readRepoFile('data', 'contract.ts'));
    // A code without its comment would silently drop out of the table: every one must be found.
    expect(codes.map(({ code }) => code)).toEqual([...DATA_ERROR_CODES]);
    for (const { code, meaning } of codes) expect(meaning, `the JSDoc comment of ${code}`).not.toBe('');
  });

  it('shows the error codes table the contract documents', async () => {
    const table = renderErrorTable(documentedCodes(await readRepoFile('data', 'contract.ts')));
    const doc = await readRepoFile('docs', 'data.md');
    const block = /<!-- data-error-codes:start -->\n([\s\S]*?)\n<!-- data-error-codes:end -->/.exec(doc)?.[1];
    expect(block, `paste between the data-error-codes markers of docs/data.md:\n\n${table}\n`).toBe(table);
  });

  it('names every environment variable the data settings read', async () => {
    const doc = await readRepoFile('docs', 'data.md');
    const missing = ['FLUXO_DATA_CONFIG', ...Object.keys(DATA_ENV)].filter((name) => !doc.includes(`\`${name}\``));
    expect(missing, 'environment variables of data/config.ts that docs/data.md does not name').toEqual([]);
  });
});
