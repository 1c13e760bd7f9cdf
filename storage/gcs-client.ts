// The Cloud Storage client, loaded on first use and shared per endpoint. `@google-cloud/storage`
// (with google-auth-library and gaxios) costs ~35 MB of RSS and ~250 ms to import, so an agent whose
// bundles live in file:// storage, or that has every bundle cached, never loads it.
import type { Storage } from '@google-cloud/storage';

type GcsModule = typeof import('@google-cloud/storage');

let loading: Promise<GcsModule> | undefined;
const clients = new Map<string, Promise<Storage>>();

/** The `@google-cloud/storage` module, imported once. */
export function loadGcsModule(): Promise<GcsModule> {
  loading ??= import('@google-cloud/storage');
  return loading;
}

/**
 * `http://host:port`, `host:port` or `http://host:port/storage/v1/` → `http://host:port`: the
 * origin the client wants as `apiEndpoint`. A bare host:port gets `http://`, since emulators serve
 * plain HTTP (the client itself would guess https).
 */
export function normaliseEndpoint(endpoint: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`;
  return withScheme.replace(/\/+$/, '').replace(/\/storage\/v1$/, '');
}

/**
 * The shared client for an endpoint (the `apiEndpoint` argument, else `STORAGE_EMULATOR_HOST`, else
 * Google's). See {@link createGcsClient}.
 *
 * @example const storage = await gcsClient(); // production
 */
export function gcsClient(apiEndpoint?: string): Promise<Storage> {
  const endpoint = endpointFor(apiEndpoint);
  // The client reads STORAGE_EMULATOR_HOST itself when constructed, so that is part of the key too.
  const key = `${endpoint ?? ''} ${process.env.STORAGE_EMULATOR_HOST ?? ''}`;
  let client = clients.get(key);
  if (!client) {
    client = createGcsClient({ apiEndpoint: endpoint });
    clients.set(key, client);
    // A failed import must not poison the cache for the rest of the process.
    client.catch(() => clients.delete(key));
  }
  return client;
}

/**
 * A new client. With an endpoint (`apiEndpoint`, else `STORAGE_EMULATOR_HOST`) it talks to that
 * emulator without credentials; without one it talks to Google with Application Default
 * Credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity, the metadata server).
 *
 * @example const storage = await createGcsClient({ apiEndpoint: 'http://127.0.0.1:4443' }); // fake-gcs-server
 */
export async function createGcsClient(options: { apiEndpoint?: string | undefined } = {}): Promise<Storage> {
  const endpoint = endpointFor(options.apiEndpoint);
  const { Storage } = await loadGcsModule();
  if (endpoint === undefined) return new Storage();
  const storage = new Storage({ apiEndpoint: endpoint });
  // When STORAGE_EMULATOR_HOST is set, the client (7.x) uses its value verbatim as the JSON API's
  // base URL, without `/storage/v1`, while uploads do add `/upload/storage/v1`: one of the two
  // always misses (googleapis/nodejs-storage#1314, fsouza/fake-gcs-server#1556). Setting the
  // public `baseUrl` to the real layout makes both work, whichever way the endpoint was given.
  storage.baseUrl = `${endpoint}/storage/v1`;
  return storage;
}

function endpointFor(apiEndpoint: string | undefined): string | undefined {
  const configured = apiEndpoint ?? (process.env.STORAGE_EMULATOR_HOST || undefined);
  return configured === undefined ? undefined : normaliseEndpoint(configured);
}
