import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { IDENTITY_HEADER, REQUEST_ID_HEADER, signIdentity, verifyIdentity } from '../../common/identity.js';
import { createToken } from '../../auth-proxy/tokens.js';
import { freePort } from '../support/harness.js';
import { startEchoUpstream, type EchoedRequest } from './support/echo-upstream.js';
import { call, claims, codeAndMessage, freshKeys, signRaw, startTestProxy, unsignedToken, untrustedJwk, type Keys } from './support/fixtures.js';

const query = JSON.stringify({ query: '{ viewer { tenant } }' });

async function setup(options: Parameters<typeof startTestProxy>[2] = {}) {
  const keys = await freshKeys();
  const upstream = await startEchoUpstream();
  const proxy = await startTestProxy(keys, upstream.url, options);
  const { token } = await createToken({ tenant: 'rj-smtr', role: 'developer', subject: 'ana' }, keys.privateJwk);
  return { keys, upstream, proxy, token };
}

describe('refusing requests without a valid token', () => {
  // Each case builds the Authorization header from the trusted keys; every one must be refused with
  // 401 and its code before the server is contacted.
  const cases: { name: string; authorization: (keys: Keys) => Promise<string | undefined>; code: string; message: RegExp }[] = [
    { name: 'no Authorization header', authorization: async () => undefined, code: 'TOKEN_MISSING', message: /no bearer token/ },
    { name: 'a Basic credential', authorization: async () => 'Basic YW5hOnNlY3JldA==', code: 'TOKEN_MISSING', message: /not a bearer token/ },
    { name: 'a malformed token', authorization: async () => 'Bearer not-a-jwt', code: 'TOKEN_INVALID', message: /malformed/ },
    {
      name: 'a signature from another key with the trusted kid',
      authorization: async (keys) => `Bearer ${await signRaw(claims(), await untrustedJwk(keys.privateJwk.kid!))}`,
      code: 'TOKEN_INVALID',
      message: /signature does not verify/,
    },
    {
      name: 'a key id the proxy does not know',
      authorization: async () => `Bearer ${await signRaw(claims(), await untrustedJwk('someone-elses-key'))}`,
      code: 'TOKEN_INVALID',
      message: /key this proxy does not trust/,
    },
    {
      name: 'an exp in the past (beyond the clock tolerance)',
      authorization: async (keys) => `Bearer ${await signRaw(claims({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 60 }), keys.privateJwk)}`,
      code: 'TOKEN_EXPIRED',
      message: /token expired at .*fluxo token create/,
    },
    { name: 'a wrong audience', authorization: async (keys) => `Bearer ${await signRaw(claims({ aud: 'other-api' }), keys.privateJwk)}`, code: 'TOKEN_INVALID', message: /"aud" claim .*expected "fluxo-api"/ },
    { name: 'a wrong issuer', authorization: async (keys) => `Bearer ${await signRaw(claims({ iss: 'evil' }), keys.privateJwk)}`, code: 'TOKEN_INVALID', message: /"iss" claim .*expected "fluxo"/ },
    { name: 'no exp', authorization: async (keys) => `Bearer ${await signRaw(claims({ exp: undefined }), keys.privateJwk)}`, code: 'TOKEN_INVALID', message: /"exp" claim is missing/ },
    { name: 'no sub', authorization: async (keys) => `Bearer ${await signRaw(claims({ sub: undefined }), keys.privateJwk)}`, code: 'TOKEN_INVALID', message: /"sub" claim is missing/ },
    { name: 'alg none (unsigned)', authorization: async () => `Bearer ${unsignedToken(claims())}`, code: 'TOKEN_INVALID', message: /algorithm is not allowed/ },
    {
      // The classic confusion attack: HMAC with the public key's bytes as the secret.
      name: 'HS256 keyed with the public key',
      authorization: async (keys) => {
        const publicX = Buffer.from(String(keys.publicKeys.keys[0]!.x), 'base64url');
        const secret = new Uint8Array(Buffer.concat([publicX, publicX]));
        return `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: keys.privateJwk.kid }).sign(secret)}`;
      },
      code: 'TOKEN_INVALID',
      message: /algorithm is not allowed/,
    },
    { name: 'an unknown role', authorization: async (keys) => `Bearer ${await signRaw(claims({ role: 'root' }), keys.privateJwk)}`, code: 'TOKEN_INVALID', message: /role "root" is not one of admin, developer, viewer, agent/ },
    { name: 'no tenant', authorization: async (keys) => `Bearer ${await signRaw(claims({ tenant: undefined }), keys.privateJwk)}`, code: 'TOKEN_INVALID', message: /tenant is missing/ },
    { name: 'an invalid tenant', authorization: async (keys) => `Bearer ${await signRaw(claims({ tenant: 'RJ SMTR' }), keys.privateJwk)}`, code: 'TOKEN_INVALID', message: /tenant "RJ SMTR" is not valid/ },
  ];

  it.each(cases)('refuses $name with 401 $code and never reaches the server', async ({ authorization, code, message }) => {
    const { keys, upstream, proxy } = await setup();
    const header = await authorization(keys);
    const answer = await call(`${proxy.url}/graphql`, {
      headers: { 'content-type': 'application/json', ...(header === undefined ? {} : { authorization: header }) },
      body: query,
    });
    expect(answer.status).toBe(401);
    expect(codeAndMessage(answer.body)).toEqual({ code, message: expect.stringMatching(message) });
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm="fluxo"/);
    expect(upstream.requests).toEqual([]);
  });

  it('answers GET /healthz without a token and without contacting the server', async () => {
    const { upstream, proxy } = await setup();
    const answer = await call(`${proxy.url}/healthz`, { method: 'GET' });
    expect({ status: answer.status, body: JSON.parse(answer.body) }).toEqual({ status: 200, body: { status: 'ok' } });
    expect(upstream.requests).toEqual([]);
  });
});

describe('forwarding an authenticated request', () => {
  it('replaces a forged identity header with one the proxy signed for the token', async () => {
    const { keys, upstream, proxy, token } = await setup();
    // Even a correctly signed identity for another tenant (as if the secret leaked) is discarded.
    const forged = await signIdentity({ subject: 'mallory', tenant: 'rj-escritorio', role: 'admin' }, keys.identitySecret);
    const answer = await call(`${proxy.url}/graphql?x=1`, {
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        [IDENTITY_HEADER]: forged,
        'x-fluxo-tenant': 'rj-escritorio',
        [REQUEST_ID_HEADER]: 'chosen-by-client',
      },
      body: query,
    });
    expect(answer.status).toBe(200);
    const echoed = JSON.parse(answer.body) as EchoedRequest;
    expect(await verifyIdentity(echoed.headers[IDENTITY_HEADER] as string, keys.identitySecret)).toEqual({ subject: 'ana', tenant: 'rj-smtr', role: 'developer' });
    expect(echoed.headers['x-fluxo-tenant']).toBeUndefined();
    expect(echoed.headers[REQUEST_ID_HEADER]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(answer.headers[REQUEST_ID_HEADER]).toBe(echoed.headers[REQUEST_ID_HEADER]);
  });

  it('does not forward the Authorization header and passes method, path, query and body unchanged', async () => {
    const { upstream, proxy, token } = await setup();
    const answer = await call(`${proxy.url}/graphql?op=viewer`, { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: query });
    expect(answer.status).toBe(200);
    expect(answer.headers['x-upstream']).toBe('echo');
    expect(upstream.requests).toHaveLength(1);
    const [seen] = upstream.requests;
    expect(seen).toMatchObject({ method: 'POST', url: '/graphql?op=viewer', body: query });
    expect(seen!.headers.authorization).toBeUndefined();
    expect(seen!.headers['content-type']).toBe('application/json');
  });

  it('accepts a token whose exp passed within the clock tolerance', async () => {
    const { keys, upstream, proxy } = await setup({ clockToleranceSeconds: 30 });
    const now = Math.floor(Date.now() / 1000);
    const token = await signRaw(claims({ iat: now - 100, exp: now - 5 }), keys.privateJwk);
    const answer = await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}` }, body: query });
    expect(answer.status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
  });

  it('waits for a slow (long-poll) answer and forwards it', async () => {
    const { proxy, token } = await setup();
    const answer = await call(`${proxy.url}/slow?ms=1500`, { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ url: '/slow?ms=1500' });
  });

  it('releases the upstream request when the client disconnects mid long-poll', async () => {
    const { upstream, proxy, token } = await setup();
    const { request } = await import('node:http');
    const req = request(`${proxy.url}/slow?ms=20000`, { method: 'GET', headers: { authorization: `Bearer ${token}` }, agent: false });
    req.on('error', () => undefined);
    req.end();
    const { waitFor } = await import('../support/harness.js');
    await waitFor(() => upstream.requests.length === 1, { what: 'the long-poll to reach the upstream' });
    req.destroy();
    await waitFor(() => upstream.abandoned.includes('/slow?ms=20000'), { what: 'the upstream request to be released' });
  });

  it('answers 503 SERVICE_UNAVAILABLE with a coded body when the server is down', async () => {
    const keys = await freshKeys();
    const proxy = await startTestProxy(keys, `http://127.0.0.1:${await freePort()}`);
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'viewer' }, keys.privateJwk);
    const answer = await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}` }, body: query });
    expect(answer.status).toBe(503);
    expect(codeAndMessage(answer.body)).toEqual({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/not reachable \(ECONNREFUSED\); retry shortly/) });
  });
});

describe('limiting request bodies', () => {
  const limit = 1024;

  it.each([
    { name: 'a declared content-length over the limit', body: () => ({ body: Buffer.alloc(limit + 1, 'a') }) },
    { name: 'a chunked body that grows over the limit', body: () => ({ chunks: [Buffer.alloc(600, 'a'), Buffer.alloc(600, 'b')] }) },
    { name: 'a large chunked upload', body: () => ({ chunks: Array.from({ length: 64 }, () => Buffer.alloc(16 * 1024, 'c')) }) },
  ])('refuses $name with 413 PAYLOAD_TOO_LARGE before reaching the server', async ({ body }) => {
    const { upstream, proxy, token } = await setup({ maxBodyBytes: limit });
    const answer = await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}` }, ...body() });
    expect(answer.status).toBe(413);
    expect(codeAndMessage(answer.body)).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: `the request body exceeds the limit of ${limit} bytes` });
    expect(upstream.requests).toEqual([]);
  });

  it.each([
    { name: 'with content-length', send: () => ({ body: Buffer.alloc(limit, 'a') }) },
    { name: 'chunked', send: () => ({ chunks: [Buffer.alloc(limit / 2, 'a'), Buffer.alloc(limit / 2, 'a')] }) },
  ])('forwards a body of exactly the limit ($name)', async ({ send }) => {
    const { upstream, proxy, token } = await setup({ maxBodyBytes: limit });
    const answer = await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}` }, ...send() });
    expect(answer.status).toBe(200);
    expect(upstream.requests[0]!.body).toBe('a'.repeat(limit));
    expect(upstream.requests[0]!.headers['content-length']).toBe(String(limit));
  });
});
