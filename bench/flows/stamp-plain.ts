// stamp.ts without zod: the same first statement, its one parameter checked by a hand-written
// Standard Schema (sdk/standard-schema.ts). Its bundle is the SDK alone (~70 kB against ~750 kB
// with zod), so schedule-to-start with it shows what fluxo adds, without a flow's own imports.
import { writeFileSync } from 'node:fs';
import { flow } from 'fluxo';

const parameters = {
  '~standard': {
    version: 1 as const,
    vendor: 'fluxo-bench',
    validate: (value: unknown) =>
      typeof (value as { file?: unknown } | null)?.file === 'string'
        ? { value: value as { file: string } }
        : { issues: [{ message: 'file: expected a string' }] },
    jsonSchema: { input: () => ({ type: 'object', properties: { file: { type: 'string' } }, required: ['file'], additionalProperties: false }) },
  },
};

export const stampPlain = flow('stamp-plain', { parameters }, async ({ file }) => {
  writeFileSync(file, String(performance.timeOrigin + performance.now()));
});
