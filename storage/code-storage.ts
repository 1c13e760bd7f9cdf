// Where flow bundles live. The server only records a bundle's URI and digest; the CLI uploads,
// the agent downloads and verifies. Bundles are content-addressed and written create-only, so a
// registered URI never points at different bytes without the digest check noticing.
import { FluxoError } from '../common/errors.js';
import { FileCodeStorage } from './file-code-storage.js';

/** One bundle store, addressed by URIs it hands out. */
export interface CodeStorage {
  /** The base URI (`file:///abs/dir`, `gs://bucket/prefix`). */
  readonly baseUri: string;
  /**
   * Writes `bytes` under `key` unless an object with that key exists (create-only). Returns the
   * object's URI either way: keys are content hashes, so an existing object holds the same bytes.
   */
  put(key: string, bytes: Uint8Array): Promise<{ uri: string; created: boolean }>;
  /** Reads the object at `uri`; refuses (BAD_USER_INPUT) past `maxBytes` without reading it all. */
  get(uri: string, options: { maxBytes: number }): Promise<Uint8Array>;
}

/**
 * Opens the code storage for a base URI.
 *
 * @example codeStorageFor('file:///var/lib/fluxo/bundles')
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
    default:
      throw new FluxoError('BAD_USER_INPUT', `code storage scheme "${url.protocol}" is not supported yet (use file:///absolute/dir)`);
  }
}
