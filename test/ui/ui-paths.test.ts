// Which paths are the web interface's public files: the proxy forwards exactly these without a
// token and the server answers exactly these without an identity (common/ui-paths.ts).
import { describe, expect, it } from 'vitest';
import { parseAuthConfig } from '../../auth-proxy/auth-config.js';
import { createUiRoutes } from '../../auth-proxy/ui-routes.js';
import { isUiPage, isUiPath } from '../../common/ui-paths.js';

describe('UI paths', () => {
  it.each(['/', '/index.html', '/favicon.svg', '/robots.txt', '/ui-config.json', '/assets/index-C7BGRetv.js', '/assets/explorer-C4zv7lh0.css', '/runs', '/runs/01a241ea-7c3e-7000-8000-000000000001', '/flows/abc', '/tables/LAKE%3Abr_rj_cor.ocorrencias', '/agents', '/audit', '/explorer', '/sign-in', '/dashboard'])('%s is public', (path) => {
    expect(isUiPath(path)).toBe(true);
  });

  it.each(['/graphql', '/internal/audit', '/healthz-not', '/runsx', '/assets/', '/assets/../graphql', '/assets/a/b.js', '/runs/../graphql', '/runs/a\\b', '/.env', '/src/main.tsx'])('%s is not', (path) => {
    expect(isUiPath(path)).toBe(false);
  });

  it('answers pages with index.html and files as themselves', () => {
    expect([isUiPage('/'), isUiPage('/runs/1'), isUiPage('/assets/a.js'), isUiPage('/favicon.svg')]).toEqual([true, true, false, false]);
  });
});

describe('providers offered to browsers', () => {
  it('offers only providers with a browser client, always asking openid, and widens connect-src by their origins', () => {
    const { oidcIssuers } = parseAuthConfig({
      oidcIssuers: [
        { issuer: 'https://id.rio.rj.gov.br/realms/prefeitura', audience: 'fluxo-api', browser: { clientId: 'fluxo-ui', scopes: ['profile'] } },
        { issuer: 'https://ci.example.gov.br', audience: 'fluxo-api' },
      ],
    });
    const routes = createUiRoutes(oidcIssuers);
    expect(JSON.parse(routes.configBody)).toEqual({ oidc: [{ issuer: 'https://id.rio.rj.gov.br/realms/prefeitura', clientId: 'fluxo-ui', scopes: ['openid', 'profile'] }] });
    const headers: Record<string, string> = { 'content-security-policy': "default-src 'self'; connect-src 'self'; object-src 'none'" };
    routes.adjustHeaders(headers);
    expect(headers['content-security-policy']).toBe("default-src 'self'; connect-src 'self' https://id.rio.rj.gov.br; object-src 'none'");
  });

  it.each([
    ['no client id', { scopes: ['openid'] }, /browser.clientId is missing/],
    ['an unknown key', { clientId: 'ui', redirectUri: 'https://x' }, /browser.redirectUri is not a known setting/],
    ['empty scopes', { clientId: 'ui', scopes: [] }, /browser.scopes must be a non-empty list/],
  ])('refuses a browser client with %s', (_why, browser, message) => {
    expect(() => parseAuthConfig({ oidcIssuers: [{ issuer: 'https://id.example.gov.br', audience: 'fluxo-api', browser }] }, 'auth.json')).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) }),
    );
  });
});
