// Where the agent keeps task results: the agency's own storage (`--result-storage`, file:// or
// gs://), written only by the agent. The child sends a result's JSON over IPC and asks for stored
// ones the same way, so flow code never needs (nor gets) write access here. The server records only
// each object's URI, sha256 and size; before a restarted run gets a result back, the agent checks
// both against the bytes it read, and anything else makes the task run again.
//
// Results up to PACKED_RESULT_MAX_BYTES are packed, many to a file or object (agent/result-pack.ts),
// each addressed by its pack's URI and a byte range; larger ones get an object of their own.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { codeStorageFor, type CodeStorage } from '../storage/code-storage.js';
import { MAX_RESULT_BYTES } from '../sdk/result-json.js';
import { BATCH_MAX_BYTES, FilePack, ObjectPacks, PACKED_RESULT_MAX_BYTES, parsePackedUri, type PackedLocation } from './result-pack.js';

/** A stored result's pointer, as the server records it. */
export interface StoredResultPointer {
  uri: string;
  sha256: string;
  size: number;
}

/** Thrown when a stored result cannot be returned: missing, unreadable, or not the recorded bytes. */
export class StoredResultRejected extends Error {
  override readonly name = 'StoredResultRejected';
}

/**
 * The agent's result storage.
 *
 * @example
 * const results = new ResultStorage('file:///var/lib/fluxo/results', () => Promise.resolve('rj-smtr'));
 * const pointer = await results.store({ flowRunId, attempt: 1, taskKey: 'extract#1', json: '[1,2]' });
 * const json = await results.read(pointer); // '[1,2]', or StoredResultRejected
 */
export class ResultStorage {
  readonly baseUri: string;
  readonly #storage: CodeStorage;
  readonly #tenant: () => Promise<string>;
  /** The directory of a file:// storage (written directly, see #writeFile), else null. */
  readonly #dir: string | null;
  /** Directories made (or being made), so a burst of results makes each once. */
  readonly #made = new Map<string, Promise<void>>();
  /** The open packs, by run attempt folder; each leaves when idle. */
  readonly #packs = new Map<string, FilePack | ObjectPacks>();
  /** Recently read gs:// packs (a restart reads many entries of each), newest last. */
  readonly #packCache = new Map<string, Promise<Uint8Array>>();

  /**
   * `storage` is the base URI (or an opened storage); `tenant` is asked once, when the first result
   * is stored (the agent's token names it).
   */
  constructor(storage: string | CodeStorage, tenant: () => Promise<string>) {
    this.#storage = typeof storage === 'string' ? codeStorageFor(storage) : storage;
    this.baseUri = this.#storage.baseUri;
    this.#dir = this.baseUri.startsWith('file:') ? fileURLToPath(this.baseUri) : null;
    let known: Promise<string> | undefined;
    this.#tenant = () => (known ??= tenant().catch((error: unknown) => {
      known = undefined;
      throw error;
    }));
  }

  /**
   * Stores a result and returns its pointer once the bytes are durable: a small one appended to
   * its run attempt's pack (`<tenant>/<run>/<attempt>/results.pack` on file://, a
   * `results-*.pack` object per batch on gs://), a larger one as `<tenant>/<run>/<attempt>/<task
   * key>.json` (create-only).
   */
  async store(result: { flowRunId: string; attempt: number; taskKey: string; json: string }): Promise<StoredResultPointer> {
    const bytes = Buffer.from(result.json, 'utf8');
    if (bytes.length > MAX_RESULT_BYTES) throw new RangeError(`the result of ${result.taskKey} is ${bytes.length} bytes, over the ${MAX_RESULT_BYTES}-byte limit`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const folder = `${safeSegment(await this.#tenant())}/${safeSegment(result.flowRunId)}/${result.attempt}/`;
    if (bytes.length <= PACKED_RESULT_MAX_BYTES) return { uri: await this.#pack(folder).append(bytes), sha256, size: bytes.length };
    const key = `${folder}${safeSegment(result.taskKey)}.json`;
    const uri = this.#dir === null ? (await this.#storage.put(key, bytes)).uri : await this.#writeFile(key, bytes);
    return { uri, sha256, size: bytes.length };
  }

  /** Closes the open pack files (their results are durable already). */
  async close(): Promise<void> {
    const packs = [...this.#packs.values()];
    this.#packs.clear();
    await Promise.all(packs.map((pack) => (pack instanceof FilePack ? pack.close() : undefined)));
  }

  #pack(folder: string): FilePack | ObjectPacks {
    let pack = this.#packs.get(folder);
    if (!pack) {
      const forget = (): void => {
        if (this.#packs.get(folder) === pack) this.#packs.delete(folder);
      };
      pack = this.#dir === null ? new ObjectPacks(this.#storage, folder, forget) : new FilePack(join(this.#dir, folder, 'results.pack'), forget);
      this.#packs.set(folder, pack);
    }
    return pack;
  }

  /** The JSON text at `pointer`, only when its bytes have the recorded size and sha256. */
  async read(pointer: StoredResultPointer): Promise<string> {
    const packed = parsePackedUri(pointer.uri);
    if (!this.#owns(packed?.packUri ?? pointer.uri)) throw new StoredResultRejected(`${pointer.uri} is not in this agent's result storage (${this.baseUri})`);
    if (packed && packed.length !== pointer.size) throw new StoredResultRejected(`${pointer.uri} names ${packed.length} bytes, the server recorded ${pointer.size}`);
    let bytes: Uint8Array;
    try {
      bytes = packed ? await this.#readPacked(packed) : await this.#storage.get(pointer.uri, { maxBytes: Math.min(pointer.size, MAX_RESULT_BYTES) });
    } catch (error) {
      throw new StoredResultRejected(`cannot read ${pointer.uri}: ${(error as Error).message}`, { cause: error });
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== pointer.size || sha256 !== pointer.sha256) {
      throw new StoredResultRejected(`${pointer.uri} is ${bytes.length} bytes with sha256 ${sha256}, the server recorded ${pointer.size} bytes with sha256 ${pointer.sha256}`);
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (error) {
      throw new StoredResultRejected(`${pointer.uri} is not UTF-8`, { cause: error });
    }
  }

  /**
   * An entry's bytes; fewer than asked when the pack is shorter (the digest check then refuses
   * them). file://: only that range is read, from a regular file opened without following a link.
   */
  async #readPacked(location: PackedLocation): Promise<Uint8Array> {
    if (location.length > PACKED_RESULT_MAX_BYTES) throw new Error(`a packed result is at most ${PACKED_RESULT_MAX_BYTES} bytes, not ${location.length}`);
    if (this.#dir === null) {
      const pack = await this.#gcsPack(location.packUri);
      return pack.subarray(location.offset, location.offset + location.length);
    }
    const handle = await open(fileURLToPath(location.packUri), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      if (!(await handle.stat()).isFile()) throw new Error('not a regular file');
      const buffer = Buffer.alloc(location.length);
      const { bytesRead } = await handle.read(buffer, 0, location.length, location.offset);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  /** A gs:// pack, whole (at most BATCH_MAX_BYTES), from a small cache: a restart reads many entries of a few packs. */
  #gcsPack(packUri: string): Promise<Uint8Array> {
    let pack = this.#packCache.get(packUri);
    if (!pack) {
      pack = this.#storage.get(packUri, { maxBytes: BATCH_MAX_BYTES });
      pack.catch(() => this.#packCache.delete(packUri));
      this.#packCache.set(packUri, pack);
      if (this.#packCache.size > 4) this.#packCache.delete(this.#packCache.keys().next().value!);
    }
    return pack;
  }

  /**
   * file:// without the bundle store's stat and temporary file: one create-only write per result
   * (a task SUCCESS waits for it), and each directory made once. No reader can see a partial
   * object: the server learns the URI only after the write, and reads verify size and sha256.
   */
  async #writeFile(key: string, bytes: Buffer): Promise<string> {
    const path = join(this.#dir!, key);
    const dir = dirname(path);
    let made = this.#made.get(dir);
    if (!made) {
      if (this.#made.size > 10_000) this.#made.clear();
      made = mkdir(dir, { recursive: true }).then(() => undefined);
      made.catch(() => this.#made.delete(dir));
      this.#made.set(dir, made);
    }
    await made;
    try {
      // Asynchronous even when small: a busy disk takes milliseconds per file created, and the
      // agent's loop also serves heartbeats and its other runs.
      await writeFile(path, bytes, { flag: 'wx' });
    } catch (error) {
      // Create-only: the same bytes again (a repeated report) are fine, other bytes are not.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !bytes.equals(await readFile(path))) throw error;
    }
    return pathToFileURL(path).href;
  }

  /** Only objects under this agent's own base are read: the server's record alone never picks a path. */
  #owns(uri: string): boolean {
    const base = this.baseUri.endsWith('/') ? this.baseUri : `${this.baseUri}/`;
    return uri.startsWith(base) && !uri.slice(base.length).split(/[/#]/)[0]!.startsWith('..') && !uri.includes('/../');
  }
}

/**
 * A storage-key segment for any string: letters, digits, '.' and '-' stay; every other byte is
 * `_` and two hex digits, so distinct task keys (`a#1`, `a_1`) never share an object.
 */
export function safeSegment(text: string): string {
  const escaped = [...Buffer.from(text, 'utf8')]
    .map((byte) => (/[A-Za-z0-9.-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `_${byte.toString(16).padStart(2, '0')}`))
    .join('');
  return escaped === '.' || escaped === '..' ? escaped.replaceAll('.', '_2e') : escaped;
}
