// Small task results packed together: one append-only file per run attempt on file://, one object
// per batch on gs://. Creating a file per result cost ~0.6 ms per task on a busy disk
// (docs/benchmarks.md, "Stored task results, per task"); appending is a fraction of that, and the
// results that arrive while a batch is being written go together in the next one (group commit),
// with one fdatasync (file://) or one upload (gs://) per batch. A result's promise resolves only
// once its batch is durable, so its task state never reaches the server before its bytes are safe.
//
// An entry is addressed by its pack's URI plus `range=<offset>,<length>` in the fragment:
//   file:///var/lib/fluxo/results/rj-smtr/<run>/1/results.pack#range=1024,42
//   gs://bucket/prefix/rj-smtr/<run>/1/results-3.pack#1712345678901234&range=1024,42
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CodeStorage } from '../storage/code-storage.js';

/** Results up to this size are packed; larger ones keep an object of their own. */
export const PACKED_RESULT_MAX_BYTES = 256 * 1024;
/** A batch stops growing here (a gs:// pack object is read whole on restart). */
export const BATCH_MAX_BYTES = 4 * 1024 * 1024;
/** An idle pack file is closed after this long (a run's results usually come in bursts). */
const IDLE_CLOSE_MS = 2_000;

/** Where a packed entry is: its pack's URI and its byte range. */
export interface PackedLocation {
  packUri: string;
  offset: number;
  length: number;
}

/** The entry URI for a byte range of a pack. */
export function packedUri(packUri: string, offset: number, length: number): string {
  return `${packUri}${packUri.includes('#') ? '&' : '#'}range=${offset},${length}`;
}

/** The pack and range an entry URI names, or null for a URI of a whole object. */
export function parsePackedUri(uri: string): PackedLocation | null {
  const match = /^(.+?)[#&]range=(\d{1,15}),(\d{1,15})$/.exec(uri);
  if (!match) return null;
  return { packUri: match[1]!, offset: Number(match[2]), length: Number(match[3]) };
}

interface Pending {
  bytes: Buffer;
  resolve: (uri: string) => void;
  reject: (error: unknown) => void;
}

/** Batches appends; `write` makes one batch durable and returns each entry's URI. */
abstract class Batcher {
  #queue: Pending[] = [];
  #writing = false;

  /** Resolves with the entry's URI once its batch is durable. */
  append(bytes: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ bytes, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  get busy(): boolean {
    return this.#writing || this.#queue.length > 0;
  }

  protected abstract write(batch: Buffer[]): Promise<string[]>;
  protected abstract idle(): void;

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#queue.length > 0) {
      let bytes = 0;
      let count = 0;
      while (count < this.#queue.length && (count === 0 || bytes + this.#queue[count]!.bytes.length <= BATCH_MAX_BYTES)) bytes += this.#queue[count++]!.bytes.length;
      const batch = this.#queue.splice(0, count);
      try {
        const uris = await this.write(batch.map((entry) => entry.bytes));
        batch.forEach((entry, i) => entry.resolve(uris[i]!));
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    this.#writing = false;
    this.idle();
  }
}

/**
 * One run attempt's pack file: appended with one writev and one fdatasync per batch. The file's
 * directory is fsynced once, when the file is created, so the file itself survives a power loss.
 * Offsets come from the file's size when it is opened, so a pack reopened later (or after a failed
 * write left bytes behind) still gets exact ranges.
 */
export class FilePack extends Batcher {
  readonly #path: string;
  readonly #onIdle: () => void;
  #handle: FileHandle | undefined;
  #size = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(path: string, onIdle: () => void) {
    super();
    this.#path = path;
    this.#onIdle = onIdle;
  }

  protected async write(batch: Buffer[]): Promise<string[]> {
    clearTimeout(this.#timer);
    try {
      const handle = (this.#handle ??= await this.#open());
      const total = batch.reduce((sum, bytes) => sum + bytes.length, 0);
      const { bytesWritten } = await handle.writev(batch);
      if (bytesWritten !== total) throw new Error(`wrote ${bytesWritten} of ${total} bytes to ${this.#path}`);
      await handle.datasync();
      const href = pathToFileURL(this.#path).href;
      return batch.map((bytes) => {
        const uri = packedUri(href, this.#size, bytes.length);
        this.#size += bytes.length;
        return uri;
      });
    } catch (error) {
      // Reopened (and measured) for the next batch: whatever this one left is never pointed at.
      await this.close();
      throw error;
    }
  }

  protected idle(): void {
    this.#timer = setTimeout(() => {
      if (this.busy) return;
      void this.close();
      this.#onIdle();
    }, IDLE_CLOSE_MS);
    this.#timer.unref();
  }

  async #open(): Promise<FileHandle> {
    const dir = dirname(this.#path);
    await mkdir(dir, { recursive: true });
    // Append-only, never through a symbolic link.
    const handle = await open(this.#path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
    try {
      this.#size = (await handle.stat()).size;
      if (this.#size === 0) await fsyncDir(dir);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return handle;
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close().catch(() => undefined);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * One run attempt's packs on object storage: each batch is one create-only object
 * (`results-<tag>-<n>.pack`, pinned to its generation), uploaded before its entries' promises resolve.
 */
export class ObjectPacks extends Batcher {
  readonly #storage: CodeStorage;
  readonly #keyPrefix: string;
  readonly #onIdle: () => void;
  /** Names this process's packs apart from those of an earlier agent process of the same attempt. */
  readonly #tag = randomBytes(6).toString('hex');
  #next = 1;

  /** `keyPrefix` is the attempt's folder, e.g. `rj-smtr/<run>/1/`. */
  constructor(storage: CodeStorage, keyPrefix: string, onIdle: () => void) {
    super();
    this.#storage = storage;
    this.#keyPrefix = keyPrefix;
    this.#onIdle = onIdle;
  }

  protected async write(batch: Buffer[]): Promise<string[]> {
    // Create-only, pinned to the generation it created.
    const { uri } = await this.#storage.put(`${this.#keyPrefix}results-${this.#tag}-${this.#next++}.pack`, Buffer.concat(batch));
    let offset = 0;
    return batch.map((entry) => {
      const entryUri = packedUri(uri, offset, entry.length);
      offset += entry.length;
      return entryUri;
    });
  }

  protected idle(): void {
    this.#onIdle();
  }
}
