// Bundles a flow module into one ESM file with esbuild: the flow, its dependencies and its own
// copy of the fluxo SDK, so an agent runs it with nothing installed. Identical input gives
// identical bytes (no timestamps, paths relative to the project root), so re-registering an
// unchanged flow hashes the same and creates no new version.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildFailure, type Message } from 'esbuild';
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
  const compiled = fileURLToPath(new URL('../sdk/index.js', import.meta.url));
  if (existsSync(compiled)) return compiled;
  const source = fileURLToPath(new URL('../sdk/index.ts', import.meta.url));
  if (existsSync(source)) return source;
  throw new Error(`the fluxo SDK is missing (looked for ${compiled}); run npm run build`);
}

/**
 * Bundles the flow module at `entryPath` (TypeScript or JavaScript).
 *
 * @example
 * const { bytes, sha256 } = await bundleFlowModule('examples/retry.ts');
 */
export async function bundleFlowModule(entryPath: string): Promise<FlowBundle> {
  const entry = resolve(entryPath);
  if (!existsSync(entry) || !statSync(entry).isFile()) {
    throw new FluxoError('BAD_USER_INPUT', `no flow module at ${entryPath}`);
  }
  let text: Uint8Array;
  try {
    const result = await build({
      entryPoints: [entry],
      // Paths in the bundle's comments are relative to this directory; the project root keeps
      // them the same whichever directory `fluxo register` runs from.
      absWorkingDir: projectRoot(entry),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: 'flow.mjs',
      write: false,
      charset: 'utf8',
      sourcemap: false,
      alias: { fluxo: sdkEntryPath() },
      banner: { js: REQUIRE_BANNER },
      logLevel: 'silent',
    });
    const output = result.outputFiles[0];
    if (!output) throw new Error('esbuild produced no output');
    text = output.contents;
  } catch (error) {
    const messages = (error as Partial<BuildFailure>).errors;
    if (!Array.isArray(messages)) throw error;
    throw new FluxoError('BAD_USER_INPUT', `cannot bundle ${entryPath}:\n${messages.map(formatMessage).join('\n')}`, { cause: error });
  }
  return { bytes: text, sha256: createHash('sha256').update(text).digest('hex') };
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
