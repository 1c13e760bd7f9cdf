import { describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { createToken, parseTtl } from '../../auth-proxy/tokens.js';
import { createTokenVerifier } from '../../auth-proxy/verify-token.js';
import { freshKeys } from './support/fixtures.js';

describe('creating tokens', () => {
  it('signs EdDSA with the key id and the documented claims', async () => {
    const keys = await freshKeys();
    const before = Math.floor(Date.now() / 1000);
    const { token, expiresAt } = await createToken({ tenant: 'rj-smtr', role: 'agent', labels: ['gpu', 'rj-smtr'], ttlSeconds: 7200 }, keys.privateJwk);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', kid: keys.privateJwk.kid, typ: 'fluxo-agent+jwt' });
    const payload = decodeJwt(token);
    expect(payload).toEqual({
      iss: 'fluxo',
      aud: 'fluxo-api',
      sub: 'agent@rj-smtr',
      tenant: 'rj-smtr',
      role: 'agent',
      labels: ['gpu', 'rj-smtr'],
      iat: expect.any(Number),
      exp: payload.iat! + 7200,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(expiresAt).toBe(new Date(payload.exp! * 1000).toISOString());
  });

  it.each(['admin', 'tenant-admin', 'developer', 'viewer', 'ci'])('types a %s token as a user token', async (role) => {
    const keys = await freshKeys();
    const { token } = await createToken({ tenant: 'rj-smtr', role }, keys.privateJwk);
    expect(decodeProtectedHeader(token).typ).toBe('fluxo-user+jwt');
  });

  it('mints a token the proxy verifier accepts as the requested identity', async () => {
    const keys = await freshKeys();
    const { token } = await createToken({ tenant: 'rj-escritorio', role: 'admin', subject: 'ci@github' }, keys.privateJwk);
    const verified = await createTokenVerifier({ publicKeys: keys.publicKeys })(`Bearer ${token}`);
    expect(verified).toMatchObject({ identity: { subject: 'ci@github', tenant: 'rj-escritorio', role: 'admin' }, kind: 'user', source: 'fluxo' });
  });

  it('signs ES256 with a P-256 key', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'p256' };
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'viewer' }, jwk);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: 'p256' });
  });

  it.each([
    { name: 'an upper-case tenant', request: { tenant: 'RJ', role: 'admin' }, message: /tenant "RJ" is not valid/ },
    { name: 'a tenant starting with "-"', request: { tenant: '-rj', role: 'admin' }, message: /tenant "-rj" is not valid/ },
    { name: 'a 64-character tenant', request: { tenant: 'a'.repeat(64), role: 'admin' }, message: /is not valid/ },
    { name: 'an empty tenant', request: { tenant: '', role: 'admin' }, message: /tenant is missing/ },
    { name: 'an unknown role', request: { tenant: 'rj', role: 'owner' }, message: /role "owner" is not one of admin, tenant-admin, developer, viewer, agent, ci/ },
    { name: 'a ttl of 0', request: { tenant: 'rj', role: 'admin', ttlSeconds: 0 }, message: /ttl must be .* between 1 and 31536000/ },
    { name: 'a ttl over 365 days', request: { tenant: 'rj', role: 'admin', ttlSeconds: 366 * 86400 }, message: /ttl must be/ },
    { name: 'a fractional ttl', request: { tenant: 'rj', role: 'admin', ttlSeconds: 1.5 }, message: /whole number/ },
    { name: 'an empty subject', request: { tenant: 'rj', role: 'admin', subject: ' ' }, message: /subject \(sub\) is missing/ },
    { name: 'a label with a space', request: { tenant: 'rj', role: 'agent', labels: ['a b'] }, message: /label "a b" is not valid/ },
  ])('refuses $name with BAD_USER_INPUT', async ({ request, message }) => {
    const keys = await freshKeys();
    await expect(createToken(request, keys.privateJwk)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
  });
});

describe('parsing token lifetimes', () => {
  it.each([
    ['90s', 90],
    ['30m', 1800],
    ['1h', 3600],
    ['7d', 604800],
    ['365d', 31536000],
    ['45', 45],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseTtl(text)).toBe(seconds);
  });

  it.each([
    ['an unknown unit', '1w', /not a duration/],
    ['a negative value', '-5m', /not a duration/],
    ['zero', '0s', /between 1 and/],
    ['more than a year', '366d', /between 1 and/],
    ['nothing', '', /not a duration/],
  ])('refuses %s', (_name, text, message) => {
    expect(() => parseTtl(text)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) }));
  });
});
