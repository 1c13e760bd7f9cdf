// A real OpenID provider for tests: the `oidc-provider` package (panva's certified implementation)
// on 127.0.0.1, issuing RFC 9068 JWT access tokens to client-credentials clients, with each
// client's fluxo claims added through `extraTokenClaims`. It can be stopped and started again on
// the same port with other signing keys, which is what a provider's key rotation looks like from
// the proxy.
import { createServer, request, type Server } from 'node:http';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider, { errors, type ClientMetadata } from 'oidc-provider';
import { freePort, onCleanup } from './harness.js';

/** A client-credentials client and the extra claims its access tokens carry. */
export interface TestOidcClient {
  clientId: string;
  /** Claims added to every access token of this client, e.g. `{ fluxo_tenant: 'rj-smtr', groups: ['city-data-devs'] }`. */
  claims: Record<string, unknown>;
}

/** A browser (public, authorization code with PKCE) client: the web interface's sign-in. */
export interface TestOidcBrowserClient extends TestOidcClient {
  /** Where the provider sends the browser back with the code. */
  redirectUri: string;
}

/** Settings of a test provider. */
export interface TestOidcProviderOptions {
  clients: TestOidcClient[];
  /** Public clients signing people in through the browser (turns on the provider's own login and consent pages). @default [] */
  browserClients?: TestOidcBrowserClient[];
  /** Private signing JWKs (with kid); the first signs. @default one fresh RS256 key */
  signingKeys?: JWK[];
  /** `aud` of its access tokens. @default 'fluxo-api' */
  audience?: string;
  /** Port to listen on (to restart on the same issuer URL). @default a free port */
  port?: number;
}

/** A listening provider. */
export interface TestOidcProvider {
  /** `http://127.0.0.1:<port>`: the issuer URL and `iss` of its tokens. */
  issuer: string;
  port: number;
  signingKeys: JWK[];
  /** A fresh access token for a client, obtained over HTTP from the token endpoint. */
  accessToken(clientId: string): Promise<string>;
  /** Stops listening and drops open connections (idempotent). */
  stop(): Promise<void>;
}

/** The resource indicator (RFC 8707) fluxo is registered under at the provider. */
const RESOURCE = 'urn:fluxo:api';
const SCOPE = 'fluxo';

/** A private RS256 JWK with a kid, the kind of key providers sign access tokens with. */
export async function rsaSigningKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

/**
 * Starts a provider, stopped after the test (or the file, from beforeAll).
 *
 * @example const idp = await startOidcProvider({ clients: [{ clientId: 'ci', claims: { fluxo_tenant: 'rj-smtr', fluxo_role: 'ci' } }] })
 */
export async function startOidcProvider(options: TestOidcProviderOptions): Promise<TestOidcProvider> {
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const audience = options.audience ?? 'fluxo-api';
  const signingKeys = options.signingKeys ?? [await rsaSigningKey(`key-${Date.now()}`)];
  const browserClients = options.browserClients ?? [];
  const claimsOf = new Map([...options.clients, ...browserClients].map((client) => [client.clientId, client.claims]));
  const secretOf = (clientId: string): string => `secret-of-${clientId}-${'x'.repeat(32)}`;

  const provider = new Provider(issuer, {
    clients: [
      ...options.clients.map(({ clientId }): ClientMetadata => ({
        client_id: clientId,
        client_secret: secretOf(clientId),
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_post',
      })),
      ...browserClients.map(({ clientId, redirectUri }): ClientMetadata => ({
        client_id: clientId,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [redirectUri],
      })),
    ],
    // A browser client calls discovery and the token endpoint from the web interface's origin.
    clientBasedCORS: () => browserClients.length > 0,
    jwks: { keys: signingKeys as never[] },
    cookies: { keys: ['test-cookie-key-not-used-by-client-credentials'] },
    ttl: { ClientCredentials: 300 },
    features: {
      // Its built-in login (any name) and consent pages, for browser clients only.
      devInteractions: { enabled: browserClients.length > 0 },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== RESOURCE) throw new errors.InvalidTarget();
          return { scope: SCOPE, audience, accessTokenFormat: 'jwt', jwt: { sign: { alg: signingKeys[0]!.alg as 'RS256' } } };
        },
      },
    },
    extraTokenClaims: (_ctx, token) => ('clientId' in token && typeof token.clientId === 'string' ? claimsOf.get(token.clientId) : undefined),
  });
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  onCleanup(stop);

  return {
    issuer,
    port,
    signingKeys,
    async accessToken(clientId) {
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secretOf(clientId), scope: SCOPE, resource: RESOURCE });
      const { status, body } = await postForm(`${issuer}/token`, form.toString());
      const answer = JSON.parse(body) as { access_token?: string; error?: string; error_description?: string };
      if (status !== 200 || !answer.access_token) throw new Error(`the provider refused a token for ${clientId}: ${answer.error} ${answer.error_description ?? ''}`);
      return answer.access_token;
    },
    stop,
  };
}

/** One POST on a fresh connection: a pooled keep-alive socket would outlive a provider restarted on the same port. */
function postForm(url: string, form: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(form);
  });
}
