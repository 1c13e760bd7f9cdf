// The BigQuery client for the data path, built from the agent's GoogleSettings: a service-account
// key file, or Application Default Credentials, or (tests) an emulator endpoint with a bearer token.
// (Cloud Storage's client for the lake is data/lake/gcs-store.ts's createStorage.)
// The client library is imported on first use: an agent on a file:// lake and a DuckDB warehouse
// never pays its ~250 ms and ~35 MB (see storage/gcs-client.ts for the same reasoning).
import type { BigQuery } from '@google-cloud/bigquery';
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
