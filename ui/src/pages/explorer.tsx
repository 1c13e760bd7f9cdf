// The GraphQL explorer: GraphiQL from npm, bundled into its own chunk (loaded only here), sending
// the signed-in token with every request to this host's /graphql. Its schema is the contract
// itself (schema/fluxo.graphql, bundled at build time) rather than an introspection query: the
// proxy's depth limit refuses GraphiQL's 15-level introspection, and production servers answer
// no introspection at all.
import { buildSchema } from 'graphql';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import sdl from '../../../schema/fluxo.graphql?raw';
import { authHeaders } from '../api';

const schema = buildSchema(sdl);

async function fetcher(params: unknown): Promise<unknown> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...authHeaders() },
    body: JSON.stringify(params),
  });
  return response.json();
}

const DEFAULT_QUERY = `# The fluxo API. Ctrl-Enter runs the query; the Docs button lists every type.
{
  viewer { subject tenant role }
  flowRuns(first: 5) { nodes { id state flow { name } createdAt } }
}
`;

export default function ExplorerPage() {
  return (
    <div className="explorer">
      <h1 className="visually-hidden">GraphQL explorer</h1>
      <GraphiQL fetcher={fetcher as never} schema={schema} defaultQuery={DEFAULT_QUERY} shouldPersistHeaders={false} />
    </div>
  );
}
