import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import { IDENTITY_HEADER, verifyIdentity } from '../../common/identity.js';
import { createToken } from '../../auth-proxy/tokens.js';
import { GraphQLClient } from '../../client/graphql-client.js';
import { freePort, onCleanup, waitFor } from '../support/harness.js';
import { startEchoUpstream } from './support/echo-upstream.js';
import { claims, codeAndMessage, freshKeys, signRaw, startTestProxy } from './support/fixtures.js';

async function setup(options: Parameters<typeof startTestProxy>[2] = {}) {
  const keys = await freshKeys();
  const upstream = await startEchoUpstream();
  const proxy = await startTestProxy(keys, upstream.url, options);
  const { token } = await createToken({ tenant: 'rj-smtr', role: 'viewer', subject: 'painel' }, keys.privateJwk);
  return { keys, upstream, proxy, token };
}

/** A WebSocket with every message it received so far (collected from the start, so none is missed). */
interface OpenSocket {
  socket: WebSocket;
  next(): Promise<string>;
}

/** Opens a WebSocket and resolves with it once open, or with the refusal (status and body). */
function connect(url: string, headers: Record<string, string>): Promise<OpenSocket | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    onCleanup(() => socket.terminate());
    const received: string[] = [];
    const waiting: ((message: string) => void)[] = [];
    socket.on('message', (data) => {
      const wake = waiting.shift();
      if (wake) wake(String(data));
      else received.push(String(data));
    });
    const next = (): Promise<string> => {
      const ready = received.shift();
      return ready === undefined ? new Promise((wake) => waiting.push(wake)) : Promise.resolve(ready);
    };
    socket.once('open', () => resolve({ socket, next }));
    socket.once('unexpected-response', (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    socket.once('error', reject);
  });
}

describe('forwarding WebSocket upgrades', () => {
  it('forwards the handshake with a proxy-signed identity and no Authorization, then relays frames both ways', async () => {
    const { keys, upstream, proxy, token } = await setup();
    const opened = await connect(`${proxy.url.replace('http', 'ws')}/echo`, { authorization: `Bearer ${token}`, [IDENTITY_HEADER]: 'forged' });
    if (!('socket' in opened)) throw new Error(`refused: ${opened.status} ${opened.body}`);
    const { handshake } = JSON.parse(await opened.next()) as { handshake: Record<string, string> };
    expect(await verifyIdentity(handshake[IDENTITY_HEADER], keys.identitySecret)).toEqual({ subject: 'painel', tenant: 'rj-smtr', role: 'viewer' });
    expect(handshake.authorization).toBeUndefined();
    for (const text of ['hello', 'x'.repeat(200_000)]) {
      opened.socket.send(text);
      expect(await opened.next()).toBe(text);
    }
    expect(upstream.requests).toEqual([]);
  });

  it('carries a graphql-ws subscription end to end and the server sees the verified identity', async () => {
    const { keys, proxy, token } = await setup();
    const client = new GraphQLClient({ apiUrl: `${proxy.url}/graphql`, token });
    onCleanup(() => client.close());
    const events = await new Promise<unknown[]>((resolve, reject) => {
      const seen: unknown[] = [];
      client.subscribe<{ ticks: number }>('subscription { ticks(count: 3) }', {}, { onData: (data) => seen.push(data.ticks), onError: reject, onComplete: () => resolve(seen) });
    });
    expect(events).toEqual([1, 2, 3]);
    const identityHeader = await new Promise<string>((resolve, reject) => {
      client.subscribe<{ whoami: string }>('subscription { whoami }', {}, { onData: (data) => resolve(data.whoami), onError: reject });
    });
    expect(await verifyIdentity(identityHeader, keys.identitySecret)).toMatchObject({ tenant: 'rj-smtr', role: 'viewer' });
  });

  it.each([
    { name: 'without a token', headers: (): Promise<Record<string, string>> => Promise.resolve({}), code: 'TOKEN_MISSING' },
    {
      name: 'with an expired token',
      headers: async (signer: Parameters<typeof signRaw>[1]) => ({ authorization: `Bearer ${await signRaw(claims({ iat: 1_000, exp: 2_000 }), signer)}` }),
      code: 'TOKEN_EXPIRED',
    },
  ])('refuses an upgrade $name with HTTP 401 and a coded body, without contacting the server', async ({ headers, code }) => {
    const { keys, upstream, proxy } = await setup();
    const refused = await connect(`${proxy.url.replace('http', 'ws')}/graphql`, await headers(keys.privateJwk));
    expect(refused).toEqual({ status: 401, body: expect.any(String) });
    if ('body' in refused) expect(codeAndMessage(refused.body).code).toBe(code);
    expect(upstream.upgrades).toEqual([]);
  });

  it('relays the server\'s own refusal of a handshake', async () => {
    const { proxy, token } = await setup();
    const refused = await connect(`${proxy.url.replace('http', 'ws')}/nowhere`, { authorization: `Bearer ${token}` });
    expect(refused).toEqual({ status: 404, body: 'not found' });
  });

  it('refuses an upgrade with 503 SERVICE_UNAVAILABLE when the server is down', async () => {
    const keys = await freshKeys();
    const proxy = await startTestProxy(keys, `http://127.0.0.1:${await freePort()}`);
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'viewer' }, keys.privateJwk);
    const refused = await connect(`${proxy.url.replace('http', 'ws')}/graphql`, { authorization: `Bearer ${token}` });
    expect(refused).toMatchObject({ status: 503 });
    if ('body' in refused) expect(codeAndMessage(refused.body)).toEqual({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/not reachable/) });
  });

  it('closes the connection when the bearer token expires', async () => {
    const { keys, proxy } = await setup({ clockToleranceSeconds: 0 });
    const now = Math.floor(Date.now() / 1000);
    const token = await signRaw(claims({ iat: now, exp: now + 2 }), keys.privateJwk);
    const opened = await connect(`${proxy.url.replace('http', 'ws')}/echo`, { authorization: `Bearer ${token}` });
    if (!('socket' in opened)) throw new Error(`refused: ${opened.status} ${opened.body}`);
    let closed = false;
    opened.socket.once('close', () => (closed = true));
    await opened.next();
    await waitFor(() => closed, { timeoutMs: 5_000, what: 'the proxy to close the expired connection' });
    expect(Date.now()).toBeGreaterThanOrEqual((now + 2) * 1000);
  });

  it('closes open WebSockets when the proxy closes', async () => {
    const { proxy, token } = await setup();
    const opened = await connect(`${proxy.url.replace('http', 'ws')}/echo`, { authorization: `Bearer ${token}` });
    if (!('socket' in opened)) throw new Error('refused');
    const closed = new Promise<number>((resolve) => opened.socket.once('close', (code) => resolve(code)));
    await proxy.close();
    expect(await closed).toBe(1006);
  });
});
