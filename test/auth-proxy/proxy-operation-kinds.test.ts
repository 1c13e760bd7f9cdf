import { describe, expect, it } from 'vitest';
import { createOperationKindChecker, operationKindTable } from '../../auth-proxy/operation-kinds.js';

describe('the operation kind table', () => {
  it('is read from the schema: the @agentOperation and @anyTokenKind root fields', () => {
    const table = operationKindTable();
    expect([...table.agent].sort()).toEqual([
      'mutation.claimFlowRuns',
      'mutation.deliverLateRunEntries',
      'mutation.heartbeat',
      'mutation.recordMaterializations',
      'mutation.registerAgent',
      'mutation.setFlowRunState',
      'mutation.setTaskRunStates',
      'mutation.writeLogs',
      'subscription.leaseSignals',
    ]);
    expect([...table.any].sort()).toEqual(['query.flowRun', 'query.viewer']);
  });

  it('follows the directives of any SDL it is given', () => {
    const table = operationKindTable(`
      directive @agentOperation on FIELD_DEFINITION
      directive @anyTokenKind on FIELD_DEFINITION
      type Query { ping: Boolean @anyTokenKind, secret: String }
      type Subscription { work: Int @agentOperation }
    `);
    const kinds = createOperationKindChecker({ table });
    expect(['query.ping', 'query.secret', 'subscription.work'].map((field) => kinds.kindOf(field))).toEqual(['any', 'user', 'agent']);
    expect(kinds.check('agent', { query: 'subscription { work }' })).toBeUndefined();
    expect(kinds.check('user', { query: 'subscription { work }' })).toMatchObject({ code: 'TOKEN_KIND_MISMATCH', field: 'subscription.work' });
  });
});

describe('checking a request', () => {
  const kinds = createOperationKindChecker({ maxTokens: 50 });

  it.each([
    { name: 'a document that does not parse', query: '{ flows {' },
    { name: 'an operation name the document does not have', query: 'query A { flows { nodes { id } } }', operationName: 'B' },
    { name: 'several operations and no name', query: 'query A { flows { nodes { id } } } query B { viewer { role } }' },
  ])('leaves $name to the server, which cannot execute it either', ({ query, operationName }) => {
    expect(kinds.check('agent', { query, operationName })).toBeUndefined();
  });

  it('refuses a document over the token limit with QUERY_TOO_COMPLEX, even from a kind that may call its fields', () => {
    expect(kinds.check('user', { query: `{ ${'viewer { role } '.repeat(20)}}` })).toEqual({
      code: 'QUERY_TOO_COMPLEX',
      message: "the GraphQL document has more than 50 tokens (the proxy's limit); split it into smaller operations",
    });
  });

  it('does not loop on fragments that spread each other (the server refuses them as invalid)', () => {
    expect(kinds.check('agent', { query: '{ ...a } fragment a on Query { ...b viewer { role } } fragment b on Query { ...a }' })).toBeUndefined();
  });
});
