// A run's outgoing entries (task states and log lines) as one ordered queue that stays small in
// memory: the first `memoryEntries` wait in memory, and once that many wait, later ones are
// appended to JSONL files on disk (`<dir>/<name>.<n>.jsonl`, segments of a few MiB) until the queue
// drains again. Bytes on disk are bounded by a budget shared by all runs of an agent; entries past
// it are refused (the caller counts them) unless they are `required`.
//
// File I/O is synchronous on purpose: entries arrive synchronously (IPC and stdout callbacks) and
// must keep their order, writes go out in chunks of ~64 KiB to the page cache, and reads happen one
// batch at a time.
//
// A run's spool with a `header` can outlive the agent process (agent/PROTOCOL.md, "Spool and
// recovery"): the header is written as `<name>.run.json` next to the first file, the position of
// the last acknowledged entry read from a file as `<name>.ack`, and a restarted agent delivers what
// lies past it (late-delivery.ts). Entries that never reached a file (memory, a chunk not yet
// written) die with the process; with a header, the entries waiting in memory go to the file too
// once the queue spills, so only a batch in flight can be lost.
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** What a restarted agent needs to deliver a run's spool late (`<name>.run.json`). */
export interface SpoolHeader {
  /** Format version. */
  v: 1;
  flowRunId: string;
  /** The run attempt the entries belong to. */
  attempt: number;
  /** The agent name (on the server: tenant + name = agent id) that held the attempt. */
  agentName: string;
}

/** Where a run's acknowledged entries end: the file number and the byte offset in it (`<name>.ack`). */
export interface SpoolMark {
  segment: number;
  offset: number;
}

/** Suffix of a spool's header file. */
export const SPOOL_HEADER_SUFFIX = '.run.json';
/** Suffix of a spool's acknowledgement mark. */
export const SPOOL_MARK_SUFFIX = '.ack';

/** Writes `text` to `path` so that a crash leaves the old or the new content, never a mix (fsync, then rename). */
export function writeFileAtomic(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** Bytes on disk (and about to be written) that all spools of one agent may use together. */
export class SpoolBudget {
  /** The bound. 0 means nothing is written to disk. */
  readonly maxBytes: number;
  #used = 0;

  constructor(maxBytes: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 0) throw new TypeError(`maxBytes must be a whole number >= 0, got ${maxBytes}`);
    this.maxBytes = maxBytes;
  }

  /** Bytes in use now, across the agent's runs. */
  get usedBytes(): number {
    return this.#used;
  }

  /** Takes `bytes` from the budget; false when they do not fit (always true when `required`). */
  reserve(bytes: number, required = false): boolean {
    if (!required && this.#used + bytes > this.maxBytes) return false;
    this.#used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

export interface RunSpoolOptions<T> {
  /** Directory of the spool files (created on first use). */
  dir: string;
  /** File name stem, e.g. the run id. */
  name: string;
  budget: SpoolBudget;
  /** Entries kept in memory before the queue spills to disk. @default 2000 */
  memoryEntries?: number;
  /** Spilled entries are written in chunks of about this size. @default 65536 */
  chunkBytes?: number;
  /** A file is closed and a new one started past this size, so read files can be removed early. @default 8388608 */
  segmentBytes?: number;
  /** The queue began spilling: the first file was created. */
  onSpill?: (path: string) => void;
  /** Every spilled entry was read back and the last file removed. */
  onDrained?: (bytes: number) => void;
  /** Writing or reading a file failed; `lost` entries are gone. */
  onError?: (error: Error, lost: T[]) => void;
  /** Makes the files deliverable by a restarted agent (written as `<name>.run.json` with the first file). @default none: the files die with the process */
  header?: SpoolHeader;
}

interface Segment {
  /** The number in its name. */
  sequence: number;
  path: string;
  fd: number;
  /** Bytes written. */
  size: number;
  /** Bytes read back. */
  readOffset: number;
  /** Entries written, and read back. */
  entries: number;
  entriesRead: number;
}

interface PendingEntry<T> {
  entry: T;
  text: string;
  bytes: number;
}

const READ_CHUNK_BYTES = 1024 * 1024;
/** How long a short chunk of a spool with a header may wait in memory. */
const WRITE_DELAY_MS = 50;
const NEWLINE = 0x0a;

/**
 * An ordered queue of JSON-serializable entries: memory first, then files, then a chunk waiting to
 * be written. `take` always returns the oldest entries.
 *
 * @example
 * const spool = new RunSpool({ dir: '/var/lib/fluxo-agent/spool', name: runId, budget: new SpoolBudget(256 * 2 ** 20) });
 * spool.push({ line }); const batch = spool.take(1000);
 */
export class RunSpool<T> {
  readonly #options: RunSpoolOptions<T>;
  readonly #memoryEntries: number;
  readonly #chunkBytes: number;
  readonly #segmentBytes: number;
  #memory: T[] = [];
  #segments: Segment[] = [];
  #pending: PendingEntry<T>[] = [];
  #pendingBytes = 0;
  #length = 0;
  #sequence = 0;
  /** Bytes that went through files since the queue last began spilling. */
  #spilledBytes = 0;
  #discarded = false;
  #headerWritten = false;
  /** Where the last `take` stopped reading files (null: it read none). */
  #takenMark: SpoolMark | null = null;
  #writeTimer: NodeJS.Timeout | undefined;
  /** `retain` kept the files for late delivery: nothing of this spool removes them any more. */
  #retained = false;

  constructor(options: RunSpoolOptions<T>) {
    this.#options = options;
    this.#memoryEntries = options.memoryEntries ?? 2_000;
    this.#chunkBytes = options.chunkBytes ?? 64 * 1024;
    this.#segmentBytes = options.segmentBytes ?? 8 * 1024 * 1024;
  }

  /** Entries waiting. */
  get length(): number {
    return this.#length;
  }

  /** Bytes this queue holds on disk or about to write (counted in the budget). */
  get bytes(): number {
    return this.#segments.reduce((sum, segment) => sum + segment.size, 0) + this.#pendingBytes;
  }

  /** The files holding entries right now. */
  get paths(): string[] {
    return this.#segments.map((segment) => segment.path);
  }

  /** Where the last `take` stopped reading files, or null when it read none: pass it to `acknowledge` once that batch is delivered. */
  get takenMark(): SpoolMark | null {
    return this.#takenMark;
  }

  /**
   * Records durably (fsync, rename) that entries up to `mark` were delivered, so a restarted agent
   * does not deliver them again. Only spools with a header keep marks.
   */
  acknowledge(mark: SpoolMark | null): void {
    if (mark === null || !this.#options.header || this.#discarded || this.#segments.length === 0) return;
    try {
      writeFileAtomic(join(this.#options.dir, `${this.#options.name}${SPOOL_MARK_SUFFIX}`), JSON.stringify(mark));
    } catch (error) {
      // Not fatal: a restart would deliver these entries again, and the server's batch ids drop repeats of late batches only.
      this.#options.onError?.(error as Error, []);
    }
  }

  /** Whether `entry` would be accepted now without being `required`. */
  fits(entry: T): boolean {
    if (this.#inMemory()) return true;
    return this.#options.budget.usedBytes + serializedBytes(entry) <= this.#options.budget.maxBytes;
  }

  /**
   * Appends an entry. Returns false when it was refused: the budget is spent (and it is not
   * `required`), or the spool was discarded.
   */
  push(entry: T, required = false): boolean {
    if (this.#discarded) return false;
    if (this.#inMemory()) {
      this.#memory.push(entry);
      this.#length++;
      return true;
    }
    const text = `${JSON.stringify(entry)}\n`;
    const bytes = Buffer.byteLength(text);
    if (!this.#options.budget.reserve(bytes, required)) return false;
    if (this.#options.header && this.#memory.length > 0 && this.#segments.length === 0 && this.#pending.length === 0) this.#spillMemory();
    this.#pending.push({ entry, text, bytes });
    this.#pendingBytes += bytes;
    this.#length++;
    if (this.#pendingBytes >= this.#chunkBytes) this.#writePending();
    else if (this.#options.header) this.#writeSoon();
    return true;
  }

  /** Removes and returns up to `max` of the oldest entries. */
  take(max: number): T[] {
    const taken: T[] = this.#memory.length > 0 ? this.#memory.splice(0, max) : [];
    this.#takenMark = null;
    while (taken.length < max && this.#segments.length > 0) {
      const segment = this.#segments[0]!;
      this.#readInto(segment, taken, max);
      this.#takenMark = { segment: segment.sequence, offset: segment.readOffset };
      if (segment.readOffset < segment.size) break;
      this.#removeSegment(segment);
      this.#segments.shift();
      if (this.#segments.length === 0 && this.#pending.length === 0) this.#drained();
    }
    if (taken.length < max && this.#segments.length === 0 && this.#pending.length > 0) {
      const direct = this.#pending.splice(0, max - taken.length);
      const bytes = direct.reduce((sum, item) => sum + item.bytes, 0);
      this.#pendingBytes -= bytes;
      this.#options.budget.release(bytes);
      for (const item of direct) taken.push(item.entry);
      if (this.#pending.length === 0 && this.#spilledBytes > 0) this.#drained();
    }
    this.#length -= taken.length;
    return taken;
  }

  /** Drops everything and removes the files; later pushes are refused. */
  discard(): void {
    this.#discarded = true;
    clearTimeout(this.#writeTimer);
    for (const segment of this.#segments) this.#removeSegment(segment);
    this.#segments = [];
    this.#options.budget.release(this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#memory = [];
    this.#length = 0;
    this.#removeRecoveryFiles();
  }

  /**
   * Stops taking entries but keeps what is queued for late delivery (the run's lease is gone, and
   * the attempt was this agent's): what waits in memory or in an unwritten chunk is written, the
   * files, header and mark stay, and the budget lets go of them. Without a header, or with nothing
   * queued, it discards instead. Returns whether files were kept (again true once kept).
   */
  retain(): boolean {
    if (this.#retained) return true;
    if (this.#discarded) return false;
    if (!this.#options.header || this.#length === 0) {
      this.discard();
      return false;
    }
    clearTimeout(this.#writeTimer);
    // With a header, entries wait in memory only while nothing is on disk or pending: they come first.
    if (this.#memory.length > 0) this.#spillMemory();
    this.#writePending();
    this.#discarded = true;
    this.#retained = true;
    for (const segment of this.#segments) {
      try {
        closeSync(segment.fd);
      } catch {
        // already closed
      }
      this.#options.budget.release(segment.size);
    }
    this.#segments = [];
    this.#length = 0;
    return this.#headerWritten;
  }

  /** New entries may stay in memory only while nothing is queued behind memory. */
  #inMemory(): boolean {
    return this.#segments.length === 0 && this.#pending.length === 0 && this.#memory.length < this.#memoryEntries;
  }

  /**
   * With a header, a chunk short of `chunkBytes` is written within WRITE_DELAY_MS anyway: the tail
   * of a run that ends while the server is out of reach (its last lines, its final task states) is
   * exactly what a restarted agent must find on disk.
   */
  #writeSoon(): void {
    this.#writeTimer ??= setTimeout(() => {
      this.#writeTimer = undefined;
      if (!this.#discarded) this.#writePending();
    }, WRITE_DELAY_MS);
    this.#writeTimer.unref();
  }

  #writePending(): void {
    if (this.#pending.length === 0) return;
    const chunk = Buffer.from(this.#pending.map((item) => item.text).join(''));
    try {
      let segment = this.#segments.at(-1);
      if (!segment || segment.size >= this.#segmentBytes) segment = this.#openSegment();
      for (let written = 0; written < chunk.length; ) {
        written += writeSync(segment.fd, chunk, written, chunk.length - written, segment.size + written);
      }
      segment.size += chunk.length;
      segment.entries += this.#pending.length;
      this.#spilledBytes += chunk.length;
    } catch (error) {
      // A full or unwritable disk: these entries are lost; the caller counts them.
      this.#options.budget.release(chunk.length);
      this.#length -= this.#pending.length;
      this.#options.onError?.(error as Error, this.#pending.map((item) => item.entry));
    }
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  /**
   * The queue begins spilling with a header: what waits in memory goes to the file first (it is
   * older than what spills), so a restarted agent finds all of it. Reserved as required: these
   * entries were accepted already.
   */
  #spillMemory(): void {
    for (const entry of this.#memory) {
      const text = `${JSON.stringify(entry)}\n`;
      const bytes = Buffer.byteLength(text);
      this.#options.budget.reserve(bytes, true);
      this.#pending.push({ entry, text, bytes });
      this.#pendingBytes += bytes;
    }
    this.#memory = [];
  }

  #openSegment(): Segment {
    mkdirSync(this.#options.dir, { recursive: true });
    const sequence = ++this.#sequence;
    const path = join(this.#options.dir, `${this.#options.name}.${sequence}.jsonl`);
    if (this.#options.header && !this.#headerWritten) {
      writeFileAtomic(join(this.#options.dir, `${this.#options.name}${SPOOL_HEADER_SUFFIX}`), `${JSON.stringify(this.#options.header)}\n`);
      this.#headerWritten = true;
    }
    const segment: Segment = { sequence, path, fd: openSync(path, 'w+', 0o600), size: 0, readOffset: 0, entries: 0, entriesRead: 0 };
    const first = this.#segments.length === 0;
    this.#segments.push(segment);
    if (first && this.#spilledBytes === 0) this.#options.onSpill?.(path);
    return segment;
  }

  /** Parses whole lines from `segment` into `into` until it holds `max` or the segment is read. */
  #readInto(segment: Segment, into: T[], max: number): void {
    let chunkSize = READ_CHUNK_BYTES;
    while (into.length < max && segment.readOffset < segment.size) {
      const length = Math.min(chunkSize, segment.size - segment.readOffset);
      const buffer = Buffer.allocUnsafe(length);
      let read: number;
      try {
        read = readSync(segment.fd, buffer, 0, length, segment.readOffset);
      } catch (error) {
        // The rest of this file is lost.
        this.#length -= segment.entries - segment.entriesRead;
        segment.readOffset = segment.size;
        this.#options.onError?.(error as Error, []);
        return;
      }
      let start = 0;
      while (into.length < max) {
        const end = buffer.indexOf(NEWLINE, start);
        if (end === -1 || end >= read) break;
        const text = buffer.toString('utf8', start, end);
        start = end + 1;
        segment.entriesRead++;
        try {
          into.push(JSON.parse(text) as T);
        } catch (error) {
          // Only a damaged disk gets here: lose that line, keep the rest.
          this.#length--;
          this.#options.onError?.(error as Error, []);
        }
      }
      segment.readOffset += start;
      // A line longer than the chunk: read more at once.
      if (start === 0) chunkSize *= 2;
    }
  }

  #removeSegment(segment: Segment): void {
    try {
      closeSync(segment.fd);
    } catch {
      // already closed
    }
    rmSync(segment.path, { force: true });
    this.#options.budget.release(segment.size);
  }

  /** Nothing waits on disk any more: the header and the mark go too (a later spill writes the header again). */
  #removeRecoveryFiles(): void {
    if (!this.#options.header || !this.#headerWritten || this.#retained) return;
    this.#headerWritten = false;
    rmSync(join(this.#options.dir, `${this.#options.name}${SPOOL_MARK_SUFFIX}`), { force: true });
    rmSync(join(this.#options.dir, `${this.#options.name}${SPOOL_HEADER_SUFFIX}`), { force: true });
  }

  #drained(): void {
    this.#removeRecoveryFiles();
    const bytes = this.#spilledBytes;
    this.#spilledBytes = 0;
    if (bytes > 0) this.#options.onDrained?.(bytes);
  }
}

function serializedBytes(entry: unknown): number {
  return Buffer.byteLength(JSON.stringify(entry)) + 1;
}
