import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { IDENTITY_HEADER, REQUEST_ID_HEADER, signIdentity, verifyIdentity } from '../../common/identity.js';
import type { RefusalAuditEvent } from '../../auth-proxy/admission.js';
import { createToken } from '../../auth-proxy/tokens.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLClient } from '../../client/graphql-client.js';
import { freePort, onCleanup } from '../support/harness.js';
import { selfSignedCertificate } from '../support/tls.js';
import { startEchoUpstream, type EchoedRequest } from './support/echo-upstream.js';
import { call, claims, codeAndMessage, freshKeys, signRaw, startTestProxy, unsignedToken, untrustedJwk, type Keys } from './support/fixtures.js';

const query = JSON.stringify({ query: '{ viewer { tenant } }' });

async function setup(options: Parameters<typeof startTestProxy>[2] = {}) {
  const keys = await freshKeys();
  const upstream = await startEchoUpstream();
  const audited: RefusalAuditEvent[] = [];
  const proxy = await startTestProxy(keys, upstream.url, { audit: { record: (event) => audited.push(event) }, ...options });
  const { token } = await createToken({ tenant: 'rj-smtr', role: 'developer', subject: 'ana' }, keys.privateJwk);
  return { keys, upstream, proxy, token, audited };
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
      code: 'TOKEN_SIGNATURE_INVALID',
      message: /signature does not verify/,
    },
    {
      name: 'a key id the proxy does not know',
      authorization: async () => `Bearer ${await signRaw(claims(), await untrustedJwk('someone-elses-key'))}`,
      code: 'TOKEN_KEY_UNKNOWN',
      message: /names no key in the proxy's public key set/,
    },
    {
      name: 'an exp in the past (beyond the clock tolerance)',
      authorization: async (keys) => `Bearer ${await signRaw(claims({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 60 }), keys.privateJwk)}`,
      code: 'TOKEN_EXPIRED',
      message: /token expired at .*fluxo token sign/,
    },
    { name: 'a wrong audience', authorization: async (keys) => `Bearer ${await signRaw(claims({ aud: 'other-api' }), keys.privateJwk)}`, code: 'TOKEN_AUDIENCE_MISMATCH', message: /audience "other-api" does not include "fluxo-api"/ },
    { name: 'a wrong issuer', authorization: async (keys) => `Bearer ${await signRaw(claims({ iss: 'evil' }), keys.privateJwk)}`, code: 'TOKEN_ISSUER_MISMATCH', message: /issuer "evil" is not trusted/ },
    { name: 'no exp', authorization: async (keys) => `Bearer ${await signRaw(claims({ exp: undefined }), keys.privateJwk)}`, code: 'TOKEN_CLAIM_MISSING', message: /no "exp" claim/ },
    { name: 'no sub', authorization: async (keys) => `Bearer ${await signRaw(claims({ sub: undefined }), keys.privateJwk)}`, code: 'TOKEN_CLAIM_MISSING', message: /no "sub" claim/ },
    { name: 'alg none (unsigned)', authorization: async () => `Bearer ${unsignedToken(claims())}`, code: 'TOKEN_UNSIGNED', message: /unsigned \(alg "none"\)/ },
    {
      // The classic confusion attack: HMAC with the public key's bytes as the secret.
      name: 'HS256 keyed with the public key',
      authorization: async (keys) => {
        const publicX = Buffer.from(String(keys.publicKeys.keys[0]!.x), 'base64url');
        const secret = new Uint8Array(Buffer.concat([publicX, publicX]));
        return `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: keys.privateJwk.kid }).sign(secret)}`;
      },
      code: 'TOKEN_ALGORITHM_NOT_ALLOWED',
      message: /algorithm "HS256" is not allowed/,
    },
    {
      name: 'nbf in the future (beyond the clock tolerance)',
      authorization: async (keys) => `Bearer ${await signRaw(claims({ nbf: Math.floor(Date.now() / 1000) + 3600 }), keys.privateJwk)}`,
      code: 'TOKEN_NOT_YET_VALID',
      message: /nbf|not valid before|not yet valid/i,
    },
    {
      name: 'a jku header pointing at a key set elsewhere',
      authorization: async (keys) => `Bearer ${await signRaw(claims(), keys.privateJwk, { jku: 'https://attacker.example/jwks.json' })}`,
      code: 'TOKEN_HEADER_FORBIDDEN',
      message: /jku/,
    },
    { name: 'an unknown role', authorization: async (keys) => `Bearer ${await signRaw(claims({ role: 'root' }), keys.privateJwk)}`, code: 'TOKEN_INVALID', message: /role "root" is not one of admin, tenant-admin, developer, viewer, agent, ci/ },
    { name: 'no tenant', authorization: async (keys) => `Bearer ${await signRaw(claims({ tenant: undefined }), keys.privateJwk)}`, code: 'TOKEN_CLAIM_MISSING', message: /no "tenant" claim/ },
    { name: 'an invalid tenant', authorization: async (keys) => `Bearer ${await signRaw(claims({ tenant: 'RJ SMTR' }), keys.privateJwk)}`, code: 'TOKEN_INVALID', message: /tenant "RJ SMTR" is not valid/ },
  ];

  it.each(cases)('refuses $name with 401 $code and never reaches the server', async ({ authorization, code, message }) => {
    const { keys, upstream, proxy, audited } = await setup();
    const header = await authorization(keys);
    const answer = await call(`${proxy.url}/graphql`, {
      headers: { 'content-type': 'application/json', ...(header === undefined ? {} : { authorization: header }) },
      body: query,
    });
    expect(answer.status).toBe(401);
    expect(codeAndMessage(answer.body)).toEqual({ code, message: expect.stringMatching(message) });
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm="fluxo"/);
    expect(upstream.requests).toEqual([]);
    expect(audited).toEqual([
      { at: expect.any(Number), action: 'proxy.authenticate', requestId: answer.headers[REQUEST_ID_HEADER], outcome: 'DENIED', code, detail: expect.stringMatching(message) },
    ]);
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
        'x-fluxo-tenant': 'rj-smtr',
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

describe('checking token kinds per operation', () => {
  const claim = 'mutation Claim { claimFlowRuns(input: { agentId: "a", max: 1 }) { leaseToken } }';
  const cases: { name: string; role: 'agent' | 'developer'; body: Record<string, unknown>; refused?: RegExp }[] = [
    { name: 'an agent token on a user query', role: 'agent', body: { query: '{ flows { nodes { id } } }' }, refused: /agent token may call only agent operations .*; query\.flows needs a user token/ },
    { name: 'an agent token on a user field behind an alias', role: 'agent', body: { query: '{ mine: flowRuns { nodes { id } } }' }, refused: /query\.flowRuns needs a user token/ },
    {
      name: 'an agent token on a user field inside a fragment on the root',
      role: 'agent',
      body: { query: 'query { viewer { tenant } ...more } fragment more on Query { ... on Query { projects { name } } }' },
      refused: /query\.projects needs a user token/,
    },
    { name: 'an agent token on a user mutation', role: 'agent', body: { query: 'mutation { createFlowRun(input: { flowName: "x" }) { id } }' }, refused: /mutation\.createFlowRun needs a user token/ },
    { name: 'an agent token on a user field skipped by @skip', role: 'agent', body: { query: '{ viewer { tenant } flows @skip(if: true) { nodes { id } } }' }, refused: /query\.flows/ },
    { name: 'an agent token on introspection', role: 'agent', body: { query: '{ __schema { queryType { name } } }' }, refused: /query\.__schema needs a user token/ },
    { name: 'a user token on an agent mutation', role: 'developer', body: { query: claim }, refused: /mutation\.claimFlowRuns is an agent operation: call it with an agent token/ },
    {
      name: 'a user token on the agent operation it names among several',
      role: 'developer',
      body: { query: `query Mine { flows { nodes { id } } } ${claim}`, operationName: 'Claim' },
      refused: /mutation\.claimFlowRuns is an agent operation/,
    },
    { name: 'an agent token on an agent mutation', role: 'agent', body: { query: claim } },
    { name: 'an agent token on viewer and flowRun (any kind)', role: 'agent', body: { query: '{ viewer { tenant } flowRun(id: "r") { id } __typename }' } },
    { name: 'a user token on viewer and flowRun (any kind)', role: 'developer', body: { query: '{ viewer { tenant } flowRun(id: "r") { id } }' } },
    { name: 'a user token on a user query', role: 'developer', body: { query: '{ flows { nodes { id } } }' } },
    {
      name: 'an agent token on the agent operation it names among several',
      role: 'agent',
      body: { query: `query Mine { flows { nodes { id } } } ${claim}`, operationName: 'Claim' },
    },
  ];

  it.each(cases)('$name: ' + '$refused', async ({ role, body, refused }) => {
    const { keys, upstream, proxy, audited } = await setup();
    const { token } = await createToken({ tenant: 'rj-smtr', role, subject: `${role}-1` }, keys.privateJwk);
    const answer = await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!refused) {
      expect(answer.status).toBe(200);
      expect(upstream.requests).toHaveLength(1);
      return;
    }
    expect({ status: answer.status, ...codeAndMessage(answer.body) }).toEqual({ status: 403, code: 'TOKEN_KIND_MISMATCH', message: expect.stringMatching(refused) });
    expect(upstream.requests).toEqual([]);
    expect(audited).toEqual([expect.objectContaining({ tenant: 'rj-smtr', subject: `${role}-1`, role, outcome: 'DENIED', code: 'TOKEN_KIND_MISMATCH', requestId: answer.headers[REQUEST_ID_HEADER] })]);
  });

  it('checks a GET request\'s query parameter the same way', async () => {
    const { keys, upstream, proxy } = await setup();
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'agent' }, keys.privateJwk);
    const refused = await call(`${proxy.url}/graphql?query=${encodeURIComponent('{ flows { nodes { id } } }')}`, { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    expect({ status: refused.status, code: codeAndMessage(refused.body).code }).toEqual({ status: 403, code: 'TOKEN_KIND_MISMATCH' });
    const allowed = await call(`${proxy.url}/graphql?query=${encodeURIComponent('{ viewer { tenant } }')}`, { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    expect(allowed.status).toBe(200);
    expect(upstream.requests.map((request) => request.url)).toEqual([`/graphql?query=${encodeURIComponent('{ viewer { tenant } }')}`]);
  });

  it.each([
    { name: 'a batch (JSON array)', body: JSON.stringify([{ query: '{ viewer { tenant } }' }, { query: '{ viewer { role } }' }]), code: 'BAD_USER_INPUT', message: 'batched requests are not supported: send one operation per request' },
    { name: 'a persisted query by hash alone', body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } }), code: 'BAD_USER_INPUT', message: expect.stringMatching(/has no GraphQL query.*persisted queries/) },
    { name: 'an empty object', body: '{}', code: 'BAD_USER_INPUT', message: expect.stringMatching(/has no GraphQL query/) },
    { name: 'a document over the token limit', body: JSON.stringify({ query: `{ ${'viewer { tenant } '.repeat(2_000)}}` }), code: 'QUERY_TOO_COMPLEX', message: expect.stringMatching(/more than 5000 tokens/) },
  ])('refuses $name with 400 $code before the server', async ({ body, code, message }) => {
    const { upstream, proxy, token } = await setup();
    const answer = await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    expect({ status: answer.status, ...codeAndMessage(answer.body) }).toEqual({ status: 400, code, message });
    expect(upstream.requests).toEqual([]);
  });

  it('leaves a document that does not parse, and a body that is not JSON, to the server', async () => {
    const { upstream, proxy, keys } = await setup();
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'agent' }, keys.privateJwk);
    for (const body of [JSON.stringify({ query: '{ flows { nodes { id }' }), '{not json']) {
      expect((await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}` }, body })).status).toBe(200);
    }
    expect(upstream.requests).toHaveLength(2);
  });

  it('forwards the normalised path it checked, so the server routes what the proxy judged', async () => {
    const { upstream, proxy, keys } = await setup();
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'agent' }, keys.privateJwk);
    const refused = await call(`${proxy.url}/x/../graphql`, { headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ query: '{ flows { nodes { id } } }' }) });
    expect(codeAndMessage(refused.body).code).toBe('TOKEN_KIND_MISMATCH');
    await call(`${proxy.url}/./other?a=1`, { headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ query: '{ flows { nodes { id } } }' }) });
    expect(upstream.requests.map((request) => request.url)).toEqual(['/other?a=1']);
  });
});

describe('acting in another tenant', () => {
  it('lets an admin act in the tenant named by x-fluxo-tenant, and strips the header', async () => {
    const { keys, upstream, proxy } = await setup();
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'admin', subject: 'root' }, keys.privateJwk);
    const answer = await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}`, 'x-fluxo-tenant': 'rj-cor' }, body: query });
    expect(answer.status).toBe(200);
    const [seen] = upstream.requests;
    expect(await verifyIdentity(seen!.headers[IDENTITY_HEADER] as string, keys.identitySecret)).toEqual({ subject: 'root', tenant: 'rj-cor', role: 'admin' });
    expect(seen!.headers['x-fluxo-tenant']).toBeUndefined();
  });

  it.each(['tenant-admin', 'developer', 'viewer', 'agent', 'ci'] as const)('refuses a %s naming another tenant with 403 FORBIDDEN, and audits it', async (role) => {
    const { keys, upstream, proxy, audited } = await setup();
    const { token } = await createToken({ tenant: 'rj-smtr', role, subject: 'someone' }, keys.privateJwk);
    const answer = await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}`, 'x-fluxo-tenant': 'rj-cor' }, body: query });
    expect({ status: answer.status, ...codeAndMessage(answer.body) }).toEqual({
      status: 403,
      code: 'FORBIDDEN',
      message: `only admins may act in another tenant: this ${role} token belongs to tenant "rj-smtr" and x-fluxo-tenant asks for "rj-cor"; drop the header`,
    });
    expect(upstream.requests).toEqual([]);
    expect(audited).toEqual([expect.objectContaining({ action: 'proxy.tenant', tenant: 'rj-smtr', subject: 'someone', role, code: 'FORBIDDEN' })]);
  });

  it('accepts the header naming the caller\'s own tenant', async () => {
    const { upstream, proxy, token } = await setup();
    expect((await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}`, 'x-fluxo-tenant': 'rj-smtr' }, body: query })).status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
  });

  it('refuses an admin naming something that is not a tenant with 400 BAD_USER_INPUT', async () => {
    const { keys, upstream, proxy } = await setup();
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'admin' }, keys.privateJwk);
    const answer = await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}`, 'x-fluxo-tenant': 'RJ COR' }, body: query });
    expect({ status: answer.status, ...codeAndMessage(answer.body) }).toEqual({ status: 400, code: 'BAD_USER_INPUT', message: expect.stringMatching(/^x-fluxo-tenant: tenant "RJ COR" is not valid/) });
    expect(upstream.requests).toEqual([]);
  });
});

describe('rate limits', () => {
  it('refuses a token over its limit with 429 RATE_LIMITED and Retry-After, and audits once per window', async () => {
    const { upstream, proxy, token, audited } = await setup({ rateLimits: { perToken: { ratePerSecond: 0.2, burst: 2 }, perTenant: null } });
    const statuses: number[] = [];
    let refused;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const answer = await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}` }, body: query });
      statuses.push(answer.status);
      if (answer.status === 429) refused = answer;
    }
    expect(statuses).toEqual([200, 200, 429, 429, 429]);
    expect(upstream.requests).toHaveLength(2);
    expect(Number(refused!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused!.headers['retry-after'])).toBeLessThanOrEqual(5);
    expect(codeAndMessage(refused!.body)).toEqual({ code: 'RATE_LIMITED', message: expect.stringMatching(/^too many requests for this token: the token limit is 0\.2 requests\/s \(bursts of 2\); retry after \d s$/) });
    expect(audited).toEqual([expect.objectContaining({ action: 'proxy.rate-limit', code: 'RATE_LIMITED', subject: 'ana', tenant: 'rj-smtr' })]);
  });

  it('counts every token of a tenant against the tenant\'s limit, and names it', async () => {
    const { keys, proxy } = await setup({ rateLimits: { perToken: null, perTenant: { ratePerSecond: 0.5, burst: 2 } } });
    const tokens = await Promise.all(['a', 'b', 'c'].map(async (subject) => (await createToken({ tenant: 'rj-smtr', role: 'viewer', subject }, keys.privateJwk)).token));
    const answers = [];
    for (const token of tokens) answers.push(await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}` }, body: query }));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(codeAndMessage(answers[2]!.body).message).toMatch(/^too many requests for tenant "rj-smtr": the tenant limit is 0\.5 requests\/s \(bursts of 2\)/);
    const other = (await createToken({ tenant: 'rj-cor', role: 'viewer' }, keys.privateJwk)).token;
    expect((await call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${other}` }, body: query })).status).toBe(200);
  });
});

describe('GraphQLClient and rate limits', () => {
  it('waits Retry-After and sends a refused request again, within its timeout', async () => {
    const keys = await freshKeys();
    const answered: string[] = [];
    const server = createServer((req, res) => {
      answered.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"viewer":{"tenant":"rj-smtr"}}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const proxy = await startTestProxy(keys, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      audit: { record: () => undefined },
      rateLimits: { perToken: { ratePerSecond: 1, burst: 1 }, perTenant: null },
    });
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'viewer' }, keys.privateJwk);
    const client = new GraphQLClient({ apiUrl: `${proxy.url}/graphql`, token });
    await client.request('{ viewer { tenant } }');
    const started = Date.now();
    expect(await client.request('{ viewer { tenant } }')).toEqual({ viewer: { tenant: 'rj-smtr' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    await expect(client.request('{ viewer { tenant } }', {}, { timeoutMs: 500 })).rejects.toMatchObject({ name: 'RateLimitedError', code: 'RATE_LIMITED', retryAfterSeconds: 1 });
    expect(answered).toHaveLength(2);
  });
});

describe('starting with bad settings', () => {
  it.each([
    { name: 'a rate of 0 (use null to disable)', options: { rateLimits: { perToken: { ratePerSecond: 0, burst: 1 } } }, message: 'invalid rate limit: ratePerSecond must be a number above 0' },
    { name: 'a burst below 1', options: { rateLimits: { perTenant: { ratePerSecond: 1, burst: 0.5 } } }, message: 'invalid rate limit: burst must be a whole number of at least 1' },
    { name: 'a token limit of 0', options: { maxQueryTokens: 0 }, message: 'maxTokens must be a positive integer' },
    { name: 'a connection_init timeout of 0', options: { connectionInitTimeoutMs: 0 }, message: 'connectionInitTimeoutMs must be a positive integer' },
  ])('throws a TypeError for $name', async ({ options, message }) => {
    const keys = await freshKeys();
    await expect(startTestProxy(keys, 'http://127.0.0.1:1', options)).rejects.toThrow(new TypeError(message));
  });

  it('refuses TLS credentials whose key does not match with BAD_USER_INPUT', async () => {
    const keys = await freshKeys();
    const [one, other] = [await selfSignedCertificate(), await selfSignedCertificate()];
    await expect(startTestProxy(keys, 'http://127.0.0.1:1', { tls: { cert: one.cert, key: other.key } })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringMatching(/^the TLS key tls\.key does not belong to the certificate tls\.cert/),
    });
  });
});
