// Which files `fluxo register PATHS...` means: files as named, directories walked for flow
// modules, globs matched (tinyglobby). What a walk or a glob finds may be a helper module with no
// flow, which registration skips; a file named on purpose must hold a flow.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';

/** A module to register, as the user will read it in the summary. */
export interface FoundModule {
  /** The path as given, or relative to the working directory when found by a walk or a glob. */
  path: string;
  /** Named on the command line (a module without flows is then a failure, not a skip). */
  explicit: boolean;
}

/** A path that named nothing to register. */
export interface PathProblem {
  path: string;
  message: string;
}

/** Flow module extensions a directory walk picks up. */
const MODULE_GLOB = '**/*.{ts,mts,js,mjs}';
const MODULE_FILE = /\.(ts|mts|js|mjs)$/;
/** Never flow modules: declarations, tests, dependencies, and dot-directories (.git, .github). */
const IGNORED = ['**/*.d.ts', '**/*.d.mts', '**/*.test.*', '**/node_modules/**', '**/.*/**'];

/**
 * Expands PATHS into modules, in a stable order (each argument's matches sorted, duplicates
 * dropped), and the arguments that matched nothing.
 *
 * @example
 * const { modules, problems } = await findFlowModules(['flows/', 'extra/*.ts', 'one.ts']);
 */
export async function findFlowModules(paths: readonly string[], cwd = process.cwd()): Promise<{ modules: FoundModule[]; problems: PathProblem[] }> {
  const modules: FoundModule[] = [];
  const problems: PathProblem[] = [];
  const seen = new Set<string>();
  const add = (path: string, explicit: boolean): void => {
    const key = resolve(cwd, path);
    if (seen.has(key)) return;
    seen.add(key);
    modules.push({ path, explicit });
  };
  for (const path of paths) {
    const info = await stat(resolve(cwd, path)).catch(() => null);
    if (info?.isDirectory()) {
      const found = await glob(MODULE_GLOB, { cwd: resolve(cwd, path), ignore: IGNORED, dot: false, followSymbolicLinks: false });
      if (found.length === 0) problems.push({ path, message: `no flow module (.ts, .mts, .js, .mjs) under ${path}` });
      for (const file of found.sort()) add(joinPath(path, file), false);
    } else if (!info && isDynamicPattern(path)) {
      const found = (await glob(path, { cwd, ignore: IGNORED, dot: false, onlyFiles: true })).filter((name) => MODULE_FILE.test(name));
      if (found.length === 0) problems.push({ path, message: `no flow module (.ts, .mts, .js, .mjs) matches ${path}` });
      for (const file of found.sort()) add(file, false);
    } else {
      // A file, or a path that does not exist: bundling says "no flow module at ...".
      add(path, true);
    }
  }
  return { modules, problems };
}

function joinPath(dir: string, file: string): string {
  return dir.endsWith('/') ? `${dir}${file}` : `${dir}/${file}`;
}
