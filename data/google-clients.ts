// Google Cloud clients for the data path, built from the agent's GoogleSettings: a service-account
// key file, or Application Default Credentials, or (tests) an emulator endpoint with a bearer token.
// The client libraries are imported on first use: an agent on a file:// lake and a DuckDB warehouse
// never pays their ~250 ms and ~35 MB (see storage/gcs-client.ts for the same reasoning).
import type { BigQuery } from '@google-cloud/bigquery';
import type { Storage } from '@google-cloud/storage';
import type { GoogleSettings } from './contract.js';

/**
 * An emulator's fixed token never expires for the emulator; the client, though, refreshes a token
 * past its expiry_date, and an OAuth2Client holding only an access token cannot refresh (it would
 * fail every request). A date far ahead keeps a long-lived agent talking to its emulator.
 */
const EMULATOR_TOKEN_LIFETIME_MS = 10 * 365 * 24 * 3600 * 1000;

/** `host:port` or `http://host:port/` → `http://host:port` (emulators speak plain HTTP). */
function origin(endpoint: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`;
  return withScheme.replace(/\/+$/, '');
}

/**
 * An OAuth2Client that sends `token` as its bearer token (RECIPES.md: fake service-account
 * credentials fail, since the client would sign with the key; a bare access token does not).
 */
async function tokenClient(token: string) {
  const { OAuth2Client } = await import('google-auth-library');
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + EMULATOR_TOKEN_LIFETIME_MS });
  return client;
}

/**
 * A BigQuery client for `projectId`. `credentialsFile` → that key; `bigqueryEndpoint` (+
 * `emulatorToken`) → that REST endpoint (with the token as bearer); otherwise Google with
 * Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity, metadata server).
 *
 * @example const bigquery = await createBigQueryClient('my-project', { bigqueryEndpoint: 'http://127.0.0.1:9050', emulatorToken: 'x' });
 */
export async function createBigQueryClient(projectId: string, google: GoogleSettings = {}): Promise<BigQuery> {
  const { BigQuery } = await import('@google-cloud/bigquery');
  const options: ConstructorParameters<typeof BigQuery>[0] = { projectId };
  if (google.bigqueryEndpoint !== undefined) options.apiEndpoint = origin(google.bigqueryEndpoint);
  if (google.bigqueryEndpoint !== undefined && google.emulatorToken !== undefined) {
    options.authClient = await tokenClient(google.emulatorToken);
  } else if (google.credentialsFile !== undefined) {
    options.keyFilename = google.credentialsFile;
  }
  return new BigQuery(options);
}

/**
 * A Cloud Storage client. `credentialsFile` → that key; `storageEndpoint` → that JSON API endpoint
 * (fake-gcs-server), with `emulatorToken` as bearer when given (fake-gcs-server needs none);
 * otherwise Google with Application Default Credentials.
 *
 * @example const storage = await createStorageClient({ storageEndpoint: 'http://127.0.0.1:4443' });
 */
export async function createStorageClient(google: GoogleSettings = {}): Promise<Storage> {
  const { Storage } = await import('@google-cloud/storage');
  const options: ConstructorParameters<typeof Storage>[0] = {};
  const endpoint = google.storageEndpoint === undefined ? undefined : origin(google.storageEndpoint).replace(/\/storage\/v1$/, '');
  if (endpoint !== undefined) options.apiEndpoint = endpoint;
  if (endpoint !== undefined && google.emulatorToken !== undefined) {
    // @google-cloud/storage pins its own google-auth-library copy, whose AuthClient type differs
    // from ours in private fields only; the object works the same.
    options.authClient = (await tokenClient(google.emulatorToken)) as unknown as NonNullable<typeof options.authClient>;
  } else if (google.credentialsFile !== undefined) {
    options.keyFilename = google.credentialsFile;
  }
  const storage = new Storage(options);
  // The client (7.x) takes apiEndpoint as the JSON API's base URL without `/storage/v1` for some
  // calls and with it for uploads; the real layout as baseUrl makes both reach an emulator
  // (storage/gcs-client.ts has the details).
  if (endpoint !== undefined) storage.baseUrl = `${endpoint}/storage/v1`;
  return storage;
}
