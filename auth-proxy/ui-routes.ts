// The web interface behind the proxy. Its static files (GET/HEAD of the paths common/ui-paths.ts
// lists) are forwarded to the server without a token or an identity: they hold no data, and the
// browser needs them before anyone has signed in. `/ui-config.json` is the proxy's own answer: the
// OpenID providers offered to browsers (auth config `browser`), so the UI can start an
// authorization-code flow with PKCE. The token endpoint of such a provider is another origin, so
// the proxy widens the UI's Content-Security-Policy `connect-src` by exactly those origins.
import type { OutgoingHttpHeaders } from 'node:http';
import { resolveOidcIssuers, type OidcIssuerConfig } from './auth-config.js';

/** A provider the sign-in page offers. */
export interface UiOidcProvider {
  /** The issuer (its discovery document is `<issuer>/.well-known/openid-configuration`). */
  issuer: string;
  /** The UI's public client id at that provider. */
  clientId: string;
  /** Scopes to ask for; `openid` among them. */
  scopes: string[];
}

/** What `GET /ui-config.json` answers. */
export interface UiConfig {
  /** Providers the sign-in page offers; empty when only pasted tokens are accepted. */
  oidc: UiOidcProvider[];
}

/** The proxy's part of serving the UI. */
export interface UiRoutes {
  /** The JSON body of `/ui-config.json`. */
  readonly configBody: string;
  /** Adds the browser providers' origins to a forwarded UI answer's `connect-src`. */
  adjustHeaders(headers: OutgoingHttpHeaders): void;
}

/** Builds the UI routes from the trusted issuers. */
export function createUiRoutes(oidcIssuers: readonly OidcIssuerConfig[]): UiRoutes {
  const clients = resolveOidcIssuers(oidcIssuers, 'startProxy').flatMap(({ issuer, browser }) => (browser ? [{ issuer, ...browser }] : []));
  const origins = [...new Set(clients.map((client) => new URL(client.issuer).origin))];
  const config: UiConfig = { oidc: clients };
  return {
    configBody: JSON.stringify(config),
    adjustHeaders(headers) {
      const policy = headers['content-security-policy'];
      if (origins.length === 0 || typeof policy !== 'string') return;
      headers['content-security-policy'] = policy.replace(/connect-src ([^;]*)/, (_all, sources: string) => `connect-src ${sources} ${origins.join(' ')}`);
    },
  };
}
