// OIDC access tokens against a real OpenID provider (the `oidc-provider` package) on 127.0.0.1:
// tokens come from its token endpoint over HTTP, keys from its discovery document and JWKS.
import { SignJWT, importJWK, type JWK, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OidcIssuerConfig } from '../../auth-proxy/auth-config.js';
import { createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from '../../auth-proxy/verify-token.js';
import { freePort, waitFor } from '../support/harness.js';
import { rsaSigningKey, startOidcProvider, type TestOidcClient, type TestOidcProvider } from '../support/oidc-provider.js';
import { freshKeys, type Keys } from './support/fixtures.js';

const clients: TestOidcClient[] = [
  { clientId: 'etl-pipeline', claims: { fluxo_tenant: 'rj-smtr', groups: ['everyone', 'city-data-devs'] } },
  { clientId: 'smtr-agent', claims: { fluxo_tenant: 'rj-smtr', groups: ['smtr-agents'] } },
  { clientId: 'no-tenant', claims: { groups: ['city-data-devs'] } },
  { clientId: 'no-mapped-group', claims: { fluxo_tenant: 'rj-smtr', groups: ['everyone'] } },
];

let keys: Keys;
beforeAll(async () => {
  keys = await freshKeys();
});

function issuerConfig(idp: { issuer: string }, overrides: Partial<OidcIssuerConfig> = {}): OidcIssuerConfig {
  return {
    issuer: idp.issuer,
    audience: 'fluxo-api',
    claims: { tenant: { claim: 'fluxo_tenant' }, role: { claim: 'groups', map: { 'city-data-devs': 'developer', 'smtr-agents': 'agent' } } },
    ...overrides,
  };
}

function verifierFor(idp: { issuer: string }, overrides: Partial<OidcIssuerConfig> = {}, options: Partial<TokenVerifierOptions> = {}): TokenVerifier {
  return createTokenVerifier({ publicKeys: keys.publicKeys, oidcIssuers: [issuerConfig(idp, overrides)], ...options });
}

/** A token signed with one of the provider's own keys but shaped by the test (what the provider would never issue). */
async function signedByProvider(idp: TestOidcProvider, payload: JWTPayload, typ: string): Promise<string> {
  const key = idp.signingKeys[0] as JWK;
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ }).sign(await importJWK(key, 'RS256'));
}

describe('access tokens from an OpenID provider', () => {
  it('verifies a client-credentials access token and maps its claims to a tenant and role', async () => {
    const idp = await startOidcProvider({ clients });
    const verify = verifierFor(idp);
    const token = await idp.accessToken('etl-pipeline');
    const verified = await verify(`Bearer ${token}`);
    expect(verified).toEqual({
      identity: { subject: 'etl-pipeline', tenant: 'rj-smtr', role: 'developer' },
      kind: 'user',
      source: 'oidc',
      expiresAtMs: expect.any(Number),
      tokenId: expect.any(String),
    });
    expect(verified.expiresAtMs).toBeGreaterThan(Date.now());
  });

  it('gives a token mapped to the agent role the agent kind', async () => {
    const idp = await startOidcProvider({ clients });
    await expect(verifierFor(idp)(`Bearer ${await idp.accessToken('smtr-agent')}`)).resolves.toMatchObject({ kind: 'agent', identity: { role: 'agent', tenant: 'rj-smtr' } });
  });

  it('uses a configured jwksUri without discovery, and a fixed tenant', async () => {
    const idp = await startOidcProvider({ clients });
    const verify = verifierFor(idp, { jwksUri: `${idp.issuer}/jwks`, claims: { tenant: { value: 'rj-escritorio' }, role: { value: 'ci' } } });
    await expect(verify(`Bearer ${await idp.accessToken('no-tenant')}`)).resolves.toMatchObject({ identity: { subject: 'no-tenant', tenant: 'rj-escritorio', role: 'ci' }, kind: 'user' });
  });

  it.each([
    { name: 'a token for another audience', client: 'etl-pipeline', overrides: { audience: 'another-api' }, code: 'TOKEN_AUDIENCE_MISMATCH', message: /audience "fluxo-api" does not include "another-api"/ },
    { name: 'a token without the mapped tenant claim', client: 'no-tenant', overrides: {}, code: 'TOKEN_CLAIM_MISSING', message: /no "fluxo_tenant" claim \(http:\/\/127\.0\.0\.1:\d+'s claim mapping reads it\)/ },
    { name: 'a token whose groups map to no role', client: 'no-mapped-group', overrides: {}, code: 'TOKEN_INVALID', message: /role claim "groups" \(\["everyone"\]\): none of its values is mapped to a fluxo role/ },
    { name: 'an RS256 token when the issuer allows only ES256', client: 'etl-pipeline', overrides: { algorithms: ['ES256'] }, code: 'TOKEN_ALGORITHM_NOT_ALLOWED', message: /"RS256" is not allowed for http:\/\/127\.0\.0\.1:\d+ \(accepted: ES256/ },
  ])('refuses $name with $code', async ({ client, overrides, code, message }) => {
    const idp = await startOidcProvider({ clients });
    await expect(verifierFor(idp, overrides)(`Bearer ${await idp.accessToken(client)}`)).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it('never takes an ID token signed by the provider for an access token', async () => {
    const idp = await startOidcProvider({ clients });
    const now = Math.floor(Date.now() / 1000);
    const idToken = await signedByProvider(idp, { iss: idp.issuer, aud: 'fluxo-api', sub: 'ana', nonce: 'n-0S6_WzA2Mj', iat: now, exp: now + 300, fluxo_tenant: 'rj-smtr', groups: ['city-data-devs'] }, 'JWT');
    await expect(verifierFor(idp)(`Bearer ${idToken}`)).rejects.toMatchObject({ code: 'TOKEN_TYPE_INVALID', message: expect.stringMatching(/typ "JWT"; .* trusted for access tokens typed at\+jwt/) });
    // Even where the provider's access tokens are typed JWT, the ID token's nonce gives it away.
    await expect(verifierFor(idp, { tokenTypes: ['at+jwt', 'JWT'] })(`Bearer ${idToken}`)).rejects.toMatchObject({ code: 'TOKEN_TYPE_INVALID', message: expect.stringMatching(/carries "nonce", so it is an ID token/) });
  });

  it('refuses a provider token with a jku header pointing elsewhere', async () => {
    const idp = await startOidcProvider({ clients });
    const key = idp.signingKeys[0] as JWK;
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ iss: idp.issuer, aud: 'fluxo-api', sub: 'x', exp: now + 60, fluxo_tenant: 'rj-smtr', groups: ['city-data-devs'] })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', jku: 'https://attacker.example/jwks' })
      .sign(await importJWK(key, 'RS256'));
    await expect(verifierFor(idp)(`Bearer ${token}`)).rejects.toMatchObject({ code: 'TOKEN_HEADER_FORBIDDEN' });
  });
});

describe('the provider key set', () => {
  it('picks up a rotated signing key without a restart, but not before the cooldown', async () => {
    const [oldKey, newKey] = await Promise.all([rsaSigningKey('old-key'), rsaSigningKey('new-key')]);
    let idp = await startOidcProvider({ clients, signingKeys: [oldKey] });
    const verify = verifierFor(idp, { cooldownSeconds: 4, maxAgeSeconds: 60 }, { cacheEntries: 0 });
    const oldToken = await idp.accessToken('etl-pipeline');
    await expect(verify(`Bearer ${oldToken}`)).resolves.toMatchObject({ source: 'oidc' });

    // The provider rotates: a new key signs, the old one is still published for tokens in flight.
    await idp.stop();
    idp = await startOidcProvider({ clients, signingKeys: [newKey, oldKey], port: idp.port });
    const newToken = await idp.accessToken('etl-pipeline');
    await expect(verify(`Bearer ${newToken}`)).rejects.toMatchObject({
      code: 'TOKEN_KEY_UNKNOWN',
      message: expect.stringMatching(/kid "new-key" \(alg RS256\) names no key http:\/\/127\.0\.0\.1:\d+ publishes \(its key set was fetched less than 4 s ago/),
    });

    const verified = await waitFor(() => verify(`Bearer ${newToken}`), { timeoutMs: 10_000, what: 'the new key to be fetched after the cooldown' });
    expect(verified.identity).toEqual({ subject: 'etl-pipeline', tenant: 'rj-smtr', role: 'developer' });
    await expect(verify(`Bearer ${oldToken}`)).resolves.toMatchObject({ source: 'oidc' });
  });

  it('refuses a kid the provider never published, after refetching its key set', async () => {
    const idp = await startOidcProvider({ clients });
    const verify = verifierFor(idp, { cooldownSeconds: 0 });
    await verify(`Bearer ${await idp.accessToken('etl-pipeline')}`);
    const stranger = await rsaSigningKey('stranger');
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ iss: idp.issuer, aud: 'fluxo-api', sub: 'x', exp: now + 60, fluxo_tenant: 'rj-smtr', groups: ['city-data-devs'] })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'stranger' })
      .sign(await importJWK(stranger, 'RS256'));
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({ code: 'TOKEN_KEY_UNKNOWN', message: expect.stringMatching(/even after refetching its key set/) });
  });

  it('keeps verifying with cached keys while the provider is down, and fails closed past the max age', async () => {
    let idp = await startOidcProvider({ clients });
    const verify = verifierFor(idp, { cooldownSeconds: 0.5, maxAgeSeconds: 2 }, { cacheEntries: 0 });
    const token = await idp.accessToken('etl-pipeline');
    await verify(`Bearer ${token}`);
    await idp.stop();

    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ source: 'oidc' });
    const refusal = await waitFor(
      () => verify(`Bearer ${token}`).then(
        () => undefined,
        (error: { code?: string; message?: string }) => error,
      ),
      { timeoutMs: 10_000, what: 'the cached key set to pass its max age' },
    );
    expect(refusal).toMatchObject({ code: 'IDENTITY_PROVIDER_UNAVAILABLE', message: expect.stringMatching(/identity provider http:\/\/127\.0\.0\.1:\d+ is unavailable: its key set could not be fetched .*retry later/) });

    idp = await startOidcProvider({ clients, signingKeys: idp.signingKeys, port: idp.port });
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ source: 'oidc' });
  });

  it('answers IDENTITY_PROVIDER_UNAVAILABLE while the provider cannot be discovered, and recovers once it can', async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const signingKey = await rsaSigningKey('k1');
    // Mint a token first from a provider on that port, then take the provider away.
    const first = await startOidcProvider({ clients, signingKeys: [signingKey], port });
    const token = await first.accessToken('etl-pipeline');
    await first.stop();

    const verify = verifierFor({ issuer }, { cooldownSeconds: 0.5 });
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({
      code: 'IDENTITY_PROVIDER_UNAVAILABLE',
      message: expect.stringMatching(/its discovery document http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration could not be read/),
    });
    await startOidcProvider({ clients, signingKeys: [signingKey], port });
    await waitFor(() => verify(`Bearer ${token}`), { timeoutMs: 10_000, what: 'discovery to succeed' });
  });

  it('refuses to use a discovery document that names another issuer', async () => {
    const idp = await startOidcProvider({ clients });
    const aliased = idp.issuer.replace('127.0.0.1', 'localhost');
    const now = Math.floor(Date.now() / 1000);
    const token = await signedByProvider(idp, { iss: aliased, aud: 'fluxo-api', sub: 'x', exp: now + 60, fluxo_tenant: 'rj-smtr', groups: ['city-data-devs'] }, 'at+jwt');
    const verify = verifierFor({ issuer: aliased });
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({
      code: 'IDENTITY_PROVIDER_UNAVAILABLE',
      message: expect.stringMatching(/names issuer "http:\/\/127\.0\.0\.1:\d+"; the configured issuer must match it exactly/),
    });
  });
});
