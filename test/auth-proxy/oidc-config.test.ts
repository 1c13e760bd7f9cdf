import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAuthConfig } from '../../auth-proxy/auth-config.js';
import { createTokenVerifier } from '../../auth-proxy/verify-token.js';
import { tempDir } from '../support/harness.js';
import { freshKeys } from './support/fixtures.js';

async function configFile(content: unknown): Promise<string> {
  const path = join(await tempDir('fluxo-auth-config-'), 'auth.json');
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const issuer = (overrides: Record<string, unknown> = {}) => ({ issuer: 'https://id.example.gov.br/realms/rio', audience: 'fluxo-api', ...overrides });

describe('loading the auth config file', () => {
  it('applies the documented defaults to a minimal issuer', async () => {
    const { oidcIssuers } = await loadAuthConfig(await configFile({ oidcIssuers: [issuer()] }));
    expect(oidcIssuers).toEqual([
      {
        issuer: 'https://id.example.gov.br/realms/rio',
        audience: 'fluxo-api',
        algorithms: ['RS256', 'ES256', 'EdDSA'],
        tokenTypes: ['at+jwt'],
        cooldownSeconds: 30,
        maxAgeSeconds: 600,
        timeoutSeconds: 5,
        claims: { subject: 'sub', tenant: { claim: 'fluxo_tenant' }, role: { claim: 'fluxo_role' } },
      },
    ]);
  });

  it('reads every setting of a full issuer, including a role map over a groups claim', async () => {
    const full = issuer({
      jwksUri: 'https://id.example.gov.br/realms/rio/protocol/openid-connect/certs',
      algorithms: ['RS256'],
      tokenTypes: ['at+jwt', 'JWT'],
      cooldownSeconds: 10,
      maxAgeSeconds: 300,
      timeoutSeconds: 2,
      claims: { subject: 'preferred_username', tenant: { value: 'rj-smtr' }, role: { claim: 'groups', map: { 'city-data-devs': 'developer', 'smtr-agents': 'agent' } } },
    });
    const { oidcIssuers } = await loadAuthConfig(await configFile({ oidcIssuers: [full] }));
    expect(oidcIssuers).toEqual([full]);
  });

  it('accepts a file without issuers', async () => {
    await expect(loadAuthConfig(await configFile({}))).resolves.toEqual({ oidcIssuers: [] });
  });

  it.each([
    { name: 'text that is not JSON', content: '{"oidcIssuers": [', message: /auth\.json is not valid JSON/ },
    { name: 'a misspelt top-level key', content: { oidcIssuer: [] }, message: /auth\.json: oidcIssuer is not a known setting \(known: oidcIssuers\)/ },
    { name: 'issuers that are not a list', content: { oidcIssuers: {} }, message: /oidcIssuers must be a list of issuers/ },
    { name: 'a misspelt issuer key', content: { oidcIssuers: [issuer({ jwks_uri: 'https://x.example/certs' })] }, message: /oidcIssuers\[0\]\.jwks_uri is not a known setting/ },
    { name: 'an issuer over plain http', content: { oidcIssuers: [issuer({ issuer: 'http://id.example.gov.br' })] }, message: /oidcIssuers\[0\]\.issuer "http:\/\/id\.example\.gov\.br" must use https/ },
    { name: 'an issuer that is not a URL', content: { oidcIssuers: [issuer({ issuer: 'rio' })] }, message: /oidcIssuers\[0\]\.issuer "rio" is not an absolute URL/ },
    { name: 'an issuer with a query', content: { oidcIssuers: [issuer({ issuer: 'https://id.example.gov.br/?realm=rio' })] }, message: /oidcIssuers\[0\]\.issuer must not have a query/ },
    { name: 'no audience', content: { oidcIssuers: [{ issuer: 'https://id.example.gov.br' }] }, message: /oidcIssuers\[0\]\.audience is missing/ },
    { name: 'HS256', content: { oidcIssuers: [issuer({ algorithms: ['RS256', 'HS256'] })] }, message: /oidcIssuers\[0\]\.algorithms\[1\] HS256 is symmetric/ },
    { name: 'alg none', content: { oidcIssuers: [issuer({ algorithms: ['none'] })] }, message: /oidcIssuers\[0\]\.algorithms\[0\] "none" is not one of RS256/ },
    { name: 'an empty algorithm list', content: { oidcIssuers: [issuer({ algorithms: [] })] }, message: /oidcIssuers\[0\]\.algorithms must be a non-empty list/ },
    { name: 'a negative cooldown', content: { oidcIssuers: [issuer({ cooldownSeconds: -1 })] }, message: /oidcIssuers\[0\]\.cooldownSeconds must be a number of seconds from 0 to 3600; got -1/ },
    { name: 'a max age shorter than the cooldown', content: { oidcIssuers: [issuer({ cooldownSeconds: 60, maxAgeSeconds: 30 })] }, message: /oidcIssuers\[0\]\.maxAgeSeconds \(30\) must not be shorter than cooldownSeconds \(60\)/ },
    { name: 'a tenant with both claim and value', content: { oidcIssuers: [issuer({ claims: { tenant: { claim: 'agency', value: 'rj-smtr' } } })] }, message: /oidcIssuers\[0\]\.claims\.tenant needs exactly one of "claim"/ },
    { name: 'an invalid fixed tenant', content: { oidcIssuers: [issuer({ claims: { tenant: { value: 'RJ SMTR' } } })] }, message: /oidcIssuers\[0\]\.claims\.tenant\.value tenant "RJ SMTR" is not valid/ },
    { name: 'a role map to an unknown role', content: { oidcIssuers: [issuer({ claims: { role: { claim: 'groups', map: { 'city-data-devs': 'owner' } } } })] }, message: /oidcIssuers\[0\]\.claims\.role\.map\["city-data-devs"\] "owner" is not one of admin, tenant-admin/ },
    { name: 'an empty role map', content: { oidcIssuers: [issuer({ claims: { role: { claim: 'groups', map: {} } } })] }, message: /claims\.role\.map is empty/ },
    { name: 'a fixed role with a map', content: { oidcIssuers: [issuer({ claims: { role: { value: 'ci', map: { a: 'ci' } } } })] }, message: /claims\.role\.map applies only with "claim"/ },
    { name: 'the same issuer twice', content: { oidcIssuers: [issuer(), issuer()] }, message: /oidcIssuers\[1\]\.issuer "https:\/\/id\.example\.gov\.br\/realms\/rio" is listed twice/ },
  ])('refuses $name with BAD_USER_INPUT naming the key', async ({ content, message }) => {
    await expect(loadAuthConfig(await configFile(content))).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
  });

  it('says so when the file does not exist', async () => {
    const path = join(await tempDir(), 'missing.json');
    await expect(loadAuthConfig(path)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: `auth config ${path} does not exist` });
  });

  it('validates issuers passed to createTokenVerifier in code the same way', async () => {
    const { publicKeys } = await freshKeys();
    expect(() => createTokenVerifier({ publicKeys, oidcIssuers: [issuer({ algorithms: ['HS256'] })] })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/oidcIssuers\[0\]\.algorithms\[0\] HS256 is symmetric/) }),
    );
  });
});
