// Code storage in a Google Cloud Storage bucket (production). Objects are written create-only
// (`ifGenerationMatch: 0`) and every URI handed out pins the object's generation
// (`gs://bucket/name#generation`), so a registered flow version names one immutable set of bytes:
// if the object is later overwritten, reading the pinned URI fails instead of returning the new
// bytes. Reads check the size from metadata before downloading and verify CRC32C; the agent's
// bundle cache then checks the registered size and sha256 (DESIGN rule 5). See docs/code-storage.md.
import type { File, FileMetadata, Storage } from '@google-cloud/storage';
import { FluxoError, type ErrorCode } from '../common/errors.js';
import type { CodeStorage } from './code-storage.js';
import { gcsClient, loadGcsModule } from './gcs-client.js';
import { formatGcsUri, isObjectName, parseGcsUri, type GcsLocation } from './gcs-uri.js';

export interface GcsCodeStorageOptions {
  /**
   * An emulator's endpoint (`http://127.0.0.1:4443`); requests to it carry no credentials.
   * @default process.env.STORAGE_EMULATOR_HOST, else Google's endpoint with Application Default Credentials
   */
  apiEndpoint?: string | undefined;
  /** A configured client to use instead of the shared one (explicit credentials, interceptors). */
  storage?: Storage | undefined;
}

/**
 * Bundles in `gs://bucket/prefix`.
 *
 * @example
 * const storage = new GcsCodeStorage('gs://fluxo-code/rj-escritorio');
 * const { uri } = await storage.put(`bundles/${sha256}.mjs`, bytes); // gs://fluxo-code/rj-escritorio/bundles/<sha256>.mjs#1712345678901234
 * const bytes = await storage.get(uri, { maxBytes: 50 * 1024 * 1024 });
 */
export class GcsCodeStorage implements CodeStorage {
  readonly baseUri: string;
  readonly #bucket: string;
  /** '' or `prefix/`. */
  readonly #prefix: string;
  readonly #options: GcsCodeStorageOptions;

  constructor(baseUri: string, options: GcsCodeStorageOptions = {}) {
    const base = parseGcsUri(baseUri);
    if (base.generation !== undefined) {
      throw new FluxoError('BAD_USER_INPUT', `code storage "${baseUri}" names an object generation; use gs://bucket or gs://bucket/prefix`);
    }
    this.#bucket = base.bucket;
    this.#prefix = base.name === '' ? '' : `${base.name}/`;
    this.#options = options;
    this.baseUri = formatGcsUri({ bucket: base.bucket, name: base.name });
  }

  async put(key: string, bytes: Uint8Array): Promise<{ uri: string; created: boolean }> {
    if (!isObjectName(key)) throw new TypeError(`invalid storage key "${key}"`);
    const location: GcsLocation = { bucket: this.#bucket, name: this.#prefix + key };
    const what = formatGcsUri(location);
    const file = (await this.#storage()).bucket(location.bucket).file(location.name);
    const crc32c = await crc32cOf(bytes);

    try {
      // One multipart request (resumable: false): bundles are small, and the precondition makes it
      // create-only, so the client may retry it safely after a lost response.
      await file.save(asBuffer(bytes), {
        resumable: false,
        validation: 'crc32c',
        preconditionOpts: { ifGenerationMatch: 0 },
        metadata: { contentType: contentTypeOf(key) },
      });
    } catch (error) {
      if (statusOf(error) !== 412) throw storageError(error, `cannot upload ${what}`);
      return this.#adopt(file, location, bytes, crc32c);
    }
    const generation = file.metadata.generation;
    if (generation === undefined) throw new FluxoError('SERVICE_UNAVAILABLE', `uploaded ${what}, but Cloud Storage did not say which generation it created`);
    return { uri: formatGcsUri({ ...location, generation: String(generation) }), created: true };
  }

  /**
   * The key exists. Keys are content hashes, so it should hold these very bytes: prove it (size and
   * CRC32C) before handing out its generation, rather than pinning someone else's object.
   */
  async #adopt(file: File, location: GcsLocation, bytes: Uint8Array, crc32c: string): Promise<{ uri: string; created: boolean }> {
    const what = formatGcsUri(location);
    let existing: FileMetadata;
    try {
      [existing] = await file.getMetadata();
    } catch (error) {
      throw storageError(error, `${what} exists but its metadata cannot be read`);
    }
    if (Number(existing.size) !== bytes.byteLength || existing.crc32c !== crc32c) {
      throw new FluxoError(
        'VERSION_CONFLICT',
        `${what} already exists with different content (${existing.size} bytes, crc32c ${existing.crc32c}; uploading ${bytes.byteLength} bytes, crc32c ${crc32c}); content-addressed objects are never replaced, so delete it before registering again`,
      );
    }
    return { uri: formatGcsUri({ ...location, generation: String(existing.generation) }), created: false };
  }

  async get(uri: string, options: { maxBytes: number }): Promise<Uint8Array> {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) throw new TypeError(`maxBytes ${options.maxBytes} is not a byte count`);
    const location = parseGcsUri(uri);
    if (location.bucket !== this.#bucket) {
      throw new FluxoError('BAD_USER_INPUT', `${uri} is not in this code storage's bucket "${this.#bucket}"`);
    }
    if (location.name === '') throw new FluxoError('BAD_USER_INPUT', `${uri} names a bucket, not an object`);
    const bucket = (await this.#storage()).bucket(location.bucket);

    let metadata: FileMetadata;
    try {
      [metadata] = await bucket.file(location.name, { generation: location.generation }).getMetadata();
    } catch (error) {
      if (statusOf(error) === 404) throw await this.#explainMissing(bucket.file(location.name), location, uri);
      throw storageError(error, `cannot read the metadata of ${uri}`);
    }
    const size = Number(metadata.size);
    if (size > options.maxBytes) {
      // Same wording as the file storage: the bundle cache reads "over the N-byte limit" as "larger than registered".
      throw new FluxoError('BAD_USER_INPUT', `bundle ${uri} is ${size} bytes, over the ${options.maxBytes}-byte limit`);
    }
    // A URI without a generation (registered by hand) is read at the generation just measured, so
    // the size check and the bytes refer to the same object even if it is replaced meanwhile.
    const generation = location.generation ?? String(metadata.generation);

    let contents: Buffer;
    try {
      [contents] = await bucket.file(location.name, { generation }).download({ validation: 'crc32c' });
    } catch (error) {
      if (codeOf(error) === 'CONTENT_DOWNLOAD_MISMATCH') {
        throw new FluxoError('VERSION_CONFLICT', `bundle ${uri} failed its CRC32C check while downloading: the bytes received are not the stored ones`, { cause: error });
      }
      if (statusOf(error) === 404) throw await this.#explainMissing(bucket.file(location.name), { ...location, generation }, uri);
      throw storageError(error, `cannot download ${uri}`);
    }
    // The client checks the stream against the response's x-goog-hash, but skips the check when the
    // response lacks x-goog-stored-content-encoding (a proxy that drops x-goog-* headers); the
    // CRC32C in the pinned generation's metadata is checked regardless.
    const received = await crc32cOf(contents);
    if (contents.byteLength !== size || metadata.crc32c === undefined || received !== metadata.crc32c) {
      throw new FluxoError(
        'VERSION_CONFLICT',
        `bundle ${uri} failed its CRC32C check: received ${contents.byteLength} bytes with crc32c ${received}, stored ${size} bytes with crc32c ${metadata.crc32c ?? '(none)'}`,
      );
    }
    return contents;
  }

  /** NOT_FOUND when no object has the name; VERSION_CONFLICT when it exists at another generation. */
  async #explainMissing(live: File, location: GcsLocation, uri: string): Promise<FluxoError> {
    if (location.generation === undefined) {
      return new FluxoError('NOT_FOUND', `bundle ${uri} not found: no object "${location.name}" in bucket "${location.bucket}"`);
    }
    try {
      const [current] = await live.getMetadata();
      return new FluxoError(
        'VERSION_CONFLICT',
        `bundle ${uri} was replaced: object "${location.name}" now has generation ${current.generation}, not the registered ${location.generation}; register the flow again to run the new content`,
      );
    } catch (error) {
      if (statusOf(error) === 404) {
        return new FluxoError('NOT_FOUND', `bundle ${uri} not found: no object "${location.name}" in bucket "${location.bucket}" (deleted, or a bucket that does not exist)`);
      }
      return storageError(error, `cannot read the metadata of ${uri}`);
    }
  }

  async #storage(): Promise<Storage> {
    return this.#options.storage ?? gcsClient(this.#options.apiEndpoint);
  }
}

/** Base64 of the big-endian CRC32C, as GCS metadata and x-goog-hash carry it. */
async function crc32cOf(bytes: Uint8Array): Promise<string> {
  const { CRC32C } = await loadGcsModule();
  const crc32c = new CRC32C();
  crc32c.update(asBuffer(bytes));
  return crc32c.toString();
}

/** A Buffer view of the same memory, no copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function contentTypeOf(key: string): string {
  return /\.m?js$/.test(key) ? 'text/javascript' : 'application/octet-stream';
}

/** The HTTP status of a client error (ApiError.code is the status), or undefined. */
function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A client failure as a FluxoError with a code an operator can act on; the original is the cause. */
function storageError(error: unknown, what: string): FluxoError {
  const status = statusOf(error);
  const message = firstLine(error);
  let code: ErrorCode;
  let hint = '';
  if (status === 401 || status === 403 || /could not load the default credentials/i.test(message)) {
    code = 'FORBIDDEN';
    hint = '; check GOOGLE_APPLICATION_CREDENTIALS (or the workload identity) and the bucket IAM roles';
  } else if (status === 404) {
    code = 'NOT_FOUND';
  } else if (status === 412) {
    code = 'VERSION_CONFLICT';
  } else if (status === 400) {
    code = 'BAD_USER_INPUT';
  } else {
    // 408, 429, 5xx and network failures (ECONNREFUSED, ETIMEDOUT, ...), after the client's own retries.
    code = 'SERVICE_UNAVAILABLE';
  }
  return new FluxoError(code, `${what}: ${status === undefined ? '' : `HTTP ${status} `}${message}${hint}`, { cause: error });
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? 'unknown error';
}
