// The GraphQL explorer: GraphiQL from npm, bundled into its own chunk (loaded only here), sending
// the signed-in token with every request to this host's /graphql (subscriptions over graphql-ws
// on the same path, with the token in connection_init). Its schema is the contract
// itself (schema/fluxo.graphql, bundled at build time) rather than an introspection query: the
// proxy's depth limit refuses GraphiQL's 15-level introspection, and production servers answer
// no introspection at all.
import { useEffect, useRef, type RefObject } from 'react';
import { buildSchema, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import sdl from '../../../schema/fluxo.graphql?raw';
import { authHeaders, subscriptions } from '../api';

const schema = buildSchema(sdl);

interface FetcherParams {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/** Whether the operation GraphiQL runs is a subscription (sent over graphql-ws, like the pages' own). */
function isSubscription(document: DocumentNode | undefined, operationName: string | null | undefined): boolean {
  const operations = (document?.definitions ?? []).filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  const chosen = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  return chosen?.operation === 'subscription';
}

/** The document, or undefined when it does not parse (the server then says why). */
function parsed(query: string): DocumentNode | undefined {
  try {
    return parse(query);
  } catch {
    return undefined;
  }
}

// The query text GraphiQL sends is what runs; its `documentAST` option can lag behind the editor.
async function fetcher(params: FetcherParams): Promise<unknown> {
  if (isSubscription(parsed(params.query), params.operationName)) {
    return subscriptions().iterate({ query: params.query, variables: params.variables ?? {}, ...(params.operationName ? { operationName: params.operationName } : {}) });
  }
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

/**
 * GraphiQL 4 leaves CodeMirror's input textareas unlabelled and its scroll areas out of the tab
 * order; the labels and tab stops are added here as its editors appear (styles.css fixes its
 * colours' contrast and hides its tab bar, whose tabs nest a close button in a tab).
 */
function useAccessibleEditors(root: RefObject<HTMLDivElement | null>): void {
  useEffect(() => {
    const element = root.current;
    if (!element) return;
    const fix = (): void => {
      for (const textarea of element.querySelectorAll<HTMLTextAreaElement>('textarea:not([aria-label])')) {
        const tool = textarea.closest('.graphiql-editor-tool');
        const editors = tool ? [...tool.querySelectorAll('.graphiql-editor')] : [];
        const index = editors.findIndex((editor) => editor.contains(textarea));
        const label = textarea.closest('.graphiql-query-editor')
          ? 'GraphQL query'
          : textarea.closest('.graphiql-response')
            ? 'Response'
            : tool
              ? (['Variables (JSON)', 'Headers (JSON)'][index] ?? 'Editor')
              : 'Editor';
        textarea.setAttribute('aria-label', label);
      }
      // CodeMirror gives its scroll areas tabindex -1; keyboard users need to reach long answers.
      for (const scroll of element.querySelectorAll<HTMLElement>('.CodeMirror-scroll')) if (scroll.tabIndex !== 0) scroll.tabIndex = 0;
    };
    fix();
    const observer = new MutationObserver(fix);
    observer.observe(element, { childList: true, subtree: true });
    return () => observer.disconnect();
  }, [root]);
}

export default function ExplorerPage() {
  const root = useRef<HTMLDivElement>(null);
  useAccessibleEditors(root);
  return (
    <div className="explorer" ref={root}>
      <h1 className="visually-hidden">GraphQL explorer</h1>
      <GraphiQL fetcher={fetcher as never} schema={schema} defaultQuery={DEFAULT_QUERY} shouldPersistHeaders={false} />
    </div>
  );
}
