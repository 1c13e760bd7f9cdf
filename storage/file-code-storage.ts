// Code storage in a local directory: the embedded default (`fluxo dev`, tests, one machine).
import { constants } from 'node:fs';
import { mkdir, open, rename, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FluxoError } from '../common/errors.js';
import type { CodeStorage } from './code-storage.js';

export class FileCodeStorage implements CodeStorage {
  readonly baseUri: string;
  readonly #dir: string;

  constructor(base: URL) {
    this.#dir = resolve(fileURLToPath(base));
    this.baseUri = pathToFileURL(this.#dir).href;
  }

  async put(key: string, bytes: Uint8Array): Promise<{ uri: string; created: boolean }> {
    if (!/^[A-Za-z0-9._/-]+$/.test(key) || key.split('/').includes('..')) {
      throw new TypeError(`invalid storage key "${key}"`);
    }
    const path = join(this.#dir, key);
    const uri = pathToFileURL(path).href;
    try {
      await stat(path);
      return { uri, created: false };
    } catch {
      // Absent: write to a temporary name and rename, so a reader never sees half a bundle.
    }
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${randomUUID()}.tmp`;
    await writeFile(temporary, bytes, { flag: 'wx' });
    await rename(temporary, path);
    return { uri, created: true };
  }

  async get(uri: string, options: { maxBytes: number }): Promise<Uint8Array> {
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (error) {
      throw new FluxoError('BAD_USER_INPUT', `"${uri}" is not a file:// URI`, { cause: error });
    }
    // O_NOFOLLOW: a symbolic link as the last component is refused, not followed (ELOOP);
    // O_NONBLOCK: opening a FIFO does not wait for a writer. What is opened must be a regular file:
    // never a device, a FIFO or a socket (reading /dev/zero would never end).
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ELOOP') throw notRegular(uri, error);
      throw new FluxoError('NOT_FOUND', `bundle ${uri} cannot be read (${error.code ?? error.message})`, { cause: error });
    });
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw notRegular(uri);
      const { size } = info;
      if (size > options.maxBytes) {
        throw new FluxoError('BAD_USER_INPUT', `bundle ${uri} is ${size} bytes, over the ${options.maxBytes}-byte limit`);
      }
      const buffer = Buffer.alloc(size);
      await handle.read(buffer, 0, size, 0);
      return buffer;
    } finally {
      await handle.close();
    }
  }
}

/**
 * The object is not a regular file (a symbolic link, a device, a FIFO, a socket, a directory).
 * `details.locationRefused` lets the agent tell this refusal from a missing object.
 */
function notRegular(uri: string, cause?: unknown): FluxoError {
  return new FluxoError('FORBIDDEN', `${uri} is not a regular file`, { cause, details: { locationRefused: true } });
}
