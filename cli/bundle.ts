// Bundles a flow module into one ESM file with esbuild: the flow, its dependencies and its own
// copy of the fluxo SDK, so an agent runs it with nothing installed. Identical input gives
// identical bytes (no timestamps, paths relative to the project root), so re-registering an
// unchanged flow hashes the same and creates no new version.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildFailure, type BuildOptions, type Message } from 'esbuild';
import { FluxoError } from '../common/errors.js';

/** One bundled flow module. */
export interface FlowBundle {
  /** The `.mjs` file's bytes. */
  bytes: Uint8Array;
  /** Hex sha256 of `bytes`: the bundle's storage key and the digest agents verify. */
  sha256: string;
}

// CommonJS dependencies bundled into ESM call `require` for node builtins; esbuild's shim looks for
// a `require` in scope. esbuild renames any `require` the flow itself declares, so this cannot clash.
const REQUIRE_BANNER = "import { createRequire as __fluxoCreateRequire } from 'node:module';\nconst require = __fluxoCreateRequire(import.meta.url);";

/**
 * The SDK every bundle gets for `import ... from 'fluxo'`: the compiled `dist/sdk/index.js` next to
 * this module, or the TypeScript source when this module runs from source (tests).
 */
export function sdkEntryPath(): string {
  return sdkModulePath('index');
}

/**
 * The module every bundle gets for `import ... from 'fluxo/data'`, from the same build as
 * {@link sdkEntryPath}: both import one `sdk/context`, so fluxo/data knows the calling task.
 */
export function sdkDataEntryPath(): string {
  return sdkModulePath('data');
}

function sdkModulePath(name: 'index' | 'data'): string {
  const compiled = fileURLToPath(new URL(`../sdk/${name}.js`, import.meta.url));
  if (existsSync(compiled)) return compiled;
  const source = fileURLToPath(new URL(`../sdk/${name}.ts`, import.meta.url));
  if (existsSync(source)) return source;
  throw new Error(`the fluxo SDK is missing (looked for ${compiled}); run npm run build`);
}

/**
 * The esbuild options of every flow bundle. One place, so that a module bundled alone and in a
 * batch ({@link bundleFlowModules}) gives the same bytes: the digest is the registry's identity.
 */
function bundleOptions(absWorkingDir: string) {
  return {
    // Paths in the bundle's comments are relative to this directory; the project root keeps
    // them the same whichever directory `fluxo register` runs from.
    absWorkingDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    charset: 'utf8',
    sourcemap: false,
    // esbuild would turn `fluxo/data` into `<index.js>/data` under the `fluxo` alias alone: the
    // subpath needs its own entry (the longer alias wins).
    alias: { 'fluxo/data': sdkDataEntryPath(), fluxo: sdkEntryPath() },
    banner: { js: REQUIRE_BANNER },
    logLevel: 'silent',
  } as const satisfies BuildOptions;
}

/** What besides the input files decides a bundle's bytes: the options (and so the SDK's path). */
export function bundleOptionsFingerprint(): string {
  const { absWorkingDir: _root, ...options } = bundleOptions('');
  return JSON.stringify(options);
}

/**
 * Bundles the flow module at `entryPath` (TypeScript or JavaScript).
 *
 * @example
 * const { bytes, sha256 } = await bundleFlowModule('examples/retry.ts');
 */
export async function bundleFlowModule(entryPath: string): Promise<FlowBundle> {
  const { bytes, sha256 } = await bundleOne(entryPath);
  return { bytes, sha256 };
}

/** A bundle and the files it was made from (absolute paths), for the bundle cache. */
export interface BundleWithInputs extends FlowBundle {
  inputs: string[];
}

async function bundleOne(entryPath: string): Promise<BundleWithInputs> {
  const entry = checkEntry(entryPath);
  const root = projectRoot(entry);
  try {
    const result = await build({ ...bundleOptions(root), entryPoints: [entry], outfile: 'flow.mjs', metafile: true });
    const output = result.outputFiles[0];
    if (!output) throw new Error('esbuild produced no output');
    return withDigest(output.contents, inputsOf(root, Object.values(result.metafile.outputs)[0]?.inputs));
  } catch (error) {
    throw bundleError(entryPath, error);
  }
}

/** The outcome of bundling one module of a batch. */
export type BatchBundle = { path: string; bundle: BundleWithInputs } | { path: string; error: Error };

/** Entry points per esbuild build of a batch: big enough to share parsing (zod, the SDK), small enough to bound memory. */
const BATCH_ENTRIES = 100;

/**
 * Bundles many flow modules, byte for byte as {@link bundleFlowModule} would one by one, but
 * much faster: modules of one project root share esbuild builds of up to 100 entry points, so
 * what they import (zod, the SDK) is parsed once per build rather than once per module (800
 * modules: about 25 s of CPU instead of 45). A build with a broken module fails as a whole, so its
 * modules are then bundled one by one to tell which one failed and why. `onBundle` sees each
 * result as it comes, in no particular order.
 *
 * @example
 * for (const result of await bundleFlowModules(['flows/a.ts', 'flows/b.ts'])) console.log(result.path);
 */
export async function bundleFlowModules(paths: readonly string[], onBundle: (result: BatchBundle) => void | Promise<void> = () => {}): Promise<BatchBundle[]> {
  const results: BatchBundle[] = [];
  const report = async (result: BatchBundle): Promise<void> => {
    results.push(result);
    await onBundle(result);
  };
  const byRoot = new Map<string, { path: string; entry: string }[]>();
  for (const path of paths) {
    let entry: string;
    try {
      entry = checkEntry(path);
    } catch (error) {
      await report({ path, error: error as Error });
      continue;
    }
    const root = projectRoot(entry);
    const group = byRoot.get(root) ?? [];
    group.push({ path, entry });
    byRoot.set(root, group);
  }
  const batches: { root: string; members: { path: string; entry: string }[] }[] = [];
  for (const [root, members] of byRoot) {
    for (let i = 0; i < members.length; i += BATCH_ENTRIES) batches.push({ root, members: members.slice(i, i + BATCH_ENTRIES) });
  }
  // Two builds at once: esbuild's own threads do not keep two cores busy while one build's
  // output crosses into this process.
  await mapConcurrently(batches, 2, async ({ root, members }) => {
    let result;
    try {
      result = await build({
        ...bundleOptions(root),
        entryPoints: members.map(({ entry }, i) => ({ in: entry, out: `e${i}` })),
        outdir: 'fluxo-batch',
        outExtension: { '.js': '.mjs' },
        metafile: true,
      });
    } catch (error) {
      if (!Array.isArray((error as Partial<BuildFailure>).errors)) throw error;
      for (const { path } of members) {
        try {
          await report({ path, bundle: await bundleOne(path) });
        } catch (one) {
          await report({ path, error: one as Error });
        }
      }
      return;
    }
    const outputs = new Map(result.outputFiles.map((file) => [file.path, file.contents]));
    for (const [i, { path }] of members.entries()) {
      const name = `fluxo-batch/e${i}.mjs`;
      const contents = outputs.get(join(root, name));
      if (!contents) throw new Error(`esbuild produced no ${name} for ${path}`);
      await report({ path, bundle: withDigest(contents, inputsOf(root, result.metafile.outputs[name]?.inputs)) });
    }
  });
  return results;
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function mapConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

function checkEntry(entryPath: string): string {
  const entry = resolve(entryPath);
  if (!existsSync(entry) || !statSync(entry).isFile()) {
    throw new FluxoError('BAD_USER_INPUT', `no flow module at ${entryPath}`);
  }
  return entry;
}

function withDigest(bytes: Uint8Array, inputs: string[]): BundleWithInputs {
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), inputs };
}

/** The absolute paths of a metafile output's inputs (esbuild gives them relative to the working directory). */
function inputsOf(root: string, inputs: Record<string, unknown> | undefined): string[] {
  return Object.keys(inputs ?? {})
    .filter((input) => !input.includes(':'))
    .map((input) => resolve(root, input));
}

function bundleError(entryPath: string, error: unknown): unknown {
  const messages = (error as Partial<BuildFailure>).errors;
  if (!Array.isArray(messages)) return error;
  return new FluxoError('BAD_USER_INPUT', `cannot bundle ${entryPath}:\n${messages.map(formatMessage).join('\n')}`, { cause: error });
}

function formatMessage(message: Message): string {
  const location = message.location;
  const where = location ? `${location.file}:${location.line}:${location.column + 1}: ` : '';
  return `  ${where}${message.text}`;
}

/** The nearest directory above `file` holding a package.json, else the file's own directory. */
function projectRoot(file: string): string {
  let dir = dirname(file);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return dirname(file);
    dir = parent;
  }
}
