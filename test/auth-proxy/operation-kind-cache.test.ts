// The proxy's operation-kind cache cannot be poisoned: its key keeps operationName and query apart,
// and an operationName that is not a GraphQL name is refused before anything is parsed or cached.
// The poisoning sequence an outside probe used, through a real proxy in front of a counting upstream.
import { describe, expect, it } from 'vitest';
import { createOperationKindChecker } from '../../auth-proxy/operation-kinds.js';
import { createToken } from '../../auth-proxy/tokens.js';
import { startEchoUpstream } from './support/echo-upstream.js';
import { call, codeAndMessage, freshKeys, startTestProxy } from './support/fixtures.js';

// A newline is white space in GraphQL: this is `query A { flows ... }`.
const FORBIDDEN_TO_AGENTS = 'query\nA { flows { nodes { id } } }';
// Under the old key (`operationName + "\n" + query`) this request and `{ operationName: "A",
// query: FORBIDDEN_TO_AGENTS }` shared one entry; this one does not parse, so the entry said
// "nothing to check" and the second request passed the kind check.
const poison = { operationName: 'A\nquery', query: 'A { flows { nodes { id } } }' };

describe('the operation-kind cache', () => {
  it('is not poisoned by an operationName with a newline: the agent token is refused and the server sees nothing', async () => {
    const keys = await freshKeys();
    const upstream = await startEchoUpstream();
    const proxy = await startTestProxy(keys, upstream.url);
    const { token } = await createToken({ tenant: 'rj-smtr', role: 'agent', subject: 'agent-1' }, keys.privateJwk);
    const post = (body: unknown) => call(`${proxy.url}/graphql`, { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const first = await post(poison);
    const second = await post({ operationName: 'A', query: FORBIDDEN_TO_AGENTS });
    expect({
      first: { status: first.status, ...codeAndMessage(first.body) },
      second: { status: second.status, code: codeAndMessage(second.body).code },
      reachedServer: upstream.requests.length,
    }).toEqual({
      first: { status: 400, code: 'BAD_USER_INPUT', message: 'operationName must be a GraphQL name (^[_A-Za-z][_0-9A-Za-z]*$), got "A\\nquery"' },
      second: { status: 403, code: 'TOKEN_KIND_MISMATCH' },
      reachedServer: 0,
    });
  });

  it('judges each operation of one cached document by its own name', () => {
    const kinds = createOperationKindChecker();
    expect(kinds.check('agent', { operationName: 'A', query: 'query A { viewer { role } } query B { flows { nodes { id } } }' })).toBeUndefined();
    expect(kinds.check('agent', { operationName: 'B', query: 'query A { viewer { role } } query B { flows { nodes { id } } }' })).toMatchObject({
      code: 'TOKEN_KIND_MISMATCH',
      field: 'query.flows',
    });
  });

  it.each(['', ' A', 'A B', 'A\n', 'Ä', '1A', 'A-B'])('refuses the operationName %j, which names no operation', (operationName) => {
    expect(createOperationKindChecker().check('user', { operationName, query: '{ viewer { role } }' })).toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
