// What `fluxo register` remembers between runs, so that re-registering an unchanged repository
// neither bundles nor loads anything (800 modules: esbuild alone needs ~35 s of CPU, importing
// the bundles ~30 s more; the unchanged pass must take under 10 s on 2 cores).
//
// - definitions/<bundle sha256>.json: the flows a bundle exports. Safe by construction: they are
//   what importing those very bytes gave (flow definitions are declared data, not computed from
//   the environment, by the SDK's contract).
// - bundles/<key>.json: the digest a module bundled to, with the files esbuild read. It is used
//   only while the facts that decide the output are unchanged: the content of every input file,
//   the names in every input's directory (a new `x.ts` beside `x.js` changes resolution), every
//   package.json / tsconfig.json / jsconfig.json from an input's directory up to the root (exports,
//   type, paths), and which of those directories have a node_modules (a new one shadows a
//   package); plus esbuild's version and the bundle options. Anything else (a changed
//   environment variable read at bundle time) does not exist: the build reads only files.
// A miss costs only time. `--no-cache` ignores the cache; its directory is $FLUXO_CACHE_DIR, else
// $XDG_CACHE_HOME/fluxo, else ~/.cache/fluxo: the user's own, never a shared /tmp where another
// user could plant a forged definition.
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { version as esbuildVersion } from 'esbuild';
import { RUNTIME_PROTOCOL_VERSION } from '../sdk/runtime/protocol.js';
import { bundleOptionsFingerprint } from './bundle.js';
import type { FlowOfBundle } from './load-flows.js';

/** A module's bundle as the cache remembers it (no bytes: re-registration rarely needs them). */
export interface CachedBundle {
  sha256: string;
  size: number;
}

/** Changes whenever what a file of this cache means changes. */
const FORMAT = 1;
const RESOLUTION_FILES = ['package.json', 'tsconfig.json', 'jsconfig.json'];

/** The default cache directory (see the file comment). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLUXO_CACHE_DIR) return resolve(env.FLUXO_CACHE_DIR);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'fluxo');
}

/**
 * The registration cache of one `fluxo register` run. Reading and writing never fail the run: a
 * cache that cannot be read is a miss, one that cannot be written is skipped.
 *
 * @example
 * const cache = new BundleCache(defaultCacheDir());
 * const hit = await cache.bundleOf('/repo/flows/a.ts');
 */
export class BundleCache {
  readonly dir: string;
  /** Facts already computed in this run (many modules share zod's and the SDK's files). */
  readonly #facts = new Map<string, Promise<string>>();
  readonly #salt: string;

  constructor(dir: string) {
    this.dir = dir;
    this.#salt = `${FORMAT}\0${esbuildVersion}\0${bundleOptionsFingerprint()}\0${RUNTIME_PROTOCOL_VERSION}`;
  }

  /** The remembered bundle of the module at `entry` (absolute), if every fact it was built from holds. */
  async bundleOf(entry: string): Promise<CachedBundle | null> {
    const record = await this.#read<{ entry: string; sha256: string; size: number; inputs: string[]; state: string }>(this.#bundleFile(entry));
    if (!record || record.entry !== entry || !Array.isArray(record.inputs)) return null;
    if ((await this.#stateOf(record.inputs)) !== record.state) return null;
    return { sha256: record.sha256, size: record.size };
  }

  /** Remembers what `entry` bundled to and which files it read. */
  async rememberBundle(entry: string, bundle: { sha256: string; bytes: Uint8Array; inputs: string[] }): Promise<void> {
    const state = await this.#stateOf(bundle.inputs);
    await this.#write(this.#bundleFile(entry), { entry, sha256: bundle.sha256, size: bundle.bytes.byteLength, inputs: bundle.inputs, state });
  }

  /** The flows of the bundle with digest `sha256`, if it was loaded before. */
  async definitionsOf(sha256: string): Promise<FlowOfBundle[] | null> {
    const record = await this.#read<{ flows: FlowOfBundle[] }>(join(this.dir, 'definitions', `${sha256}.json`));
    return record && Array.isArray(record.flows) ? record.flows : null;
  }

  /** Remembers the flows of the bundle with digest `sha256`. */
  async rememberDefinitions(sha256: string, flows: FlowOfBundle[]): Promise<void> {
    await this.#write(join(this.dir, 'definitions', `${sha256}.json`), { flows });
  }

  #bundleFile(entry: string): string {
    return join(this.dir, 'bundles', `${createHash('sha256').update(`${this.#salt}\0${entry}`).digest('hex')}.json`);
  }

  /** One digest over every fact the inputs' bundle depends on. */
  async #stateOf(inputs: readonly string[]): Promise<string> {
    const keys = new Set<string>();
    for (const input of inputs) {
      keys.add(`file:${input}`);
      let dir = dirname(input);
      keys.add(`list:${dir}`);
      for (;;) {
        keys.add(`dir:${dir}`);
        const parent = dirname(dir);
        if (parent === dir) break;
        dir = parent;
      }
    }
    const hash = createHash('sha256').update(this.#salt);
    for (const key of [...keys].sort()) hash.update(`${key}=${await this.#fact(key)}\n`);
    return hash.digest('hex');
  }

  #fact(key: string): Promise<string> {
    let fact = this.#facts.get(key);
    if (!fact) {
      fact = computeFact(key);
      this.#facts.set(key, fact);
    }
    return fact;
  }

  async #read<T>(file: string): Promise<T | null> {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as T;
    } catch {
      return null;
    }
  }

  async #write(file: string, value: unknown): Promise<void> {
    try {
      await mkdir(dirname(file), { recursive: true });
      // Write then rename, so a concurrent run never reads half a record.
      const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      await writeFile(temporary, JSON.stringify(value));
      await rename(temporary, file);
    } catch {
      // A read-only or full disk costs the next run time, nothing else.
    }
  }
}

/** `file:` → content digest; `list:` → the directory's names; `dir:` → its resolution files and whether it has node_modules. */
async function computeFact(key: string): Promise<string> {
  const colon = key.indexOf(':');
  const kind = key.slice(0, colon);
  const path = key.slice(colon + 1);
  if (kind === 'file') {
    const bytes = await readFile(path).catch(() => null);
    return bytes ? createHash('sha256').update(bytes).digest('hex') : 'missing';
  }
  if (kind === 'list') {
    const names = await readdir(path).catch(() => null);
    return names ? createHash('sha256').update(names.sort().join('\0')).digest('hex') : 'missing';
  }
  const parts: string[] = [];
  for (const name of RESOLUTION_FILES) {
    const bytes = await readFile(join(path, name)).catch(() => null);
    parts.push(bytes ? createHash('sha256').update(bytes).digest('hex') : '-');
  }
  const modules = await lstat(join(path, 'node_modules')).catch(() => null);
  parts.push(modules ? (modules.isSymbolicLink() ? `link:${await readlink(join(path, 'node_modules')).catch(() => '?')}` : 'dir') : '-');
  return parts.join(',');
}
