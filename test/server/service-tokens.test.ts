// Service tokens on every store: issuing (validation, roles, only the hash stored), listing,
// revoking, verifying; the internal verify route and its proxy credential; and the proxy's
// caching verifier against a real server.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createServiceTokenVerifier } from '../../auth-proxy/service-tokens.js';
import { IDENTITY_HEADER, PROXY_CREDENTIAL_HEADER, signIdentity, signProxyCredential, verifyIdentity, verifyProxyCredential, type Identity } from '../../common/identity.js';
import { createServiceToken, listServiceTokens, revokeServiceToken, verifyServiceToken, type CreateServiceTokenArgs } from '../../server/core/service-tokens.js';
import { onCleanup, waitFor } from '../support/harness.js';
import { adapters } from './adapters.js';
import { startTestServer } from '../support/test-server.js';
import { refusalOf } from '../support/refusal.js';

const TENANT = 'rj-smtr';
const tenantAdmin: Identity = { subject: 'ana@rj-smtr', tenant: TENANT, role: 'tenant-admin' };
const otherAdmin: Identity = { subject: 'bia@rj-cor', tenant: 'rj-cor', role: 'tenant-admin' };

describe.each(adapters)('service tokens on $name', ({ open }) => {
  async function setup() {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    return store;
  }

  describe('create', () => {
    it('returns fxs_<id>_<secret> once and stores only the sha256 of the secret', async () => {
      const store = await setup();
      const { record, token } = await createServiceToken(store, tenantAdmin, { name: 'github-ci', role: 'ci', labels: ['b', 'a', 'a'] });
      const match = /^fxs_([0-9a-f-]{36})_([A-Za-z0-9_-]{43})$/.exec(token);
      expect(match?.[1]).toBe(record.id);
      expect(record).toMatchObject({ tenant: TENANT, name: 'github-ci', role: 'ci', subject: 'service:github-ci', labels: ['a', 'b'], createdBy: 'ana@rj-smtr', expiresAt: null, revokedAt: null });
      const stored = await store.serviceTokens.findForVerification(record.id);
      expect(stored?.secretHash).toBe(createHash('sha256').update(match![2]!).digest('hex'));
      expect(JSON.stringify(stored)).not.toContain(match![2]);
    });

    it('sets expiry from the database clock', async () => {
      const store = await setup();
      const before = await store.now();
      const { record } = await createServiceToken(store, tenantAdmin, { name: 'short', role: 'viewer', ttlSeconds: 3600 });
      expect(record.expiresAt! - record.createdAt).toBe(3_600_000);
      expect(record.createdAt).toBeGreaterThanOrEqual(before);
    });

    it.each<{ name: string; args: CreateServiceTokenArgs; message: RegExp }>([
      { name: 'a name with a space', args: { name: 'has space', role: 'ci' }, message: /name "has space" must be 1-100 letters/ },
      { name: 'the admin role', args: { name: 'root', role: 'admin' }, message: /cannot grant ADMIN/ },
      { name: 'a ttl under a minute', args: { name: 't', role: 'ci', ttlSeconds: 59 }, message: /ttlSeconds must be an integer from 60/ },
      { name: 'a ttl over 365 days', args: { name: 't', role: 'ci', ttlSeconds: 365 * 86_400 + 1 }, message: /to 31536000 \(365 days\)/ },
      { name: 'a fractional ttl', args: { name: 't', role: 'ci', ttlSeconds: 60.5 }, message: /ttlSeconds must be an integer/ },
      { name: 'a bad label', args: { name: 't', role: 'agent', labels: ['gpu!'] }, message: /label "gpu!"/ },
    ])('refuses $name with BAD_USER_INPUT', async ({ args, message }) => {
      const store = await setup();
      const refused = await refusalOf(createServiceToken(store, tenantAdmin, args));
      expect(refused.code).toBe('BAD_USER_INPUT');
      expect(refused.message).toMatch(message);
      expect((await store.serviceTokens.list(TENANT, { includeRevoked: true }, { first: 10 })).nodes).toEqual([]);
    });

    it('refuses a second token with the same name in the tenant, revoked or not, but not in another tenant', async () => {
      const store = await setup();
      const { record } = await createServiceToken(store, tenantAdmin, { name: 'ci', role: 'ci' });
      await revokeServiceToken(store, tenantAdmin, record.id);
      expect(await refusalOf(createServiceToken(store, tenantAdmin, { name: 'ci', role: 'developer' }))).toMatchObject({ code: 'BAD_USER_INPUT', message: /already has a service token named "ci"/ });
      await expect(createServiceToken(store, otherAdmin, { name: 'ci', role: 'ci' })).resolves.toBeDefined();
    });

    it.each(['developer', 'viewer', 'ci', 'agent'] as const)('refuses role %s with FORBIDDEN', async (role) => {
      const store = await setup();
      expect(await refusalOf(createServiceToken(store, { subject: 'x', tenant: TENANT, role }, { name: 'x', role: 'viewer' }))).toMatchObject({ code: 'FORBIDDEN' });
      expect(await refusalOf(listServiceTokens(store, { subject: 'x', tenant: TENANT, role }, { includeRevoked: false, first: 10 }))).toMatchObject({ code: 'FORBIDDEN' });
    });
  });

  describe('list and revoke', () => {
    it('lists newest first in keyset pages, hides revoked ones unless asked, and shows no other tenant', async () => {
      const store = await setup();
      const ids: string[] = [];
      for (const name of ['t1', 't2', 't3', 't4', 't5']) ids.push((await createServiceToken(store, tenantAdmin, { name, role: 'ci' })).record.id);
      await createServiceToken(store, otherAdmin, { name: 'elsewhere', role: 'ci' });
      await revokeServiceToken(store, tenantAdmin, ids[1]!);
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await listServiceTokens(store, tenantAdmin, { includeRevoked: true, first: 2, after });
        seen.push(...page.nodes.map((t) => t.id));
        if (!page.hasNextPage) break;
        after = page.endCursor;
      }
      expect(seen).toEqual([...ids].reverse());
      const active = await listServiceTokens(store, tenantAdmin, { includeRevoked: false, first: 50 });
      expect(active.nodes.map((t) => t.name)).toEqual(['t5', 't4', 't3', 't1']);
    });

    it('revokes once: revoking again returns the first revocation, and another tenant gets NOT_FOUND', async () => {
      const store = await setup();
      const { record } = await createServiceToken(store, tenantAdmin, { name: 'agent-1', role: 'agent' });
      expect(await refusalOf(revokeServiceToken(store, otherAdmin, record.id))).toMatchObject({ code: 'NOT_FOUND' });
      const first = await revokeServiceToken(store, tenantAdmin, record.id);
      expect(first).toMatchObject({ revokedBy: 'ana@rj-smtr' });
      expect(first.revokedAt).toEqual(expect.any(Number));
      const again = await revokeServiceToken(store, { ...tenantAdmin, subject: 'someone-else' }, record.id);
      expect(again).toEqual(first);
    });
  });

  describe('verify', () => {
    it('answers the identity the token speaks for', async () => {
      const store = await setup();
      const { record, token } = await createServiceToken(store, tenantAdmin, { name: 'agent-1', role: 'agent', ttlSeconds: 600 });
      expect(await verifyServiceToken(store, token)).toEqual({
        identity: { subject: 'service:agent-1', tenant: TENANT, role: 'agent' },
        kind: 'agent',
        expiresAtMs: record.expiresAt,
        tokenId: record.id,
      });
    });

    it('gives one answer for a wrong secret, an unknown id and a malformed value', async () => {
      const store = await setup();
      const { token } = await createServiceToken(store, tenantAdmin, { name: 'ci', role: 'ci' });
      const wrongSecret = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
      const unknownId = `fxs_00000000-0000-7000-8000-000000000000_${token.slice(-43)}`;
      const answers = await Promise.all([wrongSecret, unknownId, 'fxs_garbage', `${token}x`].map((t) => refusalOf(verifyServiceToken(store, t))));
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(answers[0]!.code).toBe('TOKEN_INVALID');
    });

    it('refuses a revoked token with TOKEN_REVOKED and an expired one with TOKEN_EXPIRED', async () => {
      const store = await setup();
      const revoked = await createServiceToken(store, tenantAdmin, { name: 'old', role: 'ci' });
      await revokeServiceToken(store, tenantAdmin, revoked.record.id);
      expect(await refusalOf(verifyServiceToken(store, revoked.token))).toMatchObject({ code: 'TOKEN_REVOKED', message: /"old" was revoked at/ });
      // Expiry is judged by the database clock: a token stored as already expired stands in for waiting.
      const secret = 'x'.repeat(43);
      const expired = await store.serviceTokens.create(TENANT, {
        id: '01900000-0000-7000-8000-000000000001', name: 'expired', role: 'ci', subject: 'service:expired', labels: [],
        secretHash: createHash('sha256').update(secret).digest('hex'), createdBy: 'test', ttlSeconds: -1,
      });
      expect(await refusalOf(verifyServiceToken(store, `fxs_${expired!.id}_${secret}`))).toMatchObject({ code: 'TOKEN_EXPIRED', message: /"expired" expired at/ });
    });
  });
});

describe('the proxy credential and the identity header', () => {
  const secret = new Uint8Array(32).fill(7);

  it('a proxy credential never passes as an identity', async () => {
    const credential = await signProxyCredential(secret);
    await expect(verifyProxyCredential(credential, secret)).resolves.toBeUndefined();
    expect(await refusalOf(verifyIdentity(credential, secret))).toMatchObject({ code: 'IDENTITY_MISSING' });
  });

  it('an identity header never passes as a proxy credential', async () => {
    const identity = await signIdentity(tenantAdmin, secret);
    expect(await refusalOf(verifyProxyCredential(identity, secret))).toMatchObject({ code: 'IDENTITY_MISSING', message: /proxy credential is not valid/ });
    expect(await refusalOf(verifyProxyCredential(undefined, secret))).toMatchObject({ code: 'IDENTITY_MISSING', message: /no x-fluxo-proxy header/ });
    expect(await refusalOf(verifyProxyCredential(await signProxyCredential(new Uint8Array(32).fill(8)), secret))).toMatchObject({ code: 'IDENTITY_MISSING' });
  });
});

describe('POST /internal/service-tokens/verify', () => {
  it('answers the identity, expiry and id of a valid token, and 401 with the code otherwise', async () => {
    const { store, internal } = await startTestServer({ store: await openMigratedSqlite() });
    const { record, token } = await createServiceToken(store, tenantAdmin, { name: 'ci', role: 'ci', ttlSeconds: 600 });
    expect(await internal('/internal/service-tokens/verify', { token })).toEqual({
      status: 200,
      body: { identity: { subject: 'service:ci', tenant: TENANT, role: 'ci' }, expiresAtMs: record.expiresAt, tokenId: record.id },
    });
    await revokeServiceToken(store, tenantAdmin, record.id);
    expect(await internal('/internal/service-tokens/verify', { token })).toMatchObject({ status: 401, body: { errors: [{ extensions: { code: 'TOKEN_REVOKED' } }] } });
    expect(await internal('/internal/service-tokens/verify', { nope: 1 })).toMatchObject({ status: 400, body: { errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] } });
  });

  it('refuses requests without the proxy credential, even with a valid identity header', async () => {
    const { store, internal, secret, server } = await startTestServer({ store: await openMigratedSqlite() });
    const { token } = await createServiceToken(store, tenantAdmin, { name: 'ci', role: 'ci' });
    const missing = { status: 401, body: { errors: [{ extensions: { code: 'IDENTITY_MISSING' } }] } };
    expect(await internal('/internal/service-tokens/verify', { token }, {})).toMatchObject(missing);
    expect(await internal('/internal/service-tokens/verify', { token }, { [IDENTITY_HEADER]: await signIdentity({ ...tenantAdmin, role: 'admin' }, secret) })).toMatchObject(missing);
    // ... and the credential opens nothing on the API.
    const viaCredential = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [PROXY_CREDENTIAL_HEADER]: await signProxyCredential(secret), [IDENTITY_HEADER]: await signProxyCredential(secret) },
      body: JSON.stringify({ query: '{ viewer { subject } }' }),
    });
    expect(viaCredential.status).toBe(401);
  });
});

describe('the proxy verifier (createServiceTokenVerifier)', () => {
  it('caches an accepted token for cacheSeconds, then refuses it once revoked', async () => {
    const { store, server, secret } = await startTestServer({ store: await openMigratedSqlite() });
    const { record, token } = await createServiceToken(store, tenantAdmin, { name: 'agent-1', role: 'agent' });
    const verify = createServiceTokenVerifier({ upstream: new URL(server.url), identitySecret: secret, cacheSeconds: 1, negativeCacheSeconds: 1 });
    expect(await verify(token)).toEqual({ identity: { subject: 'service:agent-1', tenant: TENANT, role: 'agent' }, kind: 'agent', expiresAtMs: Infinity, tokenId: record.id, source: 'service' });
    await revokeServiceToken(store, tenantAdmin, record.id);
    // Within the cache lifetime the proxy does not ask again: this is the documented revocation delay.
    await expect(verify(token)).resolves.toMatchObject({ tokenId: record.id });
    const refused = await waitFor(async () => (await refusalOf(verify(token))).code === 'TOKEN_REVOKED' || undefined, { timeoutMs: 5_000, what: 'the revocation to take effect' });
    expect(refused).toBe(true);
  });

  it('refuses a malformed token without asking, and answers SERVICE_UNAVAILABLE when the server is down', async () => {
    const { store, server, secret } = await startTestServer({ store: await openMigratedSqlite() });
    const { token } = await createServiceToken(store, tenantAdmin, { name: 'ci', role: 'ci' });
    const verify = createServiceTokenVerifier({ upstream: new URL(server.url), identitySecret: secret, cacheSeconds: 0 });
    expect(await refusalOf(verify('fxs_not-a-token'))).toMatchObject({ code: 'TOKEN_INVALID', message: /malformed/ });
    await server.close();
    expect(await refusalOf(verify(token))).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: /could not be reached/ });
  });

  it('answers SERVICE_UNAVAILABLE, naming the secret, when the server refuses the proxy credential', async () => {
    const { store, server } = await startTestServer({ store: await openMigratedSqlite() });
    const { token } = await createServiceToken(store, tenantAdmin, { name: 'ci', role: 'ci' });
    const verify = createServiceTokenVerifier({ upstream: new URL(server.url), identitySecret: new Uint8Array(32).fill(1) });
    expect(await refusalOf(verify(token))).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: /same identity secret/ });
  });
});

async function openMigratedSqlite() {
  const store = await adapters[0]!.open();
  await store.migrate();
  onCleanup(() => store.close());
  return store;
}
