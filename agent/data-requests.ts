// The agent's side of a child's fluxo/data requests (sdk/runtime/protocol.ts): `data-file` chunks
// are written to temp files the agent owns, `data-request`s are answered with `data-response`.
// A file source is only ever the agent's own copy of bytes the child streamed: a path the child
// names is never opened here (the child runs another user's code, maybe as another OS user).
// The bytes a run may keep here at once are capped (a hostile flow could otherwise fill the agent's
// disk): past the cap the upload is refused and its partial file deleted at once.
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildMessage, DataResponseMessage } from '../sdk/runtime/protocol.js';

/** Answers one data operation of the run (the agent's data service). Rejects with a DataError-shaped error. */
export type DataRequestHandler = (operation: string, args: Record<string, unknown>, taskKey: string | null, signal: AbortSignal) => Promise<unknown>;

type FileMessage = Extract<ChildMessage, { type: 'data-file' }>;
type RequestMessage = Extract<ChildMessage, { type: 'data-request' }>;

/** Longest base64 text of one chunk (1 MiB of bytes, with room). */
const MAX_CHUNK_CHARS = Math.ceil((1024 * 1024 * 4) / 3) + 8;

/** Bytes of flow files a run may keep at the agent at once when nothing else is said (4 GiB). */
export const DEFAULT_MAX_UPLOAD_BYTES = 4096 * 1024 * 1024;

/** Limits and place of a run's uploads. */
export interface ChildDataRequestsOptions {
  /** Bytes of the run's streamed files the agent keeps at once (files not yet used by a request). @default {@link DEFAULT_MAX_UPLOAD_BYTES} */
  maxUploadBytes?: number;
  /** Where the run's temp directory is created. @default os.tmpdir() */
  tempRoot?: string;
}

interface Upload {
  path: string;
  /** Writes in arrival order. */
  written: Promise<void>;
  complete: boolean;
  error: Error | null;
  /** Why the agent refused the upload (the cap), said to the request as is. */
  refusal: Error | null;
  /** Bytes accepted so far (counted against the cap until the file is removed). */
  bytes: number;
}

/** One child's data requests. */
export class ChildDataRequests {
  readonly #handler: DataRequestHandler | undefined;
  readonly #respond: (message: DataResponseMessage) => Promise<void>;
  readonly #signal: AbortSignal;
  readonly #uploads = new Map<number, Upload>();
  #dir: Promise<string> | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #maxUploadBytes: number;
  readonly #tempRoot: string;
  /** Bytes of this run's uploads on disk (or on their way there). */
  #heldBytes = 0;

  /** Without `handler`, every request fails DATA_NOT_CONFIGURED. */
  constructor(handler: DataRequestHandler | undefined, respond: (message: DataResponseMessage) => Promise<void>, signal: AbortSignal, options: ChildDataRequestsOptions = {}) {
    this.#handler = handler;
    this.#respond = respond;
    this.#signal = signal;
    this.#maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
    this.#tempRoot = options.tempRoot ?? tmpdir();
  }

  /** Bytes of the run's uploads the agent holds now. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Appends a chunk to the upload's temp file; past the run's cap, refuses the upload and deletes its file. */
  file(message: FileMessage): void {
    const { upload: id, chunk, last } = message;
    if (!Number.isInteger(id) || typeof chunk !== 'string' || chunk.length > MAX_CHUNK_CHARS) return;
    let upload = this.#uploads.get(id);
    if (!upload) {
      const dir = this.#tempDir();
      upload = { path: '', written: dir.then((d) => void (upload!.path = join(d, `upload-${id}`))), complete: false, error: null, refusal: null, bytes: 0 };
      this.#uploads.set(id, upload);
    }
    if (upload.complete) return;
    const current = upload;
    if (chunk.length > 0) {
      const bytes = Buffer.from(chunk, 'base64');
      if (this.#heldBytes + bytes.length > this.#maxUploadBytes) {
        this.#refuse(current);
        return;
      }
      this.#heldBytes += bytes.length;
      current.bytes += bytes.length;
      current.written = current.written.then(() => (current.error ? undefined : appendFile(current.path, bytes, { mode: 0o600 }))).catch((error: unknown) => {
        current.error = error as Error;
      });
    } else if (last) {
      // An empty file is a file too.
      current.written = current.written.then(() => (current.error ? undefined : appendFile(current.path, ''))).catch((error: unknown) => {
        current.error = error as Error;
      });
    }
    if (last) current.complete = true;
  }

  /** Answers a request (asynchronously; answers may leave in any order, matched by requestId). */
  request(message: RequestMessage): void {
    const work = this.#answer(message).finally(() => this.#inFlight.delete(work));
    this.#inFlight.add(work);
  }

  /** The cap is reached: the upload ends here, its partial file goes at once, its request will fail. */
  #refuse(upload: Upload): void {
    const mib = this.#maxUploadBytes / (1024 * 1024);
    upload.refusal = dataError(
      'DATA_INVALID_ARGUMENT',
      `the flow's file is too large: a run may keep at most ${Number.isInteger(mib) ? mib : mib.toFixed(2)} MiB of streamed files at the agent at once (the agent's --data-max-upload-mib, FLUXO_DATA_MAX_UPLOAD_MIB); land it in smaller files, or ask the agent's operator to raise the cap`,
    );
    upload.complete = true;
    upload.written = upload.written.then(() => this.#remove(upload));
  }

  /** Deletes an upload's file and gives its bytes back to the run's cap. */
  async #remove(upload: Upload): Promise<void> {
    if (upload.path) await rm(upload.path, { force: true }).catch(() => undefined);
    this.#heldBytes -= upload.bytes;
    upload.bytes = 0;
  }

  /**
   * Waits for requests in flight to end (their signal is aborted by now), at most `waitMs`, then
   * removes the temp files. A run's next attempt should not race its previous one's writes, but
   * an operation that ignores its signal must not hold the run's final state forever either.
   */
  async close(waitMs = 60_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.#inFlight]), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    if (this.#dir) await rm(await this.#dir.catch(() => ''), { recursive: true, force: true }).catch(() => undefined);
  }

  async #answer(message: RequestMessage): Promise<void> {
    const { requestId, operation, args, taskKey } = message;
    const used: number[] = [];
    let answer: DataResponseMessage;
    try {
      if (!this.#handler) throw dataError('DATA_NOT_CONFIGURED', 'this agent has no data settings: start it with --data-config FILE or FLUXO_LAKE / FLUXO_WAREHOUSE / FLUXO_DBT_PROJECT');
      if (typeof args !== 'object' || args === null) throw dataError('DATA_INVALID_ARGUMENT', `${String(operation)}: the arguments must be an object`);
      const resolved = 'source' in args ? { ...args, source: await this.#localSource(args.source, used) } : args;
      const result = await this.#handler(operation, resolved, typeof taskKey === 'string' ? taskKey : null, this.#signal);
      answer = { type: 'data-response', requestId, ok: true, result: result ?? null };
    } catch (error) {
      const { code, message: text } = error as { code?: unknown; message?: unknown };
      answer = {
        type: 'data-response',
        requestId,
        ok: false,
        error: { code: typeof code === 'string' ? code : 'DATA_BACKEND_ERROR', message: typeof text === 'string' ? text : String(error) },
      };
    } finally {
      for (const id of used) {
        const upload = this.#uploads.get(id);
        this.#uploads.delete(id);
        if (upload) await upload.written.then(() => this.#remove(upload));
      }
    }
    await this.#respond(answer).catch(() => undefined);
  }

  /** `{ csv: { upload } }` → `{ csv: { path } }` of the agent's own temp file; anything else naming a file is refused. */
  async #localSource(source: unknown, used: number[]): Promise<unknown> {
    if (typeof source !== 'object' || source === null || Array.isArray(source)) return source;
    const value = source as Record<string, unknown>;
    for (const format of ['csv', 'parquet'] as const) {
      if (value[format] === undefined) continue;
      const id = (value[format] as { upload?: unknown } | null)?.upload;
      const upload = typeof id === 'number' ? this.#uploads.get(id) : undefined;
      if (typeof id !== 'number' || !upload || !upload.complete) {
        throw dataError('DATA_INVALID_ARGUMENT', `the ${format} source's bytes did not arrive (the flow's runtime streams the file before the request)`);
      }
      used.push(id);
      await upload.written;
      if (upload.refusal) throw upload.refusal;
      if (upload.error) throw dataError('DATA_BACKEND_ERROR', `the agent could not store the flow's ${format} file: ${upload.error.message}`);
      return { ...(format === 'csv' && typeof value.delimiter === 'string' ? { delimiter: value.delimiter } : {}), [format]: { path: upload.path } };
    }
    return source;
  }

  #tempDir(): Promise<string> {
    // The agent's own temp directory (0700), never the run's working directory, which the run's user owns.
    this.#dir ??= mkdtemp(join(this.#tempRoot, 'fluxo-data-'));
    return this.#dir;
  }
}

function dataError(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'DataError', code });
}
