// Signing in with the identity provider: OAuth 2.0 authorization code with PKCE (RFC 7636) as a
// public client, the way RFC 9700 and the OAuth browser-apps BCP recommend. The proxy tells which
// providers it offers (`GET /ui-config.json`); the access token the provider returns is what the
// proxy verifies, as for any other caller. The code and state live in the URL only for the moment
// of the redirect back to /sign-in, which replaces them at once; the token never enters a URL.
import { signIn } from './session';

/** A provider the proxy offers (auth-proxy/ui-routes.ts). */
export interface OidcProvider {
  issuer: string;
  clientId: string;
  scopes: string[];
}

interface Pending {
  issuer: string;
  clientId: string;
  tokenEndpoint: string;
  verifier: string;
  state: string;
  redirectUri: string;
}

const PENDING_KEY = 'fluxo.oidc';

/** The providers offered for sign-in; none when the proxy is not configured for any. */
export async function loadProviders(): Promise<OidcProvider[]> {
  try {
    const response = await fetch('/ui-config.json', { headers: { accept: 'application/json' } });
    if (!response.ok) return [];
    const body = (await response.json()) as { oidc?: OidcProvider[] };
    return Array.isArray(body.oidc) ? body.oidc : [];
  } catch {
    return [];
  }
}

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function discover(issuer: string): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  const response = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${issuer} answered HTTP ${response.status} for its discovery document`);
  const metadata = (await response.json()) as { issuer?: string; authorization_endpoint?: string; token_endpoint?: string };
  if (metadata.issuer !== issuer || !metadata.authorization_endpoint || !metadata.token_endpoint) throw new Error(`${issuer}'s discovery document does not describe it (issuer, authorization_endpoint, token_endpoint)`);
  return { authorization_endpoint: metadata.authorization_endpoint, token_endpoint: metadata.token_endpoint };
}

/** Sends the browser to the provider's sign-in page. */
export async function startSignIn(provider: OidcProvider): Promise<void> {
  const metadata = await discover(provider.issuer);
  const verifier = randomString();
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const pending: Pending = { issuer: provider.issuer, clientId: provider.clientId, tokenEndpoint: metadata.token_endpoint, verifier, state: randomString(), redirectUri: `${location.origin}/sign-in` };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(metadata.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: provider.clientId,
    redirect_uri: pending.redirectUri,
    scope: provider.scopes.join(' '),
    state: pending.state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/**
 * On /sign-in?code=…&state=…: exchanges the code for an access token and signs in. Resolves false
 * when the URL is no provider's answer; rejects with a message to show when the exchange fails.
 */
export async function completeSignIn(): Promise<boolean> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return false;
  history.replaceState(null, '', '/sign-in');
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (error) throw new Error(`the identity provider refused: ${error}${params.get('error_description') ? ` (${params.get('error_description')})` : ''}`);
  if (!raw) throw new Error('no sign-in was started in this tab; start again');
  const pending = JSON.parse(raw) as Pending;
  if (params.get('state') !== pending.state) throw new Error('the answer does not belong to the sign-in this tab started (state mismatch); start again');
  const response = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: pending.redirectUri, client_id: pending.clientId, code_verifier: pending.verifier }),
  });
  const body = (await response.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || !body.access_token) throw new Error(`${pending.issuer} did not issue a token: ${body.error ?? `HTTP ${response.status}`}${body.error_description ? ` (${body.error_description})` : ''}`);
  signIn(body.access_token);
  return true;
}
