// Where flow bundles live. The server only records a bundle's URI and digest; the CLI uploads,
// the agent downloads and verifies. Bundles are content-addressed and written create-only, so a
// registered URI never points at different bytes without the digest check noticing.
import { FluxoError } from '../common/errors.js';
import { FileCodeStorage } from './file-code-storage.js';
import { GcsCodeStorage } from './gcs-code-storage.js';

/** One bundle store, addressed by URIs it hands out. */
export interface CodeStorage {
  /** The base URI (`file:///abs/dir`, `gs://bucket/prefix`). */
  readonly baseUri: string;
  /**
   * Writes `bytes` under `key` unless an object with that key exists (create-only). Returns the
   * object's URI either way: keys are content hashes, so an existing object holds the same bytes
   * (gs:// checks that it does and throws VERSION_CONFLICT otherwise). A gs:// URI pins the
   * object's generation (`gs://bucket/key#generation`). Throws TypeError on a malformed key.
   */
  put(key: string, bytes: Uint8Array): Promise<{ uri: string; created: boolean }>;
  /**
   * Reads the object at `uri`. Throws FluxoError with:
   * - `BAD_USER_INPUT` "… is N bytes, over the M-byte limit" past `maxBytes`, without reading it all;
   * - `NOT_FOUND` when there is no such object;
   * - `VERSION_CONFLICT` when the object is not the one the URI names: replaced since (another
   *   generation) or failing the store's own checksum. The agent treats this as an integrity failure.
   */
  get(uri: string, options: { maxBytes: number }): Promise<Uint8Array>;
}

/**
 * True when a storage refused to read an object because of what it is, not because it is missing
 * or unreachable (file://: a symbolic link, a device, a FIFO). The agent fails such a run with
 * reason `integrity` and a generic message.
 */
export function isLocationRefusal(error: unknown): boolean {
  return error instanceof FluxoError && (error.details as { locationRefused?: unknown } | undefined)?.locationRefused === true;
}

/**
 * Opens the code storage for a base URI: `file:///absolute/dir` or `gs://bucket[/prefix]` (Cloud
 * Storage with Application Default Credentials, or the emulator named by STORAGE_EMULATOR_HOST).
 *
 * @example codeStorageFor('file:///var/lib/fluxo/bundles')
 * @example codeStorageFor('gs://fluxo-code/rj-escritorio')
 */
export function codeStorageFor(baseUri: string): CodeStorage {
  let url: URL;
  try {
    url = new URL(baseUri);
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `code storage "${baseUri}" is not a URI (use file:///absolute/dir or gs://bucket/prefix)`, { cause: error });
  }
  switch (url.protocol) {
    case 'file:':
      return new FileCodeStorage(url);
    case 'gs:':
      return new GcsCodeStorage(baseUri);
    default:
      throw new FluxoError('BAD_USER_INPUT', `code storage scheme "${url.protocol}" is not supported (use file:///absolute/dir or gs://bucket/prefix)`);
  }
}
