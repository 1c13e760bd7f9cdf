// What the platform refuses, through the real proxy and server processes: every refusal carries a
// stable code, and changes nothing.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT, importJWK } from 'jose';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { signIdentity } from '../../common/identity.js';
import { repoRoot } from '../support/harness.js';
import { startStack, TENANT, type Stack } from '../support/stack.js';

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  let json: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } = {};
  try {
    json = JSON.parse(text);
  } catch {
    // leave empty: the assertion on the body will show it
  }
  return { status: response.status, code: json.errors?.[0]?.extensions?.code, message: json.errors?.[0]?.message ?? '', data: json.data, text };
}

const VIEWER_QUERY = JSON.stringify({ query: '{ viewer { subject tenant role } }' });

describe('refusals', () => {
  let stack: Stack;
  let runId: string;
  let flowId: string;

  beforeAll(async () => {
    stack = await startStack();
    const registered = await stack.cli(['register', join(repoRoot, 'examples', 'parameters.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    const developer = await stack.client('developer');
    const { createFlowRun } = await developer.request<{ createFlowRun: { id: string; flow: { id: string } } }>(
      'mutation { createFlowRun(input: { flowName: "typed-parameters" }) { id flow { id } } }',
    );
    runId = createFlowRun.id;
    flowId = createFlowRun.flow.id;
  }, 60_000);

  describe('authentication', () => {
    it('refuses a request without a token with TOKEN_MISSING', async () => {
      expect(await post(stack.apiUrl, VIEWER_QUERY)).toMatchObject({ status: 401, code: 'TOKEN_MISSING' });
    });

    it('refuses a malformed token with TOKEN_INVALID', async () => {
      expect(await post(stack.apiUrl, VIEWER_QUERY, { authorization: 'Bearer not.a.jwt' })).toMatchObject({ status: 401, code: 'TOKEN_INVALID' });
    });

    it('refuses a token signed by another key with TOKEN_KEY_UNKNOWN', async () => {
      const other = await startStack();
      const foreign = await other.token('admin');
      expect(await post(stack.apiUrl, VIEWER_QUERY, { authorization: `Bearer ${foreign}` })).toMatchObject({ status: 401, code: 'TOKEN_KEY_UNKNOWN' });
    });

    it('refuses an expired token with TOKEN_EXPIRED', async () => {
      const jwk = JSON.parse(await readFile(join(stack.keysDir, 'token-signing.private.jwk.json'), 'utf8'));
      const expired = await new SignJWT({ tenant: TENANT, role: 'admin' })
        .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid, typ: 'fluxo-user+jwt' })
        .setSubject('late')
        .setIssuer('fluxo')
        .setAudience('fluxo-api')
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
        .sign(await importJWK(jwk, 'EdDSA'));
      expect(await post(stack.apiUrl, VIEWER_QUERY, { authorization: `Bearer ${expired}` })).toMatchObject({ status: 401, code: 'TOKEN_EXPIRED' });
    });

    it('strips a forged identity header: the caller stays who its token says', async () => {
      const forged = await signIdentity({ subject: 'mallory', tenant: 'rj-smtr', role: 'admin' }, new Uint8Array(32).fill(9));
      const viewer = await stack.token('viewer');
      const answer = await post(stack.apiUrl, VIEWER_QUERY, { authorization: `Bearer ${viewer}`, 'x-fluxo-identity': forged });
      expect(answer.data).toEqual({ viewer: { subject: `viewer-test@${TENANT}`, tenant: TENANT, role: 'VIEWER' } });
      expect(await post(stack.apiUrl, VIEWER_QUERY, { 'x-fluxo-identity': forged })).toMatchObject({ status: 401, code: 'TOKEN_MISSING' });
    });

    it('refuses any request sent straight to the server port with IDENTITY_MISSING', async () => {
      const forged = await signIdentity({ subject: 'mallory', tenant: TENANT, role: 'admin' }, new Uint8Array(32).fill(9));
      const token = await stack.token('admin');
      const attempts: Record<string, string>[] = [{}, { authorization: `Bearer ${token}` }, { 'x-fluxo-identity': forged }];
      for (const headers of attempts) {
        expect(await post(`${stack.serverUrl}/graphql`, VIEWER_QUERY, headers)).toMatchObject({ status: 401, code: 'IDENTITY_MISSING' });
      }
      const refused = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${stack.serverUrl.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => undefined);
      });
      expect(refused).toBe(401);
    });

    it('refuses a viewer who tries to create a run with FORBIDDEN', async () => {
      const viewer = await stack.token('viewer');
      const answer = await post(stack.apiUrl, JSON.stringify({ query: 'mutation { createFlowRun(input: { flowName: "typed-parameters" }) { id } }' }), { authorization: `Bearer ${viewer}` });
      expect(answer).toMatchObject({ code: 'FORBIDDEN' });
    });
  });

  describe('tenancy', () => {
    it("never shows one tenant another tenant's flows or runs", async () => {
      const smtr = await stack.client('admin', 'rj-smtr');
      const seen = await smtr.request<{ flows: { nodes: unknown[] }; flowRuns: { nodes: unknown[] }; flowRun: unknown }>(
        'query($id: ID!) { flows { nodes { id } } flowRuns { nodes { id } } flowRun(id: $id) { id } }',
        { id: runId },
      );
      expect(seen).toEqual({ flows: { nodes: [] }, flowRuns: { nodes: [] }, flowRun: null });
      await expect(smtr.request('mutation($id: ID!) { cancelFlowRun(id: $id) { id } }', { id: runId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(smtr.request('mutation($f: ID!) { createFlowRun(input: { flowId: $f }) { id } }', { f: flowId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('bad input', () => {
    async function runCount(): Promise<number> {
      const developer = await stack.client('developer');
      const { flowRuns } = await developer.request<{ flowRuns: { nodes: unknown[] } }>('{ flowRuns(first: 500) { nodes { id } } }');
      return flowRuns.nodes.length;
    }

    it.each([
      ['an unknown flow', { flowName: 'nope' }, 'NOT_FOUND', /flow "nope" not found/],
      ['a parameter of the wrong type', { flowName: 'typed-parameters', parameters: { year: 'soon' } }, 'INVALID_PARAMETERS', /\/year: must be integer/],
      ['a parameter out of range', { flowName: 'typed-parameters', parameters: { year: 1990 } }, 'INVALID_PARAMETERS', /\/year: must be >= 2002/],
      ['an unknown parameter', { flowName: 'typed-parameters', parameters: { colour: 'blue' } }, 'INVALID_PARAMETERS', /"colour"/],
    ])('refuses %s with a coded error and creates nothing', async (_, input, code, message) => {
      const before = await runCount();
      const developer = await stack.client('developer');
      await expect(developer.request('mutation($input: CreateFlowRunInput!) { createFlowRun(input: $input) { id } }', { input })).rejects.toMatchObject({
        code,
        message: expect.stringMatching(message),
      });
      expect(await runCount()).toBe(before);
    });

    it('refuses malformed GraphQL with GRAPHQL_PARSE_FAILED and unknown fields with GRAPHQL_VALIDATION_FAILED', async () => {
      const token = await stack.token('developer');
      expect(await post(stack.apiUrl, JSON.stringify({ query: '{ flows { nodes { id }' }), { authorization: `Bearer ${token}` })).toMatchObject({ status: 400, code: 'GRAPHQL_PARSE_FAILED' });
      expect(await post(stack.apiUrl, JSON.stringify({ query: '{ flowz { id } }' }), { authorization: `Bearer ${token}` })).toMatchObject({ status: 400, code: 'GRAPHQL_VALIDATION_FAILED' });
      expect(await post(stack.apiUrl, '{not json', { authorization: `Bearer ${token}` })).toMatchObject({ status: 400, code: 'GRAPHQL_PARSE_FAILED' });
    });

    it('refuses an oversized body with PAYLOAD_TOO_LARGE and creates nothing', async () => {
      const before = await runCount();
      const token = await stack.token('developer');
      const huge = JSON.stringify({ query: 'mutation($p: JSON) { createFlowRun(input: { flowName: "typed-parameters", parameters: $p }) { id } }', variables: { p: { city: 'x'.repeat(10 * 1024 * 1024) } } });
      expect(await post(stack.apiUrl, huge, { authorization: `Bearer ${token}` })).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
      expect(await runCount()).toBe(before);
    });

    it('exits the CLI with documented codes: 4 for an unknown flow, 2 for invalid parameters', async () => {
      const unknown = await stack.cli(['runs', 'create', 'nope']);
      expect(unknown).toMatchObject({ exitCode: 4, stderr: expect.stringContaining('[NOT_FOUND]') });
      const invalid = await stack.cli(['runs', 'create', 'typed-parameters', '--param', 'year=soon']);
      expect(invalid).toMatchObject({ exitCode: 2, stderr: expect.stringContaining('[INVALID_PARAMETERS]') });
    });
  });
});
