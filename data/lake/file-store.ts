// The lake in a local directory (`file:///abs/dir`). A file appears under its final name only
// complete and on disk: it is copied to a hidden temp name in the same folder, fsynced, renamed
// (atomic within a file system), and the folder is fsynced so the rename survives a power loss.
// Temp names start with `.` and end with `.tmp`, so no `*.parquet` glob ever sees one; a crash
// leaves them behind, and the next write of the same output removes them.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataError } from '../contract.js';
import type { LakeObject, LakeStore, PutOptions } from './lake-store.js';

export class FileLakeStore implements LakeStore {
  readonly root: string;
  readonly tracksOwners = false;
  readonly #dir: string;

  /** @param dir the lake's absolute root directory (need not exist yet). */
  constructor(dir: string) {
    this.#dir = dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
    this.root = pathToFileURL(this.#dir).href.replace(/\/$/, '');
  }

  uriOf(key: string): string {
    return pathToFileURL(this.#pathOf(key)).href;
  }

  async list(prefix: string): Promise<LakeObject[]> {
    const base = this.#pathOf(prefix);
    let entries: string[];
    try {
      entries = await readdir(base, { recursive: true });
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return [];
      throw backendError(error, `cannot list ${pathToFileURL(base).href}`);
    }
    const objects: LakeObject[] = [];
    for (const entry of entries.sort()) {
      const info = await stat(join(base, entry)).catch(() => undefined);
      if (!info?.isFile()) continue;
      objects.push({ key: prefix + entry.split(sep).join('/'), size: info.size });
    }
    return objects;
  }

  async put(localPath: string, key: string, _options: PutOptions): Promise<{ bytes: number }> {
    const target = this.#pathOf(key);
    const folder = dirname(target);
    const temp = join(folder, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(folder, { recursive: true });
      await copyFile(localPath, temp);
      await fsync(temp, 'r+');
      await rename(temp, target);
      await fsync(folder, 'r');
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw backendError(error, `cannot write ${pathToFileURL(target).href}`);
    }
    return { bytes: (await stat(target)).size };
  }

  async delete(object: LakeObject): Promise<boolean> {
    try {
      await unlink(this.#pathOf(object.key));
      return true;
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return false;
      throw backendError(error, `cannot delete ${this.uriOf(object.key)}`);
    }
  }

  async withLocalCopy<T>(key: string, work: (path: string) => Promise<T>): Promise<T> {
    return work(this.#pathOf(key));
  }

  async prune(prefix: string): Promise<void> {
    const base = this.#pathOf(prefix);
    // Deepest first, so a folder emptied by removing its children goes too; the table folder stays.
    const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch(() => []);
    const folders = entries.filter((entry) => entry.isDirectory()).map((entry) => join(entry.parentPath, entry.name));
    folders.sort((a, b) => b.length - a.length);
    for (const folder of folders) await rmdir(folder).catch(() => undefined);
  }

  #pathOf(key: string): string {
    return join(this.#dir, ...key.split('/'));
  }
}

async function fsync(path: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function backendError(error: unknown, what: string): DataError {
  const message = error instanceof Error ? error.message : String(error);
  return new DataError('DATA_BACKEND_ERROR', `${what}: ${message}`);
}
