// Signing in to the web interface with an OpenID provider: the proxy offers the provider
// (`GET /ui-config.json`, auth config `browser`), the page runs the authorization-code flow with
// PKCE against a real provider (`oidc-provider` on 127.0.0.1, its own login and consent pages),
// and the access token it gets is what the proxy verifies for every request.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { freePort, tempDir } from '../support/harness.js';
import { startOidcProvider } from '../support/oidc-provider.js';
import { startStack, TENANT } from '../support/stack.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('signing in with the identity provider', () => {
  it('offers the provider, signs in with authorization code and PKCE, and uses the access token the provider issued', async () => {
    const idpPort = await freePort();
    const issuer = `http://127.0.0.1:${idpPort}`;
    const authConfig = join(await tempDir(), 'auth.json');
    await writeFile(authConfig, JSON.stringify({ oidcIssuers: [{ issuer, audience: 'fluxo-api', browser: { clientId: 'fluxo-ui', scopes: ['openid', 'fluxo'] } }] }));
    const stack = await startStack({ proxyArgs: ['--auth-config', authConfig] });
    const origin = new URL(stack.apiUrl).origin;
    await startOidcProvider({
      port: idpPort,
      clients: [],
      browserClients: [{ clientId: 'fluxo-ui', redirectUri: `${origin}/sign-in`, claims: { fluxo_tenant: TENANT, fluxo_role: 'developer' } }],
    });

    expect(await (await fetch(`${origin}/ui-config.json`)).json()).toEqual({ oidc: [{ issuer, clientId: 'fluxo-ui', scopes: ['openid', 'fluxo'] }] });
    // The page may reach the provider (discovery, token endpoint), and nothing else.
    expect((await fetch(`${origin}/`)).headers.get('content-security-policy')).toContain(`connect-src 'self' ${issuer}`);

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      const visited: string[] = [];
      page.on('framenavigated', (frame) => {
        if (frame === page.mainFrame()) visited.push(frame.url());
      });
      await page.goto(`${origin}/`);
      await page.getByRole('button', { name: `Sign in with 127.0.0.1:${idpPort}` }).click();
      // The provider's own pages: any login, then consent.
      await page.locator('input[name="login"]').fill('ana.souza');
      await page.locator('input[name="password"]').fill('not-checked');
      await page.locator('button[type="submit"]').first().click();
      await page.getByRole('button', { name: /continue/i }).click();
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
      await page.getByText('ana.souza (developer)').waitFor();
      expect(new URL(page.url()).search).toBe('');
      expect(visited.some((url) => url.startsWith(`${origin}/sign-in?code=`))).toBe(true);

      // The session holds the provider's access token, and the API takes it.
      const token = (await page.evaluate(`sessionStorage.getItem('fluxo.token')`)) as string;
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      expect(claims).toMatchObject({ iss: issuer, aud: 'fluxo-api', fluxo_tenant: TENANT, fluxo_role: 'developer' });
      await page.getByRole('link', { name: 'Flows', exact: true }).click();
      await page.getByRole('heading', { name: 'Flows' }).waitFor();
      expect(visited.every((url) => !url.includes('access_token') && !url.includes(token))).toBe(true);
    } finally {
      await context.close();
    }
  });
});
