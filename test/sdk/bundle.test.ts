// Bundling flow modules: one self-contained ESM file, deterministic, `fluxo` resolved anywhere.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { bundleFlowModule } from '../../cli/bundle.js';
import { loadFlowBundle, loadFlowFile } from '../../cli/load-flows.js';
import type { RuntimeHost } from '../../sdk/runtime/protocol.js';
import { repoRoot, tempDir } from '../support/harness.js';

const hello = join(repoRoot, 'test/fixtures/flows/hello.ts');
const quietHost: RuntimeHost = { taskState: () => undefined, log: () => undefined };

describe('bundleFlowModule', () => {
  it('gives identical bytes and digest for identical input', async () => {
    const first = await bundleFlowModule(hello);
    const second = await bundleFlowModule(hello);
    expect(Buffer.from(second.bytes).equals(Buffer.from(first.bytes))).toBe(true);
    expect(second.sha256).toBe(first.sha256);
    expect(first.sha256).toBe(createHash('sha256').update(first.bytes).digest('hex'));
  });

  it('gives the same bytes whichever directory it runs from', async () => {
    const elsewhere = await tempDir();
    const script = `import { bundleFlowModule } from ${JSON.stringify(join(repoRoot, 'dist/cli/bundle.js'))};
      const { sha256 } = await bundleFlowModule(${JSON.stringify(hello)}); console.log(sha256);`;
    const run = (cwd: string) => execa(process.execPath, ['--input-type=module', '-e', script], { cwd });
    const [fromRoot, fromElsewhere] = await Promise.all([run(repoRoot), run(elsewhere)]);
    expect(fromElsewhere.stdout).toMatch(/^[0-9a-f]{64}$/);
    expect(fromElsewhere.stdout).toBe(fromRoot.stdout);
  });

  it('changes the digest when the module changes', async () => {
    const dir = await tempDir();
    const entry = join(dir, 'flow.ts');
    await writeFile(entry, `import { flow } from 'fluxo';\nexport const a = flow('a', async () => 1);\n`);
    const before = await bundleFlowModule(entry);
    await writeFile(entry, `import { flow } from 'fluxo';\nexport const a = flow('a', async () => 2);\n`);
    const after = await bundleFlowModule(entry);
    expect(after.sha256).not.toBe(before.sha256);
  });

  it('resolves `fluxo` for a module outside the repository and inlines the SDK', async () => {
    const dir = await tempDir();
    const entry = join(dir, 'outside.ts');
    await writeFile(entry, `import { flow, task } from 'fluxo';\nconst t = task('t', () => 41);\nexport const outside = flow('outside', async () => (await t()) + 1);\n`);
    const { bytes } = await bundleFlowModule(entry);
    const text = Buffer.from(bytes).toString('utf8');
    expect(text).not.toMatch(/from ["']fluxo["']/);
    const [loaded] = await loadFlowBundle(bytes);
    expect(loaded?.exportName).toBe('outside');
    await expect(loaded?.handle.run({}, quietHost)).resolves.toBe(42);
  });

  it('keeps node builtins external and gives CommonJS dependencies a working require', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'node_modules/cjs-dep'), { recursive: true });
    await writeFile(join(dir, 'node_modules/cjs-dep/package.json'), JSON.stringify({ name: 'cjs-dep', main: 'index.js' }));
    await writeFile(join(dir, 'node_modules/cjs-dep/index.js'), `const os = require('node:os');\nmodule.exports = () => typeof os.cpus().length;\n`);
    const entry = join(dir, 'uses-cjs.ts');
    await writeFile(entry, `import { flow } from 'fluxo';\nimport kind from 'cjs-dep';\nexport const usesCjs = flow('uses-cjs', async () => kind());\n`);
    const { bytes } = await bundleFlowModule(entry);
    expect(Buffer.from(bytes).toString('utf8')).toContain('__require("node:os")');
    const [loaded] = await loadFlowBundle(bytes);
    await expect(loaded?.handle.run({}, quietHost)).resolves.toBe('number');
  });

  it.each([
    ['a syntax error', 'export const broken = flow(\n', /cannot bundle .*broken\.ts:\n {2}broken\.ts:\d+:\d+: Unexpected end of file/],
    ['an unresolvable import', `import { nope } from 'no-such-package-anywhere';\nexport const x = nope;\n`, /Could not resolve "no-such-package-anywhere"/],
  ])('refuses a module with %s as BAD_USER_INPUT naming the file', async (_, source, message) => {
    const dir = await tempDir();
    const entry = join(dir, 'broken.ts');
    await writeFile(entry, source);
    await expect(bundleFlowModule(entry)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
  });

  it('refuses a path that is not a file', async () => {
    await expect(bundleFlowModule(join(repoRoot, 'no/such/flow.ts'))).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringContaining('no flow module at'),
    });
  });
});

describe('loadFlowFile', () => {
  it('lists every exported flow with its export name', async () => {
    const { flows } = await loadFlowFile(join(repoRoot, 'examples/sleep.ts'));
    expect(flows.map(({ exportName, handle }) => `${exportName}=${handle.definition.name}`)).toEqual(['failAlways=fail-always', 'longSleep=long-sleep']);
  });

  it('prefers the named export when a flow is also the default export', async () => {
    const dir = await tempDir();
    const entry = join(dir, 'twice.ts');
    await writeFile(entry, `import { flow } from 'fluxo';\nexport const twice = flow('twice', async () => 1);\nexport default twice;\n`);
    const { flows } = await loadFlowFile(entry);
    expect(flows.map(({ exportName }) => exportName)).toEqual(['twice']);
  });

  it.each([
    ['no flow', `export const notAFlow = 1;\n`, 'exports no fluxo flow'],
    ['two flows with one name', `import { flow } from 'fluxo';\nexport const a = flow('same', async () => 1);\nexport const b = flow('same', async () => 2);\n`, 'exports "a" and "b" both define a flow named "same"'],
    ['a throw at load time', `throw new Error('cannot start');\n`, 'cannot load'],
  ])('refuses a module with %s as BAD_USER_INPUT', async (_, source, message) => {
    const dir = await tempDir();
    const entry = join(dir, 'module.ts');
    await writeFile(entry, source);
    await expect(loadFlowFile(entry)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining(message) });
  });
});
