// The lake in a Cloud Storage bucket (`gs://bucket[/prefix]`), with the real client.
//
// - Uploads are create-only (`ifGenerationMatch: 0`); an object that a retry of the same attempt
//   wrote is replaced only at the generation the write listed. Anyone else's change in between
//   fails the precondition (HTTP 412) and the write stops with a clear error instead of
//   overwriting blindly.
// - Every object records its writer (`fluxo-owner` metadata), so a foreign object that happens to
//   sit under one of our names is refused rather than replaced.
// - Integrity: the expected MD5 and CRC32C go with the upload (Cloud Storage rejects bytes that do
//   not match them), the client checks the CRC32C it streamed, and the object's stored MD5 and
//   CRC32C are compared with the local file's afterwards (a server that skips the first check, like
//   fake-gcs-server, is still caught). A mismatching object is deleted at its generation.
// - Deletes name the generation listed, so an object replaced since is never deleted.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { File, Storage } from '@google-cloud/storage';
import { DataError, type GoogleSettings } from '../contract.js';
import type { LakeObject, LakeStore, PutOptions } from './lake-store.js';

type GcsModule = typeof import('@google-cloud/storage');
let loading: Promise<GcsModule> | undefined;
// ~250 ms and ~35 MB to import: only a gs:// lake pays it, on first use.
function loadGcs(): Promise<GcsModule> {
  loading ??= import('@google-cloud/storage');
  return loading;
}

/** Objects above this size go up in a resumable upload (retried by chunk), smaller ones in one request. */
const RESUMABLE_ABOVE = 8 * 1024 * 1024;
const OWNER_KEY = 'fluxo-owner';

/** The local file's MD5 and CRC32C, base64, as Cloud Storage reports them. */
export interface FileChecksums {
  md5Hash: string;
  crc32c: string;
}

export interface GcsLakeStoreOptions {
  /** A configured client to use instead of one built from the Google settings (tests add interceptors). */
  storage?: Storage | undefined;
  /** Where downloads for schema reads go. @default os.tmpdir() */
  tempDir?: string | undefined;
  /** Objects larger than this many bytes use a resumable upload. @default 8 MiB */
  resumableAbove?: number | undefined;
}

export class GcsLakeStore implements LakeStore {
  readonly root: string;
  readonly tracksOwners = true;
  readonly #bucket: string;
  /** '' or `prefix/`. */
  readonly #prefix: string;
  readonly #google: GoogleSettings;
  readonly #options: GcsLakeStoreOptions;
  #storage: Promise<Storage> | undefined;

  constructor(bucket: string, prefix: string, google: GoogleSettings = {}, options: GcsLakeStoreOptions = {}) {
    this.#bucket = bucket;
    this.#prefix = prefix === '' ? '' : `${prefix}/`;
    this.#google = google;
    this.#options = options;
    this.root = `gs://${bucket}${prefix === '' ? '' : `/${prefix}`}`;
  }

  uriOf(key: string): string {
    return `gs://${this.#bucket}/${this.#prefix}${key}`;
  }

  async list(prefix: string): Promise<LakeObject[]> {
    const bucket = (await this.#client()).bucket(this.#bucket);
    try {
      const [files] = await bucket.getFiles({ prefix: this.#prefix + prefix, autoPaginate: true });
      return files
        .map((file) => ({
          key: file.name.slice(this.#prefix.length),
          size: Number(file.metadata.size ?? 0),
          generation: file.metadata.generation === undefined ? undefined : String(file.metadata.generation),
          owner: ownerOf(file.metadata.metadata),
        }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    } catch (error) {
      throw gcsError(error, `cannot list ${this.uriOf(prefix)}`);
    }
  }

  async put(localPath: string, key: string, options: PutOptions): Promise<{ bytes: number }> {
    const uri = this.uriOf(key);
    const bucket = (await this.#client()).bucket(this.#bucket);
    const size = (await stat(localPath)).size;
    const local = await fileChecksums(localPath);
    const ifGenerationMatch = options.replaces?.generation === undefined ? 0 : Number(options.replaces.generation);
    let file: File;
    try {
      [file] = await bucket.upload(localPath, {
        destination: this.#prefix + key,
        resumable: size > (this.#options.resumableAbove ?? RESUMABLE_ABOVE),
        validation: 'crc32c',
        // With a generation precondition the request is idempotent, so the client's retries are safe.
        preconditionOpts: { ifGenerationMatch },
        metadata: {
          contentType: key.endsWith('.csv') ? 'text/csv' : 'application/vnd.apache.parquet',
          md5Hash: local.md5Hash,
          crc32c: local.crc32c,
          metadata: { [OWNER_KEY]: options.owner },
        },
      });
    } catch (error) {
      if (statusOf(error) === 412) {
        throw new DataError(
          'DATA_BACKEND_ERROR',
          ifGenerationMatch === 0
            ? `${uri} was created by another writer after this write listed the table (precondition ifGenerationMatch=0 failed); it was not overwritten. Check that no other run writes the same output, then run again`
            : `${uri} was replaced by another writer after this write listed it at generation ${ifGenerationMatch} (precondition failed); it was not overwritten. Check that no other run writes the same output, then run again`,
        );
      }
      if (codeOf(error) === 'FILE_NO_UPLOAD' || /checksum|crc32c|md5/i.test(messageOf(error))) {
        throw new DataError('DATA_BACKEND_ERROR', `${uri}: the uploaded bytes failed their checksum (${messageOf(error)}), so no object was kept under that name. Run again`);
      }
      throw gcsError(error, `cannot upload ${uri}`);
    }
    const mismatch = checksumMismatch(local, { md5Hash: file.metadata.md5Hash, crc32c: file.metadata.crc32c });
    if (mismatch) {
      await file.delete({ ifGenerationMatch: Number(file.metadata.generation) }).catch(() => undefined);
      throw new DataError('DATA_BACKEND_ERROR', `${uri}: the stored object does not match the local file (${mismatch}); it was deleted. Run again`);
    }
    return { bytes: Number(file.metadata.size ?? size) };
  }

  async delete(object: LakeObject): Promise<boolean> {
    const uri = this.uriOf(object.key);
    const file = (await this.#client()).bucket(this.#bucket).file(this.#prefix + object.key);
    try {
      await file.delete(object.generation === undefined ? {} : { ifGenerationMatch: Number(object.generation) });
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      if (statusOf(error) === 412) {
        throw new DataError(
          'DATA_BACKEND_ERROR',
          `${uri} was replaced after it was listed at generation ${object.generation} (precondition failed), so it was not deleted. Check that no other run writes this table's output, then run again`,
        );
      }
      throw gcsError(error, `cannot delete ${uri}`);
    }
  }

  async withLocalCopy<T>(key: string, work: (path: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(this.#options.tempDir ?? tmpdir(), 'fluxo-lake-read-'));
    try {
      const path = join(dir, `${randomBytes(4).toString('hex')}-${key.split('/').pop() ?? 'object'}`);
      try {
        await (await this.#client()).bucket(this.#bucket).file(this.#prefix + key).download({ destination: path, validation: 'crc32c' });
      } catch (error) {
        throw gcsError(error, `cannot download ${this.uriOf(key)}`);
      }
      return await work(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async prune(): Promise<void> {
    // Cloud Storage has no folders to remove.
  }

  #client(): Promise<Storage> {
    if (this.#options.storage) return Promise.resolve(this.#options.storage);
    this.#storage ??= createStorage(this.#google);
    // A failed import must not poison every later call.
    this.#storage.catch(() => (this.#storage = undefined));
    return this.#storage;
  }
}

/**
 * A Storage client for the Google settings: a key file or Application Default Credentials; with
 * an emulator endpoint and no key file, no credentials (and `emulatorToken` as bearer, if set).
 */
export async function createStorage(google: GoogleSettings): Promise<Storage> {
  const { Storage } = await loadGcs();
  const endpoint = google.storageEndpoint === undefined ? undefined : normaliseEndpoint(google.storageEndpoint);
  if (endpoint === undefined) {
    return google.credentialsFile === undefined ? new Storage() : new Storage({ keyFilename: google.credentialsFile });
  }
  const storage =
    google.credentialsFile === undefined
      ? new Storage({ apiEndpoint: endpoint })
      : new Storage({ apiEndpoint: endpoint, keyFilename: google.credentialsFile, useAuthWithCustomEndpoint: true });
  // As storage/gcs-client.ts: the client's JSON API base URL misses `/storage/v1` for custom
  // endpoints while uploads add it (googleapis/nodejs-storage#1314); the real layout fixes both.
  storage.baseUrl = `${endpoint}/storage/v1`;
  const token = google.emulatorToken;
  if (token !== undefined && google.credentialsFile === undefined) {
    // JSON API requests only (uploads bypass interceptors); emulators that check the token read it there.
    storage.interceptors.push({
      request: (options) => ({ ...options, headers: { ...options.headers, authorization: `Bearer ${token}` } }) as ReturnType<Storage['interceptors'][number]['request']>,
    });
  }
  return storage;
}

/** `host:port`, `http://host:port/` or `…/storage/v1` → `http://host:port`. */
function normaliseEndpoint(endpoint: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`;
  return withScheme.replace(/\/+$/, '').replace(/\/storage\/v1$/, '');
}

/** MD5 and CRC32C of a local file, in one read. */
export async function fileChecksums(path: string): Promise<FileChecksums> {
  const { CRC32C } = await loadGcs();
  const crc32c = new CRC32C();
  const md5 = createHash('md5');
  for await (const chunk of createReadStream(path)) {
    crc32c.update(chunk as Buffer);
    md5.update(chunk as Buffer);
  }
  return { md5Hash: md5.digest('base64'), crc32c: crc32c.toString() };
}

/**
 * What differs between a local file's checksums and a stored object's, or null when they agree.
 * A stored object must report at least one of the two (composite objects have no MD5).
 */
export function checksumMismatch(local: FileChecksums, stored: { md5Hash?: string | undefined; crc32c?: string | undefined }): string | null {
  if (stored.md5Hash === undefined && stored.crc32c === undefined) return 'the object reports neither MD5 nor CRC32C';
  const problems: string[] = [];
  if (stored.crc32c !== undefined && stored.crc32c !== local.crc32c) problems.push(`crc32c ${stored.crc32c}, local ${local.crc32c}`);
  if (stored.md5Hash !== undefined && stored.md5Hash !== local.md5Hash) problems.push(`md5 ${stored.md5Hash}, local ${local.md5Hash}`);
  return problems.length === 0 ? null : problems.join('; ');
}

function ownerOf(metadata: unknown): string | undefined {
  const value = (metadata as Record<string, unknown> | undefined)?.[OWNER_KEY];
  return typeof value === 'string' ? value : undefined;
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? 'unknown error';
}

function gcsError(error: unknown, what: string): DataError {
  const status = statusOf(error);
  let hint = '';
  if (status === 401 || status === 403 || /default credentials/i.test(messageOf(error))) {
    hint = '; check the lake credentials (google.credentialsFile or Application Default Credentials) and the bucket IAM roles';
  } else if (status === 404) {
    hint = '; check that the bucket exists';
  }
  return new DataError(status === 404 ? 'DATA_NOT_FOUND' : 'DATA_BACKEND_ERROR', `${what}: ${status === undefined ? '' : `HTTP ${status} `}${messageOf(error)}${hint}`);
}
