import { describe, expect, it } from 'vitest';
import { IDENTITY_HEADER, verifyIdentity } from '../../common/identity.js';
import type { RefusalAuditEvent } from '../../auth-proxy/admission.js';
import { createToken } from '../../auth-proxy/tokens.js';
import { GraphQLClient } from '../../client/graphql-client.js';
import { freePort, onCleanup } from '../support/harness.js';
import { connected, openWebSocket as open } from '../support/websocket-client.js';
import { startEchoUpstream } from './support/echo-upstream.js';
import { claims, codeAndMessage, freshKeys, signRaw, startTestProxy } from './support/fixtures.js';

async function setup(options: Parameters<typeof startTestProxy>[2] = {}) {
  const keys = await freshKeys();
  const upstream = await startEchoUpstream();
  const audited: RefusalAuditEvent[] = [];
  const proxy = await startTestProxy(keys, upstream.url, { audit: { record: (event) => audited.push(event) }, ...options });
  const { token } = await createToken({ tenant: 'rj-smtr', role: 'viewer', subject: 'painel' }, keys.privateJwk);
  return { keys, upstream, proxy, token, audited, wsUrl: `${proxy.url.replace('http', 'ws')}/graphql` };
}

describe('authenticating WebSockets', () => {
  it('authenticates from connection_init, opens the upstream with a signed identity, and drops the token from the payload', async () => {
    const { keys, upstream, token, wsUrl } = await setup();
    const connection = connected(await open(wsUrl));
    connection.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}`, locale: 'pt-BR' } });
    expect(await connection.next()).toEqual({ type: 'connection_ack' });
    expect(upstream.connectionParams).toEqual([{ locale: 'pt-BR' }]);
    const [handshake] = upstream.upgrades;
    expect(await verifyIdentity(handshake![IDENTITY_HEADER] as string, keys.identitySecret)).toEqual({ subject: 'painel', tenant: 'rj-smtr', role: 'viewer' });
    expect(handshake!.authorization).toBeUndefined();

    connection.send({ id: '1', type: 'subscribe', payload: { query: 'subscription { ticks(count: 2) }' } });
    expect([await connection.next(), await connection.next(), await connection.next()]).toEqual([
      { id: '1', type: 'next', payload: { data: { ticks: 1 } } },
      { id: '1', type: 'next', payload: { data: { ticks: 2 } } },
      { id: '1', type: 'complete' },
    ]);
  });

  it('carries a GraphQLClient subscription (token on the handshake and in connectionParams) end to end', async () => {
    const { keys, proxy, token, upstream } = await setup();
    const client = new GraphQLClient({ apiUrl: `${proxy.url}/graphql`, token });
    onCleanup(() => client.close());
    const identityHeader = await new Promise<string>((resolve, reject) => {
      client.subscribe<{ whoami: string }>('subscription { whoami }', {}, { onData: (data) => resolve(data.whoami), onError: reject });
    });
    expect(await verifyIdentity(identityHeader, keys.identitySecret)).toMatchObject({ tenant: 'rj-smtr', role: 'viewer' });
    expect(upstream.connectionParams).toEqual([{}]);
  });

  it.each([
    { name: 'without a token', payload: {}, code: 'TOKEN_MISSING' },
    { name: 'with a token that is not a JWT', payload: { authorization: 'Bearer nope' }, code: 'TOKEN_INVALID' },
  ])('closes a connection_init $name with 4401 and the code, without contacting the server', async ({ payload, code }) => {
    const { upstream, wsUrl, audited } = await setup();
    const connection = connected(await open(wsUrl));
    connection.send({ type: 'connection_init', payload });
    const closed = await connection.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason.startsWith(`${code}: `)).toBe(true);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
    expect(upstream.upgrades).toEqual([]);
    expect(audited).toEqual([expect.objectContaining({ action: 'proxy.authenticate', code })]);
  });

  it('closes with 4408 when no connection_init arrives in time', async () => {
    const { upstream, wsUrl } = await setup({ connectionInitTimeoutMs: 300 });
    const connection = connected(await open(wsUrl));
    expect(await connection.closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    expect(upstream.upgrades).toEqual([]);
  });

  it('closes with 4401 when a subscribe comes before connection_init', async () => {
    const { upstream, wsUrl } = await setup();
    const connection = connected(await open(wsUrl));
    connection.send({ id: '1', type: 'subscribe', payload: { query: 'subscription { whoami }' } });
    expect(await connection.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
    expect(upstream.upgrades).toEqual([]);
  });

  it('closes with 4406 a client that does not offer graphql-transport-ws', async () => {
    const { token, wsUrl } = await setup();
    const connection = connected(await open(wsUrl, { protocols: [], headers: { authorization: `Bearer ${token}` } }));
    expect(await connection.closed).toEqual({ code: 4406, reason: 'Subprotocol not acceptable' });
  });

  it.each([
    { name: 'without a token', headers: (): Promise<Record<string, string>> => Promise.resolve({ authorization: '' }), code: 'TOKEN_MISSING' },
    {
      name: 'with an expired token',
      headers: async (signer: Parameters<typeof signRaw>[1]) => ({ authorization: `Bearer ${await signRaw(claims({ iat: 1_000, exp: 2_000 }), signer)}` }),
      code: 'TOKEN_EXPIRED',
    },
  ])('refuses a handshake whose Authorization header fails ($name) with HTTP 401 and a coded body', async ({ headers, code }) => {
    const { keys, upstream, wsUrl } = await setup();
    const refused = await open(wsUrl, { headers: await headers(keys.privateJwk) });
    expect(refused).toEqual({ status: 401, body: expect.any(String) });
    if ('body' in refused) expect(codeAndMessage(refused.body).code).toBe(code);
    expect(upstream.upgrades).toEqual([]);
  });

  it('refuses a non-admin naming another tenant on the handshake with HTTP 403 FORBIDDEN', async () => {
    const { token, wsUrl } = await setup();
    const refused = await open(wsUrl, { headers: { authorization: `Bearer ${token}`, 'x-fluxo-tenant': 'rj-cor' } });
    expect(refused).toMatchObject({ status: 403 });
    if ('body' in refused) expect(codeAndMessage(refused.body).code).toBe('FORBIDDEN');
  });

  it('closes the connection with 4401 when the bearer token expires', async () => {
    const { keys, wsUrl } = await setup({ clockToleranceSeconds: 0 });
    const now = Math.floor(Date.now() / 1000);
    const token = await signRaw(claims({ iat: now, exp: now + 2, role: 'viewer' }), keys.privateJwk);
    const connection = connected(await open(wsUrl));
    connection.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    expect(await connection.next()).toEqual({ type: 'connection_ack' });
    expect(await connection.closed).toEqual({ code: 4401, reason: 'token expired' });
    expect(Date.now()).toBeGreaterThanOrEqual((now + 2) * 1000);
  });
});

describe('checking each subscribe', () => {
  it('answers an agent token subscribing to a user operation with an error for that id; the server never sees it', async () => {
    const { keys, upstream, wsUrl, audited } = await setup();
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'agent', subject: 'agent-1' }, keys.privateJwk);
    const connection = connected(await open(wsUrl, { headers: { authorization: `Bearer ${token}` } }));
    connection.send({ type: 'connection_init' });
    expect(await connection.next()).toEqual({ type: 'connection_ack' });
    connection.send({ id: 'a', type: 'subscribe', payload: { query: 'subscription { whoami }' } });
    expect(await connection.next()).toEqual({
      id: 'a',
      type: 'error',
      payload: [{ message: expect.stringMatching(/subscription\.whoami needs a user token/), extensions: { code: 'TOKEN_KIND_MISMATCH' } }],
    });
    // The connection stays usable.
    connection.send({ type: 'ping' });
    expect(await connection.next()).toEqual({ type: 'pong' });
    expect(upstream.subscribed).toEqual([]);
    expect(audited).toEqual([expect.objectContaining({ action: 'subscription.whoami', code: 'TOKEN_KIND_MISMATCH', subject: 'agent-1' })]);
  });

  it('charges connects and subscribes to the rate limits', async () => {
    const { upstream, token, wsUrl } = await setup({ rateLimits: { perToken: { ratePerSecond: 0.1, burst: 2 }, perTenant: null } });
    const connection = connected(await open(wsUrl, { headers: { authorization: `Bearer ${token}` } }));
    connection.send({ type: 'connection_init' });
    expect(await connection.next()).toEqual({ type: 'connection_ack' });
    for (const id of ['1', '2']) connection.send({ id, type: 'subscribe', payload: { query: 'subscription { ticks(count: 1) }' } });
    const answers = [await connection.next(), await connection.next(), await connection.next()];
    expect(answers).toContainEqual({ id: '2', type: 'error', payload: [{ message: expect.stringMatching(/^too many requests for this token/), extensions: { code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) } }] });
    expect(answers).toContainEqual({ id: '1', type: 'complete' });
    expect(upstream.subscribed).toHaveLength(1);
    // A third connect is refused at the handshake with 429 and Retry-After.
    const refused = await open(wsUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(refused).toMatchObject({ status: 429 });
  });

  it('closes with 4400 a subscribe without an id', async () => {
    const { token, wsUrl } = await setup();
    const connection = connected(await open(wsUrl));
    connection.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    expect(await connection.next()).toEqual({ type: 'connection_ack' });
    connection.send({ id: '', type: 'subscribe', payload: { query: 'subscription { whoami }' } });
    expect(await connection.closed).toEqual({ code: 4400, reason: 'Invalid message received' });
  });
});

describe('the relay', () => {
  it('closes with 1013 when the server cannot be reached', async () => {
    const keys = await freshKeys();
    const proxy = await startTestProxy(keys, `http://127.0.0.1:${await freePort()}`, { audit: { record: () => undefined } });
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'viewer' }, keys.privateJwk);
    const connection = connected(await open(`${proxy.url.replace('http', 'ws')}/graphql`));
    connection.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    const closed = await connection.closed;
    expect(closed).toEqual({ code: 1013, reason: expect.stringMatching(/^SERVICE_UNAVAILABLE: the fluxo server is not reachable \(ECONNREFUSED\)/) });
  });

  it('relays the server closing a connection with its code', async () => {
    const { token, wsUrl } = await setup();
    const connection = connected(await open(wsUrl, { headers: { authorization: `Bearer ${token}` } }));
    connection.send({ type: 'connection_init' });
    expect(await connection.next()).toEqual({ type: 'connection_ack' });
    // A message type graphql-ws does not know is the server's to refuse: it closes with 4400.
    connection.send({ type: 'bogus' });
    expect(await connection.closed).toEqual({ code: 4400, reason: 'Invalid message received' });
  });

  it('closes open WebSockets with 1001 when the proxy closes', async () => {
    const { proxy, token, wsUrl } = await setup();
    const connection = connected(await open(wsUrl, { headers: { authorization: `Bearer ${token}` } }));
    connection.send({ type: 'connection_init' });
    expect(await connection.next()).toEqual({ type: 'connection_ack' });
    await proxy.close();
    expect(await connection.closed).toEqual({ code: 1001, reason: 'the proxy is shutting down' });
  });

  it('refuses an upgrade to something other than WebSocket with 400', async () => {
    const { proxy } = await setup();
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${proxy.url}/graphql`, { headers: { connection: 'Upgrade', upgrade: 'h2c' } });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
  });
});
