// `fluxo tables list | show`: what the tenant's flows wrote with fluxo/data (lineage), as their
// agents recorded it: lake folders, staging tables (`<dataset>_staging.<table>`), production
// tables and published datasets, each with the run that last wrote it, its partitions and history.
import type { Command } from 'commander';
import { FluxoError } from '../../common/errors.js';
import { dataNameProblem } from '../../contract/names.js';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { withApiOptions, withClient, type ApiOptions } from '../api-options.js';
import type {
  DataTableFieldsFragment,
  DataTablesQuery,
  DataTablesQueryVariables,
  MaterializationKind,
  WriteFieldsFragment,
} from '../../schema/generated/operations.js';
import { formatInstant, printFields, printJson, printTable } from '../format.js';

type Kind = MaterializationKind;
const KINDS: readonly Kind[] = ['LAKE', 'STAGING', 'TABLE', 'PUBLISH'];
/** Partitions `show` asks for (DataTableFields' `partitions(first: 1000)`; the API's cost limit allows this many for all four kinds at once). */
const SHOWN_PARTITIONS = 1000;

// Fragments appended to each document, so each is valid GraphQL alone (codegen types it). `show`'s
// document is built per kind at run time, so codegen reads its selection as the DataTableFields
// fragment and types the rows from that.
const WRITE = /* GraphQL */ `
  fragment WriteFields on Materialization { id attempt taskRunKey kind dataset table partitions rows bytes uri mode recordedAt flowRun { id } }
`;

const LIST_TABLES = /* GraphQL */ `
  query DataTables($dataset: String, $kind: MaterializationKind, $after: String) {
    dataTables(dataset: $dataset, kind: $kind, first: 100, after: $after) {
      nodes { dataset table kind lastWrite { ...WriteFields } }
      pageInfo { endCursor hasNextPage }
    }
  }
  ${WRITE}
`;

const TABLE_FIELDS = /* GraphQL */ `
  fragment DataTableFields on DataTable {
    dataset table kind lastWrite { ...WriteFields }
    partitions(first: 1000) { partition lastWrite { rows recordedAt flowRun { id } } }
    history(first: 20) { ...WriteFields }
  }
`;

/** One table's query per kind, aliased by kind. */
const showTables = (kinds: readonly Kind[]): string => `
  query DataTable($dataset: String!, $table: String!) {
    ${kinds.map((kind) => `${kind.toLowerCase()}: dataTable(dataset: $dataset, table: $table, kind: ${kind}) { ...DataTableFields }`).join('\n    ')}
  }
  ${TABLE_FIELDS}
  ${WRITE}
`;

/** A write as the commands read it. */
export type WriteRow = WriteFieldsFragment;

/** A table as `list` reads it; `show` adds its partitions and history. */
export type TableRow = DataTablesQuery['dataTables']['nodes'][number] & Partial<Pick<DataTableFieldsFragment, 'partitions' | 'history'>>;

/** How people name the table: `<dataset>_staging.<table>` for staging, the dataset alone when published. */
export function displayName(t: { dataset: string; table: string; kind: Kind }): string {
  if (t.kind === 'PUBLISH') return t.dataset;
  return t.kind === 'STAGING' ? `${t.dataset}_staging.${t.table}` : `${t.dataset}.${t.table}`;
}

/** `table` → TABLE; BAD_USER_INPUT for anything else. */
function parseKind(value: string | undefined): Kind | null {
  if (value === undefined) return null;
  const kind = value.toUpperCase() as Kind;
  if (!KINDS.includes(kind)) throw new FluxoError('BAD_USER_INPUT', `--kind must be one of lake, staging, table, publish; got "${value.slice(0, 40)}"`);
  return kind;
}

function checkDataName(what: string, value: string): string {
  const problem = dataNameProblem(value);
  if (problem) throw new FluxoError('BAD_USER_INPUT', `${what} ${problem}`);
  return value;
}

/**
 * What `show` asks for: `D.T` (every kind of that table, or `--kind`), `D_staging.T` (the staging
 * table of D unless `--kind` says otherwise), or `D` alone (the published dataset).
 */
export function parseTableName(name: string, kind: Kind | null): { dataset: string; table: string; kinds: Kind[] } {
  const parts = name.split('.');
  if (parts.length === 1) {
    if (kind !== null && kind !== 'PUBLISH') throw new FluxoError('BAD_USER_INPUT', `give DATASET.TABLE for --kind ${kind.toLowerCase()} (only a published dataset is named alone), got "${name.slice(0, 140)}"`);
    return { dataset: checkDataName('dataset', parts[0]!), table: '', kinds: ['PUBLISH'] };
  }
  if (parts.length !== 2) throw new FluxoError('BAD_USER_INPUT', `give DATASET.TABLE (e.g. br_ibge_pib.municipio), got "${name.slice(0, 140)}"`);
  let [dataset, table] = parts as [string, string];
  checkDataName('dataset', dataset);
  checkDataName('table', table);
  if (kind === 'PUBLISH') throw new FluxoError('BAD_USER_INPUT', `a published dataset is named alone (fluxo tables show ${dataset} --kind publish), got "${name.slice(0, 140)}"`);
  const staging = dataset.endsWith('_staging') && dataset.length > '_staging'.length;
  if (staging && (kind === null || kind === 'STAGING')) return { dataset: dataset.slice(0, -'_staging'.length), table, kinds: ['STAGING'] };
  return { dataset, table, kinds: kind === null ? ['LAKE', 'STAGING', 'TABLE'] : [kind] };
}

async function listAll(client: GraphQLClient, dataset: string | null, kind: Kind | null): Promise<TableRow[]> {
  const tables: TableRow[] = [];
  let after: string | null = null;
  for (;;) {
    const { dataTables: page }: DataTablesQuery = await client.request(LIST_TABLES, { dataset, kind, after } satisfies DataTablesQueryVariables);
    tables.push(...page.nodes);
    if (!page.pageInfo.hasNextPage) return tables;
    after = page.pageInfo.endCursor;
  }
}

const count = (n: number | null): string => (n === null ? '-' : n.toLocaleString('en'));

function printTableDetails(t: TableRow): void {
  const w = t.lastWrite;
  printFields([
    ['table', displayName(t)],
    ['kind', t.kind.toLowerCase()],
    ['last run', w.flowRun.id],
    ['written', formatInstant(w.recordedAt)],
    ['rows', count(w.rows)],
    ['bytes', count(w.bytes)],
    ['mode', w.mode],
    ['uri', w.uri],
  ]);
  const partitions = t.partitions ?? [];
  process.stdout.write('\npartitions (each with the run that last wrote it):\n');
  printTable(['PARTITION', 'RUN', 'WRITTEN', 'ROWS'], partitions.map((p) => [p.partition, p.lastWrite.flowRun.id, formatInstant(p.lastWrite.recordedAt), count(p.lastWrite.rows)]),
    '(not partitioned)', { emptyTo: 'stdout' });
  if (partitions.length === SHOWN_PARTITIONS) process.stdout.write(`(the first ${SHOWN_PARTITIONS} partitions, newest first; --json for the same)\n`);
  process.stdout.write('\nhistory (newest first):\n');
  printTable(['WRITTEN', 'RUN', 'ATTEMPT', 'TASK', 'ROWS', 'PARTITIONS', 'MODE'],
    (t.history ?? []).map((h) => [formatInstant(h.recordedAt), h.flowRun.id, h.attempt, h.taskRunKey, count(h.rows), h.partitions.length, h.mode]), '(none)', { emptyTo: 'stdout' });
}

interface ListOptions extends ApiOptions {
  dataset?: string;
  kind?: string;
}

interface ShowOptions extends ApiOptions {
  kind?: string;
}

/** Registers `fluxo tables ...`. */
export function registerTablesCommand(program: Command): void {
  const tables = program
    .command('tables')
    .description("what your tenant's flows wrote with fluxo/data: lake folders, staging tables, production tables and published datasets, with the runs that wrote them");

  withApiOptions(
    tables
      .command('list')
      .description('every table with its latest write (run, time, rows, partitions that write touched)')
      .option('--dataset <dataset>', 'only this dataset (as the flow names it, without _staging)')
      .option('--kind <kind>', 'only lake | staging | table | publish'),
  ).action(async (options: ListOptions) => {
    const kind = parseKind(options.kind);
    const dataset = options.dataset === undefined ? null : checkDataName('--dataset', options.dataset);
    await withClient(options, async (client) => {
      const found = await listAll(client, dataset, kind);
      if (options.json) return printJson(found);
      printTable(
        ['TABLE', 'KIND', 'LAST RUN', 'WRITTEN', 'ROWS', 'PARTITIONS'],
        found.map((t) => [displayName(t), t.kind.toLowerCase(), t.lastWrite.flowRun.id, formatInstant(t.lastWrite.recordedAt), count(t.lastWrite.rows), t.lastWrite.partitions.length]),
        'no tables yet (flows record them when they land, stage, materialize or publish data with fluxo/data)',
      );
    });
  });

  withApiOptions(
    tables
      .command('show <table>')
      .description('one table (DATASET.TABLE, DATASET_staging.TABLE, or DATASET for a published one): each partition with the run that last wrote it, and the history; exits 4 when no run wrote it')
      .option('--kind <kind>', 'lake | staging | table | publish (default: every kind the name can be)'),
  ).action(async (name: string, options: ShowOptions) => {
    const { dataset, table, kinds } = parseTableName(name, parseKind(options.kind));
    await withClient(options, async (client) => {
      // The document is built per kind at run time: each alias answers the DataTableFields fragment.
      const answer = await client.request<Record<string, DataTableFieldsFragment | null>>(showTables(kinds), { dataset, table });
      const found = kinds.map((kind) => answer[kind.toLowerCase()]).filter((t): t is DataTableFieldsFragment => t != null);
      if (found.length === 0) {
        const kindsText = kinds.map((k) => k.toLowerCase()).join(', ');
        throw new FluxoError('NOT_FOUND', `no run of your tenant recorded ${name} (${kindsText}); \`fluxo tables list\` shows what was`);
      }
      if (options.json) return printJson(found);
      found.forEach((t, i) => {
        if (i > 0) process.stdout.write('\n');
        printTableDetails(t);
      });
    });
  });
}
