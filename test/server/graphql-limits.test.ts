// GraphQL limits in the server (tokens, depth, aliases, estimated cost), batching off, and
// production mode (no introspection, no field suggestions), over HTTP and graphql-ws alike. The
// queries fluxo's own CLI and agent send stay well within the limits.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parse, specifiedRules, validate, Kind, type OperationDefinitionNode } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { MAX_CLAIM_BATCH } from '../../agent/agent.js';
import { buildSchema } from '../../server/graphql/apollo.js';
import { defaultLimits, estimateCost, shapeLimitsRule } from '../../server/graphql/limits.js';
import { repoRoot } from '../support/harness.js';
import { codesOf, startTestServer, type TestServer } from '../support/test-server.js';

const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };

/** `{ flowRuns { nodes { flow { latestVersion { flow { ... } } } } } }`, `levels` fields deep. */
function nested(levels: number): string {
  const inner: string[] = [];
  for (let i = 0; i < levels - 3; i++) inner.push(i % 2 === 0 ? 'flow' : 'latestVersion');
  return `{ flowRuns { nodes { ${inner.map((f) => `${f} {`).join(' ')} id ${inner.map(() => '}').join(' ')} } } }`;
}

const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { subject }`).join(' ')} }`;

describe.each([
  ['HTTP', (api: TestServer, query: string, variables?: Record<string, unknown>) => api.post(developer, query, variables)],
  ['graphql-ws', (api: TestServer, query: string, variables?: Record<string, unknown>) => api.overWebSocket(developer, query, variables)],
] as const)('limits over %s', (_, send) => {
  let api: TestServer;
  beforeAll(async () => {
    api = await startTestServer();
  });

  const refusal = async (query: string, variables?: Record<string, unknown>) => {
    const answer = await send(api, query, variables);
    expect(codesOf(answer)).toEqual(['QUERY_TOO_COMPLEX']);
    return answer.errors![0]!.message;
  };

  it('refuses an operation nested deeper than 12 fields, and runs one 12 deep', async () => {
    expect(await refusal(nested(13))).toBe('the operation is nested 13 fields deep; the limit is 12');
    expect(codesOf(await send(api, nested(12)))).toEqual([]);
  });

  it('counts depth through fragments', async () => {
    const query = `query Deep { flowRuns { nodes { ...F } } }
      fragment F on FlowRun { flow { ...V } }
      fragment V on Flow { latestVersion { flow { latestVersion { flow { latestVersion { flow { latestVersion { flow { latestVersion { id } } } } } } } } } }`;
    expect(await refusal(query)).toBe('operation Deep is nested 13 fields deep; the limit is 12');
  });

  it('refuses more than 30 aliases, counting each use of a fragment', async () => {
    expect(await refusal(aliases(31))).toBe('the operation uses 31 aliases; the limit is 30');
    expect(codesOf(await send(api, aliases(30)))).toEqual([]);
    const fragment = `fragment Who on Query { ${Array.from({ length: 16 }, (_, i) => `w${i}: viewer { subject }`).join(' ')} }`;
    expect(await refusal(`query Twice { ...Who ... on Query { ...Who } } ${fragment}`)).toBe('operation Twice uses 32 aliases; the limit is 30');
  });

  it('refuses a document of more than 5,000 tokens', async () => {
    const fields = Array.from({ length: 5000 }, () => 'subject').join(' ');
    expect(await refusal(`{ viewer { ${fields} } }`)).toBe('the document has more than 5000 tokens; the limit is 5000');
  });

  it('refuses an estimated cost over 50,000, with page sizes from arguments or variables', async () => {
    const query = `query Heavy($first: Int) { flowRuns(first: $first) { nodes { taskRuns { stateHistory { at } } } } }`;
    // flowRuns 1 + 500 × (nodes 1 + taskRuns 1 + 100 × (stateHistory 1 + 100 × at 1))
    expect(await refusal(query, { first: 500 })).toBe(
      'operation Heavy has an estimated cost of 5051001; the limit is 50000 (ask for smaller pages with "first", or fewer nested lists)',
    );
    expect(codesOf(await send(api, query, { first: 4 }))).toEqual([]);
    expect(await refusal(`{ flowRuns(first: 500) { nodes { taskRuns { stateHistory { at } } } } }`)).toMatch(/estimated cost of 5051001; the limit is 50000/);
  });

  it('counts each time a computed list (Clock.nextTimes) computes', async () => {
    // schedules 1 + 100 × (nodes 1 + clocks 1 + 100 × (nextTimes 1 + 100 computed))
    expect(await refusal('{ schedules(first: 100) { nodes { clocks { nextTimes(count: 100) } } } }')).toMatch(/estimated cost of 1010201; the limit is 50000/);
    expect(codesOf(await send(api, '{ schedules(first: 10) { nodes { clocks { nextTimes(count: 3) } } } }'))).toEqual([]);
  });

  it('counts the lists of introspection like any other', async () => {
    expect(codesOf(await send(api, '{ __type(name: "FlowRun") { fields { name } } }'))).toEqual([]);
    expect(await refusal('{ __schema { types { fields { type { fields { name } } } } } }')).toMatch(/estimated cost of 1020102; the limit is 50000/);
  });
});

describe('requests', () => {
  let api: TestServer;
  beforeAll(async () => {
    api = await startTestServer();
  });

  it('refuses batched requests (a JSON array of operations) and runs none of them', async () => {
    const answer = await api.postRaw(developer, JSON.stringify([
      { query: 'mutation { registerFlow(input: { project: "p", name: "batched", storageUri: "file:///b.mjs", sha256: "' + 'a'.repeat(64) + '", size: 1, entrypoint: "x" }) { created } }' },
      { query: '{ viewer { subject } }' },
    ]));
    expect(answer).toMatchObject({ status: 400, errors: [{ message: 'Operation batching disabled.', extensions: { code: 'BAD_USER_INPUT' } }] });
    expect((await api.post(developer, '{ flows { nodes { name } } }')).data).toEqual({ flows: { nodes: [] } });
  });

  it('answers HTTP 400 to an operation over a limit', async () => {
    const tokens = `{ viewer { ${Array.from({ length: 5000 }, () => 'subject').join(' ')} } }`;
    const cost = `{ flowRuns(first: 500) { nodes { taskRuns { stateHistory { at } } } } }`;
    for (const query of [nested(13), aliases(31), tokens, cost]) expect(await api.post(developer, query)).toMatchObject({ status: 400, errors: [{ extensions: { code: 'QUERY_TOO_COMPLEX' } }] });
  });

  it('answers introspection and suggests field names outside production mode', async () => {
    expect((await api.post(developer, '{ __type(name: "Role") { enumValues { name } } }')).data).toEqual({
      __type: { enumValues: ['ADMIN', 'TENANT_ADMIN', 'DEVELOPER', 'VIEWER', 'AGENT', 'CI'].map((name) => ({ name })) },
    });
    const typo = await api.post(developer, '{ viewer { subjec } }');
    expect(typo.errors![0]!.message).toBe('Cannot query field "subjec" on type "Identity". Did you mean "subject"?');
  });
});

describe.each([
  ['HTTP', (api: TestServer, query: string) => api.post(developer, query)],
  ['graphql-ws', (api: TestServer, query: string) => api.overWebSocket(developer, query)],
] as const)('production mode over %s', (_, send) => {
  let api: TestServer;
  beforeAll(async () => {
    api = await startTestServer({ production: true });
  });

  it('refuses introspection', async () => {
    const answer = await send(api, '{ __schema { types { name } } }');
    expect(new Set(codesOf(answer))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    expect(answer.errors![0]!.message).toMatch(/introspection/i);
    expect(answer.data ?? null).toBeNull();
  });

  it('hides field suggestions', async () => {
    const answer = await send(api, '{ viewer { subjec } }');
    expect(answer.errors).toEqual([expect.objectContaining({ message: 'Cannot query field "subjec" on type "Identity".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })]);
  });

  it('still answers ordinary operations', async () => {
    expect((await send(api, '{ viewer { subject } }')).data).toEqual({ viewer: { subject: 'ana' } });
  });
});

/**
 * Every GraphQL document in cli/ and agent/ (`/* GraphQL *\/` literals), evaluated, and the
 * end-to-end tests' run details (what a UI's run page asks for).
 */
async function fluxoOperations(): Promise<{ where: string; document: string }[]> {
  const found: { where: string; document: string }[] = [];
  for (const dir of ['cli', 'agent', 'test/e2e']) {
    const files = (await readdir(join(repoRoot, dir), { recursive: true })).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    for (const file of files) {
      const path = join(repoRoot, dir, file);
      const text = await readFile(path, 'utf8');
      const literals = [...text.matchAll(/const (\w+) = \/\* GraphQL \*\/ `([^`]*)`/g)];
      if (literals.length === 0) continue;
      const module = (await import(path)) as Record<string, unknown>;
      const fragments = new Map(literals.map(([, name, literal]) => [name!, literal!]));
      // `${FIELDS}` in a literal: a fragment literal of the same file, the module's export, or a plain string constant.
      const constant = (name: string): string => {
        const fragment = fragments.get(name);
        if (fragment !== undefined) return fragment.replace(/\$\{(\w+)\}/g, (_, inner: string) => constant(inner));
        if (typeof module[name] === 'string') return module[name];
        const match = new RegExp(`const ${name} = (['"\`])([^'"\`$]*)\\1`).exec(text);
        if (!match) throw new Error(`${relative(repoRoot, path)}: cannot evaluate \${${name}}; make it a string constant or export it`);
        return match[2]!;
      };
      for (const [, name, literal] of literals) {
        // A fragment is checked inside the operations that spread it.
        if (/^\s*fragment\s/.test(literal!)) continue;
        const document = literal!.replace(/\$\{(\w+)\}/g, (_, inner: string) => constant(inner));
        found.push({ where: `${relative(repoRoot, path)} ${name}`, document });
      }
    }
  }
  return found;
}

describe("fluxo's own operations", () => {
  it('parse, validate and cost within the limits, with the largest pages the clients ask for', async () => {
    const schema = buildSchema();
    const operations = await fluxoOperations();
    expect(operations.length).toBeGreaterThan(15);
    for (const { where, document } of operations) {
      const ast = parse(document, { maxTokens: defaultLimits.maxTokens });
      expect(validate(schema, ast, [...specifiedRules, shapeLimitsRule(defaultLimits)]).map((e) => e.message), where).toEqual([]);
      const operation = ast.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
      // 500 is the largest page any list but logs accepts, and the CLI's log page; the agent claims
      // at most MAX_CLAIM_BATCH runs per request (its answer nests secrets and stored results).
      const max = where.startsWith('agent/agent-api.ts') ? MAX_CLAIM_BATCH : 100;
      const cost = estimateCost(schema, ast, operation, { first: 500, input: { max } });
      expect(cost, `${where} costs ${cost}`).toBeLessThanOrEqual(defaultLimits.maxCost);
    }
  });
});
