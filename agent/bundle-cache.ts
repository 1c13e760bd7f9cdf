// Fetching a flow's bundle and proving it is the code that was registered (DESIGN rule 5): the
// bytes must have the recorded size and sha256, or nothing runs. Verified bundles are cached by
// digest as `<cacheDir>/<sha256>.mjs` (`.mjs`, so Node loads them as ES modules wherever the
// cache lives), written to a temporary name and renamed, so a reader never sees half a file.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FluxoError } from '../common/errors.js';
import { codeStorageFor, type CodeStorage } from '../storage/code-storage.js';

/** The registered identity of a bundle, as the claim answer carries it. */
export interface BundleRef {
  storageUri: string;
  sha256: string;
  size: number;
}

/**
 * The downloaded bytes are not the registered ones (size or digest differ, the digest is
 * malformed, or the storage reports the object replaced or failing its checksum). The run fails
 * with reason `integrity`; nothing is spawned.
 */
export class IntegrityError extends Error {
  override name = 'IntegrityError';
  readonly code = 'ERR_BUNDLE_INTEGRITY';
  readonly reason = 'integrity';
}

/**
 * The bundle could not be fetched at all (missing object, unsupported scheme, over the size
 * limit). The run crashes with reason `load-error`: the code could not be loaded.
 */
export class BundleUnavailableError extends Error {
  override name = 'BundleUnavailableError';
  readonly code = 'ERR_BUNDLE_UNAVAILABLE';
  readonly reason = 'load-error';
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface BundleCacheOptions {
  /** Directory of verified bundles. */
  cacheDir: string;
  /** Largest bundle fetched. */
  maxBytes: number;
  /** Opens the storage an object URI lives in. @default the code storage for the URI's scheme */
  storageFor?: (uri: string) => CodeStorage;
}

/**
 * Verified bundles on local disk, keyed by digest.
 *
 * @example const path = await cache.fetch({ storageUri, sha256, size }) // throws IntegrityError on a mismatch
 */
export class BundleCache {
  readonly #cacheDir: string;
  readonly #maxBytes: number;
  readonly #storageFor: (uri: string) => CodeStorage;
  /** Files this process verified, with the size and mtime they had then: re-hash only when they change. */
  readonly #verified = new Map<string, { size: number; mtimeMs: number }>();
  /** One download per digest at a time, however many runs of the same bundle start together. */
  readonly #inFlight = new Map<string, Promise<string>>();

  constructor(options: BundleCacheOptions) {
    this.#cacheDir = options.cacheDir;
    this.#maxBytes = options.maxBytes;
    this.#storageFor = options.storageFor ?? storageForObject;
  }

  /** Returns the local path of the verified bundle, downloading it unless a verified copy is cached. */
  async fetch(ref: BundleRef): Promise<string> {
    if (!SHA256_HEX.test(ref.sha256)) throw new IntegrityError(`registered sha256 "${ref.sha256}" is not 64 lowercase hex digits`);
    if (!Number.isSafeInteger(ref.size) || ref.size < 0) throw new IntegrityError(`registered size ${ref.size} is not a byte count`);
    const pending = this.#inFlight.get(ref.sha256);
    if (pending) return pending;
    const work = this.#fetch(ref).finally(() => this.#inFlight.delete(ref.sha256));
    this.#inFlight.set(ref.sha256, work);
    return work;
  }

  async #fetch(ref: BundleRef): Promise<string> {
    const path = join(this.#cacheDir, `${ref.sha256}.mjs`);
    if (await this.#isVerifiedCopy(path, ref)) return path;

    if (ref.size > this.#maxBytes) {
      throw new BundleUnavailableError(`bundle ${ref.storageUri} is registered as ${ref.size} bytes, over this agent's ${this.#maxBytes}-byte limit`);
    }
    let bytes: Uint8Array;
    try {
      // One byte over the registered size is enough to prove a mismatch without reading a huge object.
      bytes = await this.#storageFor(ref.storageUri).get(ref.storageUri, { maxBytes: Math.min(ref.size + 1, this.#maxBytes) });
    } catch (error) {
      if (error instanceof FluxoError && error.code === 'BAD_USER_INPUT' && /over the \d+-byte limit/.test(error.message)) {
        throw new IntegrityError(`bundle ${ref.storageUri} is larger than its registered ${ref.size} bytes`, { cause: error });
      }
      // The storage's word that the object is not the registered one (gs://: replaced since
      // registration, or failing CRC32C), as opposed to merely unreachable.
      if (error instanceof FluxoError && error.code === 'VERSION_CONFLICT') {
        throw new IntegrityError(`bundle ${ref.storageUri} is not the registered object: ${error.message}`, { cause: error });
      }
      throw new BundleUnavailableError(`cannot fetch bundle ${ref.storageUri}: ${(error as Error).message}`, { cause: error });
    }
    verify(bytes, ref);

    await mkdir(this.#cacheDir, { recursive: true });
    const temporary = `${path}.${randomUUID()}.tmp`;
    try {
      await writeFile(temporary, bytes, { flag: 'wx', mode: 0o644 });
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    const written = await stat(path);
    this.#verified.set(ref.sha256, { size: written.size, mtimeMs: written.mtimeMs });
    return path;
  }

  /** A cached file counts only if it still has the registered size and digest. */
  async #isVerifiedCopy(path: string, ref: BundleRef): Promise<boolean> {
    let info;
    try {
      info = await stat(path);
    } catch {
      return false;
    }
    const known = this.#verified.get(ref.sha256);
    if (known && known.size === info.size && known.mtimeMs === info.mtimeMs && info.size === ref.size) return true;
    try {
      verify(await readFile(path), ref);
    } catch {
      // A damaged or tampered cache entry: drop it and download again.
      this.#verified.delete(ref.sha256);
      await rm(path, { force: true });
      return false;
    }
    this.#verified.set(ref.sha256, { size: info.size, mtimeMs: info.mtimeMs });
    return true;
  }
}

/** Throws IntegrityError unless `bytes` has the registered size and sha256. */
export function verify(bytes: Uint8Array, ref: Pick<BundleRef, 'sha256' | 'size' | 'storageUri'>): void {
  if (bytes.byteLength !== ref.size) {
    throw new IntegrityError(`bundle ${ref.storageUri} is ${bytes.byteLength} bytes, registered as ${ref.size}`);
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== ref.sha256) {
    throw new IntegrityError(`bundle ${ref.storageUri} has sha256 ${digest}, registered as ${ref.sha256}`);
  }
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
