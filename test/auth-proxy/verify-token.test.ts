import { createHmac, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { decodeJwt, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../auth-proxy/tokens.js';
import { createTokenVerifier, type TokenVerifierOptions } from '../../auth-proxy/verify-token.js';
import type { VerifiedToken } from '../../auth-proxy/verified-token.js';
import { claims, freshKeys, part, signRaw, unsignedToken, untrustedJwk, type Keys } from './support/fixtures.js';

/** A compact JWS with exactly this header, signed with an Ed25519 private JWK (jose would refuse some of these headers). */
function signWithHeader(header: Record<string, unknown>, payload: Record<string, unknown>, privateJwk: JWK): string {
  const input = `${part(header)}.${part(payload)}`;
  const key = createPrivateKey({ key: privateJwk as never, format: 'jwk' });
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

/** The key-confusion attack: HS256 keyed with the text of the verifier's public key. */
function hs256WithPublicKey(payload: Record<string, unknown>, privateJwk: JWK): string {
  const { d: _private, ...publicJwk } = privateJwk;
  const secret = createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const input = `${part({ alg: 'HS256', typ: 'fluxo-user+jwt', kid: privateJwk.kid })}.${part(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

let keys: Keys;
beforeAll(async () => {
  keys = await freshKeys();
});

const verifierFor = (options: Partial<TokenVerifierOptions> = {}) => createTokenVerifier({ publicKeys: keys.publicKeys, ...options });
const now = () => Math.floor(Date.now() / 1000);
const userHeader = () => ({ alg: 'EdDSA', typ: 'fluxo-user+jwt', kid: keys.privateJwk.kid });

describe('the negative token corpus', () => {
  const corpus: { name: string; authorization: () => Promise<string | undefined>; code: string; message: RegExp }[] = [
    { name: 'no bearer token', authorization: async () => undefined, code: 'TOKEN_MISSING', message: /no bearer token: send "Authorization: Bearer <token>"/ },
    { name: 'alg none', authorization: async () => `Bearer ${unsignedToken(claims())}`, code: 'TOKEN_UNSIGNED', message: /unsigned \(alg "none"\)/ },
    { name: 'HS256 signed with the public key', authorization: async () => `Bearer ${hs256WithPublicKey(claims(), keys.privateJwk)}`, code: 'TOKEN_ALGORITHM_NOT_ALLOWED', message: /algorithm "HS256" is not allowed for fluxo \(accepted: EdDSA, ES256, RS256/ },
    { name: 'a jku header', authorization: async () => `Bearer ${await signRaw(claims(), keys.privateJwk, { jku: 'https://attacker.example/jwks.json' })}`, code: 'TOKEN_HEADER_FORBIDDEN', message: /header carries "jku"; the proxy never takes keys/ },
    { name: 'no typ', authorization: async () => `Bearer ${await signRaw(claims(), keys.privateJwk, { typ: undefined })}`, code: 'TOKEN_TYPE_INVALID', message: /typ is missing; fluxo tokens are typed fluxo-user\+jwt or fluxo-agent\+jwt/ },
    { name: 'an unknown iss', authorization: async () => `Bearer ${await signRaw(claims({ iss: 'https://evil.example' }), keys.privateJwk)}`, code: 'TOKEN_ISSUER_MISMATCH', message: /issuer "https:\/\/evil.example" is not trusted by this proxy \(trusted: fluxo\)/ },
    { name: 'an unknown kid', authorization: async () => `Bearer ${await signRaw(claims(), await untrustedJwk('someone-elses-key'))}`, code: 'TOKEN_KEY_UNKNOWN', message: /kid "someone-elses-key" \(alg EdDSA\) names no key in the proxy's public key set/ },
    { name: 'a bad signature', authorization: async () => `Bearer ${await signRaw(claims(), await untrustedJwk(keys.privateJwk.kid!))}`, code: 'TOKEN_SIGNATURE_INVALID', message: /signature does not verify/ },
    { name: 'no exp', authorization: async () => `Bearer ${await signRaw(claims({ exp: undefined }), keys.privateJwk)}`, code: 'TOKEN_CLAIM_MISSING', message: /no "exp" claim \(every token must carry it\)/ },
    { name: 'a wrong aud', authorization: async () => `Bearer ${await signRaw(claims({ aud: 'other-api' }), keys.privateJwk)}`, code: 'TOKEN_AUDIENCE_MISMATCH', message: /audience "other-api" does not include "fluxo-api"/ },
    { name: 'an expired token', authorization: async () => `Bearer ${await signRaw(claims({ iat: now() - 600, exp: now() - 60 }), keys.privateJwk)}`, code: 'TOKEN_EXPIRED', message: /the token expired at \d{4}-.*fluxo token sign/ },
    { name: 'nbf in the future', authorization: async () => `Bearer ${await signRaw(claims({ nbf: now() + 120 }), keys.privateJwk)}`, code: 'TOKEN_NOT_YET_VALID', message: /not valid yet \(nbf \d{4}-/ },
    { name: 'an invalid tenant', authorization: async () => `Bearer ${await signRaw(claims({ tenant: 'RJ SMTR' }), keys.privateJwk)}`, code: 'TOKEN_INVALID', message: /tenant "RJ SMTR" is not valid/ },
  ];

  it('gives every refusal in the table its own code', async () => {
    const verify = verifierFor();
    const answered: (string | undefined)[] = [];
    for (const { authorization } of corpus) {
      answered.push(
        await verify(await authorization()).then(
          () => undefined,
          (error: { code?: string }) => error.code,
        ),
      );
    }
    expect(new Set(answered).size).toBe(corpus.length);
  });

  it.each(corpus)('refuses $name with $code', async ({ authorization, code, message }) => {
    await expect(verifierFor()(await authorization())).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  });
});

describe('other shapes of the same refusals', () => {
  it.each([
    { name: 'a Basic credential', authorization: async () => 'Basic YW5hOnNlY3JldA==', code: 'TOKEN_MISSING', message: /not a bearer token/ },
    { name: 'a token that is not a JWT', authorization: async () => 'Bearer not-a-jwt', code: 'TOKEN_INVALID', message: /malformed/ },
    { name: 'alg "None"', authorization: async () => `Bearer ${signWithHeader({ alg: 'None', typ: 'fluxo-user+jwt' }, claims(), keys.privateJwk)}`, code: 'TOKEN_UNSIGNED', message: /unsigned/ },
    { name: 'an x5u header', authorization: async () => `Bearer ${signWithHeader({ ...userHeader(), x5u: 'https://attacker.example/cert.pem' }, claims(), keys.privateJwk)}`, code: 'TOKEN_HEADER_FORBIDDEN', message: /"x5u"/ },
    { name: 'an embedded jwk', authorization: async () => `Bearer ${signWithHeader({ ...userHeader(), jwk: { kty: 'OKP', crv: 'Ed25519', x: keys.privateJwk.x } }, claims(), keys.privateJwk)}`, code: 'TOKEN_HEADER_FORBIDDEN', message: /"jwk"/ },
    { name: 'an x5c chain', authorization: async () => `Bearer ${signWithHeader({ ...userHeader(), x5c: ['MIIB'] }, claims(), keys.privateJwk)}`, code: 'TOKEN_HEADER_FORBIDDEN', message: /"x5c"/ },
    { name: 'a crit header', authorization: async () => `Bearer ${signWithHeader({ ...userHeader(), crit: ['exp'] }, claims(), keys.privateJwk)}`, code: 'TOKEN_HEADER_FORBIDDEN', message: /"crit"/ },
    { name: 'HS512', authorization: async () => `Bearer ${signWithHeader({ ...userHeader(), alg: 'HS512' }, claims(), keys.privateJwk)}`, code: 'TOKEN_ALGORITHM_NOT_ALLOWED', message: /"HS512" is not allowed/ },
    { name: 'an ID token (typ JWT, nonce)', authorization: async () => `Bearer ${await signRaw(claims({ nonce: 'n-0S6_WzA2Mj' }), keys.privateJwk, { typ: 'JWT' })}`, code: 'TOKEN_TYPE_INVALID', message: /typ "JWT"/ },
    { name: "the proxy's own identity header type", authorization: async () => `Bearer ${await signRaw(claims(), keys.privateJwk, { typ: 'fluxo-identity+jwt' })}`, code: 'TOKEN_TYPE_INVALID', message: /typ "fluxo-identity\+jwt"/ },
    { name: 'an agent role typed as a user token', authorization: async () => `Bearer ${await signRaw(claims({ role: 'agent' }), keys.privateJwk, { typ: 'fluxo-user+jwt' })}`, code: 'TOKEN_TYPE_INVALID', message: /grants role "agent" but is typed "fluxo-user\+jwt"; agent tokens are typed fluxo-agent\+jwt/ },
    { name: 'a user role typed as an agent token', authorization: async () => `Bearer ${await signRaw(claims({ role: 'admin' }), keys.privateJwk, { typ: 'fluxo-agent+jwt' })}`, code: 'TOKEN_TYPE_INVALID', message: /grants role "admin" but is typed "fluxo-agent\+jwt"/ },
    { name: 'no iss', authorization: async () => `Bearer ${await signRaw(claims({ iss: undefined }), keys.privateJwk)}`, code: 'TOKEN_CLAIM_MISSING', message: /no "iss" claim/ },
    { name: 'no sub', authorization: async () => `Bearer ${await signRaw(claims({ sub: undefined }), keys.privateJwk)}`, code: 'TOKEN_CLAIM_MISSING', message: /no "sub" claim/ },
    { name: 'no aud', authorization: async () => `Bearer ${await signRaw(claims({ aud: undefined }), keys.privateJwk)}`, code: 'TOKEN_CLAIM_MISSING', message: /no "aud" claim/ },
    { name: 'no tenant', authorization: async () => `Bearer ${await signRaw(claims({ tenant: undefined }), keys.privateJwk)}`, code: 'TOKEN_CLAIM_MISSING', message: /no "tenant" claim/ },
    { name: 'no role', authorization: async () => `Bearer ${await signRaw(claims({ role: undefined }), keys.privateJwk)}`, code: 'TOKEN_CLAIM_MISSING', message: /no "role" claim/ },
    { name: 'an unknown role', authorization: async () => `Bearer ${await signRaw(claims({ role: 'root' }), keys.privateJwk)}`, code: 'TOKEN_INVALID', message: /role "root" is not one of admin, tenant-admin, developer, viewer, agent, ci/ },
    { name: 'a non-numeric exp', authorization: async () => `Bearer ${await signRaw(claims({ exp: 'tomorrow' }), keys.privateJwk)}`, code: 'TOKEN_INVALID', message: /"exp" claim is not acceptable/ },
    { name: 'a service token without a service-token verifier', authorization: async () => 'Bearer fxs_abc123', code: 'TOKEN_INVALID', message: /does not accept fluxo service tokens/ },
  ])('refuses $name with $code', async ({ authorization, code, message }) => {
    await expect(verifierFor()(await authorization())).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it('checks the header before the claims: an unsigned token with a forbidden header and no exp is TOKEN_UNSIGNED', async () => {
    const token = `${Buffer.from(JSON.stringify({ alg: 'none', jku: 'https://attacker.example' })).toString('base64url')}.${Buffer.from('{}').toString('base64url')}.`;
    await expect(verifierFor()(`Bearer ${token}`)).rejects.toMatchObject({ code: 'TOKEN_UNSIGNED' });
  });
});

describe('accepting fluxo tokens', () => {
  it('accepts a user token from createToken as a user of its tenant', async () => {
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'developer', subject: 'ana@rj-smtr' }, keys.privateJwk);
    const payload = decodeJwt(token);
    await expect(verifierFor({ clockToleranceSeconds: 10 })(`Bearer ${token}`)).resolves.toEqual({
      identity: { subject: 'ana@rj-smtr', tenant: 'rj-smtr', role: 'developer' },
      kind: 'user',
      source: 'fluxo',
      expiresAtMs: (payload.exp! + 10) * 1000,
      tokenId: payload.jti,
    });
  });

  it('accepts an agent token from createToken as kind agent', async () => {
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'agent', labels: ['gpu'] }, keys.privateJwk);
    await expect(verifierFor()(`Bearer ${token}`)).resolves.toMatchObject({ kind: 'agent', identity: { role: 'agent', tenant: 'rj-smtr' } });
  });

  it('accepts an expired token within the clock tolerance and refuses it past the tolerance', async () => {
    const token = await signRaw(claims({ iat: now() - 600, exp: now() - 20 }), keys.privateJwk);
    await expect(verifierFor({ clockToleranceSeconds: 30 })(`Bearer ${token}`)).resolves.toMatchObject({ identity: { tenant: 'rj-smtr' } });
    await expect(verifierFor({ clockToleranceSeconds: 10 })(`Bearer ${token}`)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it.each([
    ['more than 300 seconds', 301],
    ['a negative tolerance', -1],
    ['not a number', Number.NaN],
  ])('refuses a clock tolerance of %s at construction', (_name, clockToleranceSeconds) => {
    expect(() => verifierFor({ clockToleranceSeconds })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/clock tolerance must be 0 to 300 seconds/) }));
  });
});

describe('service tokens', () => {
  it('hands fxs_ tokens whole to the service-token verifier, and JWTs never', async () => {
    const seen: string[] = [];
    const serviceIdentity: VerifiedToken = { identity: { subject: 'ci@github', tenant: 'rj-smtr', role: 'ci' }, kind: 'user', expiresAtMs: Number.POSITIVE_INFINITY, tokenId: 'st_1', source: 'service' };
    const verify = verifierFor({
      serviceTokens: async (token) => {
        seen.push(token);
        return serviceIdentity;
      },
    });
    await expect(verify('Bearer fxs_0123456789abcdef')).resolves.toBe(serviceIdentity);
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'viewer' }, keys.privateJwk);
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ source: 'fluxo' });
    expect(seen).toEqual(['fxs_0123456789abcdef']);
  });

  it("passes the service-token verifier's refusal through unchanged", async () => {
    const revoked = Object.assign(new Error('the service token st_1 was revoked'), { code: 'TOKEN_REVOKED' });
    const verify = verifierFor({ serviceTokens: () => Promise.reject(revoked) });
    await expect(verify('Bearer fxs_revoked')).rejects.toBe(revoked);
  });
});

describe('the verified-token cache', () => {
  it('verifies a token once and answers later requests from the cache', async () => {
    const verify = verifierFor();
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'viewer' }, keys.privateJwk);
    const first = await verify(`Bearer ${token}`);
    expect(await verify(`Bearer ${token}`)).toBe(first);
  });

  it('verifies again after 60 seconds', async () => {
    let clock = Date.now();
    const verify = verifierFor({ now: () => clock });
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'viewer', ttlSeconds: 3600 }, keys.privateJwk);
    const first = await verify(`Bearer ${token}`);
    clock += 59_000;
    expect(await verify(`Bearer ${token}`)).toBe(first);
    clock += 2_000;
    const second = await verify(`Bearer ${token}`);
    expect(second).not.toBe(first);
    expect(second).toEqual(first);
  });

  it('never serves a token past its exp', async () => {
    let clock = Date.now();
    const verify = verifierFor({ now: () => clock, clockToleranceSeconds: 0 });
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'viewer', ttlSeconds: 20 }, keys.privateJwk);
    await verify(`Bearer ${token}`);
    clock += 21_000;
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('does not cache when configured with 0 entries', async () => {
    const verify = verifierFor({ cacheEntries: 0 });
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'viewer' }, keys.privateJwk);
    expect(await verify(`Bearer ${token}`)).not.toBe(await verify(`Bearer ${token}`));
  });
});
