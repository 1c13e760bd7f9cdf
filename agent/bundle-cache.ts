// Fetching a flow's bundle and proving it is the code that was registered (DESIGN rule 5): the
// bytes must have the recorded size and sha256, or nothing runs. Two threats shape this module
// (issue 9, findings 4 and 7):
//
// - Flow code may write to the cache (a flow process of the same OS user, or any process with
//   write access to it). So no check is remembered: every run re-hashes the bytes it will run, and
//   runs a private read-only copy written from those very bytes (`checkout`), not the cache file.
//   The digest check therefore holds at every spawn, whatever happened to the cache in between.
// - The storage URI comes from a developer. It must be a canonical location inside this agent's
//   storage roots, and a file:// object must be a regular file reached without leaving the root
//   through a symbolic link. A refused location fails the run (reason `integrity`) with one fixed
//   message, read before any byte of it: nothing about the place (its existence, size, digest)
//   reaches a run's message, which every viewer of the tenant can read.
//
// Verified bundles are cached as `<cacheDir>/<sha256>-<location>.mjs`, keyed by digest and
// location (`.mjs`, so Node loads them as ES modules), written to a temporary name and renamed, so
// a reader never sees half a file. Keying by location too means a version never gets bytes it
// could not have fetched from its own location, and concurrent fetches of one digest from two
// locations never share one outcome.
import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FluxoError } from '../common/errors.js';
import { codeStorageFor, isLocationRefusal, type CodeStorage } from '../storage/code-storage.js';
import { filePlaceAllowed, parseStorageLocation, StorageRoots, type StorageLocation } from '../storage/storage-location.js';

/** The registered identity of a bundle, as the claim answer carries it. */
export interface BundleRef {
  storageUri: string;
  sha256: string;
  size: number;
}

/**
 * The bundle is not the registered code (size or digest differ, the digest is malformed, the
 * storage reports the object replaced or failing its checksum), or its location is refused. The
 * run fails with reason `integrity`; nothing is spawned.
 */
export class IntegrityError extends Error {
  override name = 'IntegrityError';
  readonly code = 'ERR_BUNDLE_INTEGRITY';
  readonly reason = 'integrity';
}

/**
 * The bundle could not be fetched at all (missing object, unreachable storage, over the size
 * limit). The run crashes with reason `load-error`: the code could not be loaded.
 */
export class BundleUnavailableError extends Error {
  override name = 'BundleUnavailableError';
  readonly code = 'ERR_BUNDLE_UNAVAILABLE';
  readonly reason = 'load-error';
}

/** The one message of a refused location: the same whatever the place is, or whether it exists. */
export const LOCATION_REFUSED =
  "the bundle's storage location is refused: it is not a canonical file:/// or gs:// location inside this agent's storage roots, or not a regular file there";
/**
 * The one message of any failure to read a file:// bundle when the agent has no storage roots: it
 * cannot tell the tenant's files from the host's, so whether a host file exists, is readable or is
 * the wrong size must all read alike.
 */
export const UNCONFINED_FILE_FAILED =
  'the bundle could not be read as the registered code; this agent has no storage roots, so it says no more about file:// locations (configure --storage-root)';
/** The one message of bytes that are not the registered ones: no size, no digest of what was read. */
export const NOT_THE_REGISTERED_CODE = 'the bundle is not the registered code: its size or sha256 differs from the registration';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface BundleCacheOptions {
  /** Directory of verified bundles. Created 0755; files 0644, private copies 0444. */
  cacheDir: string;
  /** Largest bundle fetched. */
  maxBytes: number;
  /** Opens the storage an object URI lives in. @default the code storage for the URI's scheme */
  storageFor?: (uri: string) => CodeStorage;
  /** Where bundles may be fetched from. @default unconfined: any canonical file:/// or gs:// location */
  storageRoots?: StorageRoots;
  /** The agent's tenant, for roots naming `{tenant}` (or one tenant); null: only plain roots apply. @default null */
  tenant?: string | null;
}

/** A verified bundle handed to one run: a private, read-only copy of the bytes just hashed. */
export interface CheckedOutBundle {
  /** The copy the child imports. */
  path: string;
  /** Deletes the copy (after the run). */
  release(): Promise<void>;
}

/**
 * Verified bundles on local disk, keyed by digest and location.
 *
 * @example
 * const bundle = await cache.checkout({ storageUri, sha256, size }); // throws IntegrityError on a mismatch or a refused location
 * try { spawn(bundle.path) } finally { await bundle.release() }
 */
export class BundleCache {
  readonly #cacheDir: string;
  readonly #maxBytes: number;
  readonly #storageFor: (uri: string) => CodeStorage;
  readonly #roots: StorageRoots;
  readonly #tenant: string | null;
  /** One fetch per (digest, location) at a time, however many runs of the same bundle start together. */
  readonly #inFlight = new Map<string, Promise<Verified>>();
  /** The one sweep of copies left by an agent that died mid-run (started by the first checkout). */
  #pruned: Promise<void> | undefined;

  constructor(options: BundleCacheOptions) {
    this.#cacheDir = options.cacheDir;
    this.#maxBytes = options.maxBytes;
    this.#storageFor = options.storageFor ?? storageForObject;
    this.#roots = options.storageRoots ?? StorageRoots.parse([]);
    this.#tenant = options.tenant ?? null;
  }

  /** Verifies the bundle (downloading it unless the cache holds its bytes) and returns the cache file's path. */
  async fetch(ref: BundleRef): Promise<string> {
    return (await this.#verified(ref)).path;
  }

  /**
   * Verifies the bundle and writes the verified bytes to a new read-only file for one run. What
   * the child imports is what was hashed: a change to the cache file after the check is never run.
   */
  async checkout(ref: BundleRef): Promise<CheckedOutBundle> {
    const { bytes } = await this.#verified(ref);
    const dir = join(this.#cacheDir, 'checkouts');
    this.#pruned ??= pruneStaleCopies(dir);
    const path = join(dir, `${ref.sha256}-${randomUUID()}.mjs`);
    try {
      await writeFile(path, bytes, { flag: 'wx', mode: 0o444 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // 0711: a run opens the copy it is told about; it can neither list the others nor write any.
      await mkdir(dir, { recursive: true, mode: 0o711 });
      await chmod(dir, 0o711);
      await writeFile(path, bytes, { flag: 'wx', mode: 0o444 });
    }
    return { path, release: () => rm(path, { force: true }) };
  }

  #verified(ref: BundleRef): Promise<Verified> {
    if (!SHA256_HEX.test(ref.sha256)) return Promise.reject(new IntegrityError('the registered sha256 is not 64 lowercase hex digits'));
    if (!Number.isSafeInteger(ref.size) || ref.size < 0) return Promise.reject(new IntegrityError('the registered size is not a byte count'));
    const location = parseStorageLocation(ref.storageUri);
    if (location === null || !this.#roots.allows(this.#tenant, ref.storageUri)) return Promise.reject(new IntegrityError(LOCATION_REFUSED));
    const key = `${ref.sha256}\n${ref.storageUri}`;
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const work = this.#load(ref, location).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, work);
    return work;
  }

  async #load(ref: BundleRef, location: StorageLocation): Promise<Verified> {
    const path = join(this.#cacheDir, `${ref.sha256}-${locationKey(ref.storageUri)}.mjs`);
    const cached = await readCached(path, ref.size);
    if (cached !== null) {
      if (matches(cached, ref)) return { path, bytes: cached };
      // A damaged or tampered cache entry: drop it and download again.
      await rm(path, { force: true });
    }
    const bytes = await this.#download(ref, location).catch((error: unknown) => {
      if (location.scheme === 'file' && !this.#roots.configured) throw new IntegrityError(UNCONFINED_FILE_FAILED, { cause: error });
      throw error;
    });
    await mkdir(this.#cacheDir, { recursive: true, mode: 0o755 });
    const temporary = `${path}.${randomUUID()}.tmp`;
    try {
      await writeFile(temporary, bytes, { flag: 'wx', mode: 0o644 });
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    return { path, bytes };
  }

  async #download(ref: BundleRef, location: StorageLocation): Promise<Uint8Array> {
    if (ref.size > this.#maxBytes) {
      throw new BundleUnavailableError(`bundle ${ref.storageUri} is registered as ${ref.size} bytes, over this agent's ${this.#maxBytes}-byte limit`);
    }
    // The storage opens the object itself without following a link and refuses a non-regular file.
    if (location.scheme === 'file' && !(await filePlaceAllowed(location.path, this.#roots.configured ? this.#roots.rootsOf(this.#tenant) : null))) {
      throw new IntegrityError(LOCATION_REFUSED);
    }
    let bytes: Uint8Array;
    try {
      // One byte over the registered size is enough to prove a mismatch without reading a huge object.
      bytes = await this.#storageFor(ref.storageUri).get(ref.storageUri, { maxBytes: Math.min(ref.size + 1, this.#maxBytes) });
    } catch (error) {
      if (isLocationRefusal(error)) throw new IntegrityError(LOCATION_REFUSED, { cause: error });
      if (error instanceof FluxoError && error.code === 'BAD_USER_INPUT' && /over the \d+-byte limit/.test(error.message)) {
        throw new IntegrityError(NOT_THE_REGISTERED_CODE, { cause: error });
      }
      // The storage's word that the object is not the registered one (gs://: replaced since
      // registration, or failing CRC32C), as opposed to merely unreachable.
      if (error instanceof FluxoError && error.code === 'VERSION_CONFLICT') {
        throw new IntegrityError('the bundle at its registered location was replaced since registration or failed its CRC32C check', { cause: error });
      }
      throw new BundleUnavailableError(`cannot fetch bundle ${ref.storageUri}: ${(error as Error).message}`, { cause: error });
    }
    if (!matches(bytes, ref)) throw new IntegrityError(NOT_THE_REGISTERED_CODE);
    return bytes;
  }
}

/** A run imports its copy when it starts; one older than this belongs to an agent that died. */
const STALE_COPY_MS = 60 * 60 * 1000;

/** Deletes copies older than an hour (best effort: another agent may share the directory). */
async function pruneStaleCopies(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => []);
  const cutoff = Date.now() - STALE_COPY_MS;
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (info && info.mtimeMs < cutoff) await rm(path, { force: true }).catch(() => undefined);
  }
}

interface Verified {
  /** The cache file. */
  path: string;
  /** Its bytes, as hashed. */
  bytes: Uint8Array;
}

/**
 * The cached file's bytes, or null when there is none usable. Whoever could write the cache is not
 * trusted either: a link is not followed, a FIFO not waited on, and a file of another size is not
 * read at all (it cannot be the bundle).
 */
async function readCached(path: string, size: number): Promise<Uint8Array | null> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (handle === null) return null;
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size !== size) return null;
    const buffer = Buffer.alloc(size);
    const { bytesRead } = await handle.read(buffer, 0, size, 0);
    return bytesRead === size ? buffer : null;
  } finally {
    await handle.close();
  }
}

/** Whether `bytes` has the registered size and sha256. */
function matches(bytes: Uint8Array, ref: Pick<BundleRef, 'sha256' | 'size'>): boolean {
  return bytes.byteLength === ref.size && createHash('sha256').update(bytes).digest('hex') === ref.sha256;
}

/** Throws IntegrityError unless `bytes` has the registered size and sha256. */
export function verify(bytes: Uint8Array, ref: Pick<BundleRef, 'sha256' | 'size'>): void {
  if (!matches(bytes, ref)) throw new IntegrityError(NOT_THE_REGISTERED_CODE);
}

/** 16 hex digits naming a location in cache file names. */
function locationKey(uri: string): string {
  return createHash('sha256').update(uri).digest('hex').slice(0, 16);
}

/** The storage that holds an object URI: `file:///a/b` lives in `file:///`, `gs://bucket/x` in `gs://bucket`. */
export function storageForObject(uri: string): CodeStorage {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (error) {
    throw new BundleUnavailableError(`storage URI "${uri}" is not a URI`, { cause: error });
  }
  return codeStorageFor(url.protocol === 'file:' ? 'file:///' : `${url.protocol}//${url.host}`);
}
