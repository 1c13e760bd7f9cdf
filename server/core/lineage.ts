// Lineage (issue 11), free of transports: the agent reports what a run wrote to the lake and the
// warehouse (recordMaterializations, under the run's lease, like writeLogs); readers see each
// table's latest write, each partition's, and the history. The data never passes through here:
// only names, partitions, counts and where it is. Transports reach these through `service.lineage`
// (lineage-service.ts), which also holds the field reads (a run's writes, a table's partitions).
import { FluxoError } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import type { DataTableFilter, DataTableKey, MaterializationWrite } from '../store/lineage-store.js';
import type { DataTableRecord, FlowRunRecord, MaterializationKind, MaterializationRecord } from '../store/records.js';
import type { Page, PageRequest, Store } from '../store/store.js';
import { authorize } from './authorize.js';
import type { FluxoService } from './service.js';
import { checkString } from './validate-input.js';

/** dataset and table ids: BigQuery's rule, capped at 128 (data/contract.ts DATA_NAME_PATTERN). */
const DATA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const KINDS: readonly MaterializationKind[] = ['LAKE', 'STAGING', 'TABLE', 'PUBLISH'];
/** Writes per batch. */
export const MAX_MATERIALIZATIONS = 100;
/** Partitions per write, and characters per partition. */
export const MAX_PARTITIONS = 10_000;
export const MAX_PARTITION_LENGTH = 512;
/** How many reruns `outputKeyOf` follows before it stops (a longer chain keeps the run it reached). */
export const MAX_RERUN_HOPS = 100;

/** One write as `recordMaterializations` takes it (GraphQL MaterializationInput). */
export interface MaterializationInput {
  kind: MaterializationKind;
  taskRunKey?: string | null | undefined;
  dataset: string;
  table: string;
  partitions: readonly string[];
  rows?: number | null | undefined;
  bytes?: number | null | undefined;
  uri: string;
  mode?: string | null | undefined;
}

export interface RecordMaterializationsArgs {
  flowRunId: string;
  leaseToken: string;
  batchId: string;
  items: readonly MaterializationInput[];
}

function bad(message: string): never {
  throw new FluxoError('BAD_USER_INPUT', message);
}

function checkCount(what: string, value: number | null | undefined): number | null {
  if (value == null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) bad(`${what} must be a finite number >= 0 or null, got ${String(value)}`);
  return value;
}

/** Validates one write (BAD_USER_INPUT naming `items[i].field`); partitions come back without repeats, in their order. */
export function checkMaterialization(item: MaterializationInput, i: number): MaterializationWrite {
  const at = `items[${i}]`;
  if (!KINDS.includes(item.kind)) bad(`${at}.kind must be one of ${KINDS.join(', ')}, got ${String(item.kind).slice(0, 40)}`);
  if (!DATA_NAME.test(item.dataset)) bad(`${at}.dataset "${item.dataset.slice(0, 140)}" must be 1-128 letters, digits or "_", not starting with a digit`);
  if (item.table === '') {
    if (item.kind !== 'PUBLISH') bad(`${at}.table may be empty only for PUBLISH (a published dataset); ${item.kind} names a table`);
  } else if (!DATA_NAME.test(item.table)) {
    bad(`${at}.table "${item.table.slice(0, 140)}" must be 1-128 letters, digits or "_", not starting with a digit`);
  }
  if (item.partitions.length > MAX_PARTITIONS) bad(`${at}.partitions: at most ${MAX_PARTITIONS.toLocaleString('en')} partitions per write, got ${item.partitions.length}`);
  item.partitions.forEach((p, j) => {
    if (p.length === 0 || p.length > MAX_PARTITION_LENGTH) bad(`${at}.partitions[${j}] must be 1-${MAX_PARTITION_LENGTH} characters, got ${p.length}`);
  });
  const taskRunKey = item.taskRunKey == null ? null : checkString(`${at}.taskRunKey`, item.taskRunKey, 300);
  if (item.uri.length === 0 || item.uri.length > 2048) bad(`${at}.uri must be 1-2048 characters, got ${item.uri.length}`);
  if (item.mode != null && (item.mode.length === 0 || item.mode.length > 32)) bad(`${at}.mode must be 1-32 characters or null, got ${item.mode.length}`);
  return {
    kind: item.kind,
    taskRunKey,
    dataset: item.dataset,
    table: item.table,
    partitions: [...new Set(item.partitions)],
    rows: checkCount(`${at}.rows`, item.rows),
    bytes: checkCount(`${at}.bytes`, item.bytes),
    uri: item.uri,
    mode: item.mode ?? null,
  };
}

/**
 * Records what a run wrote, under its live lease (LEASE_LOST otherwise, exactly as writeLogs),
 * with the run's current attempt; a batch id the run already used records nothing. Every item is
 * checked before anything is written: one bad item refuses the batch (BAD_USER_INPUT naming it).
 * Returns how many were recorded (0 for a repeated batch).
 */
export async function recordMaterializations(service: FluxoService, identity: Identity, args: RecordMaterializationsArgs): Promise<MaterializationRecord[]> {
  authorize(identity, 'agentWork');
  checkString('batchId', args.batchId, 100);
  if (args.items.length < 1 || args.items.length > MAX_MATERIALIZATIONS) bad(`items: 1 to ${MAX_MATERIALIZATIONS} writes per batch, got ${args.items.length}`);
  const items = args.items.map(checkMaterialization);
  // A token not handed to this caller's subject becomes one no store token equals: the store
  // answers as for a stale lease (LEASE_LOST), or NOT_FOUND for no such run (service.storeLeaseOf).
  const leaseToken = service.storeLeaseFor(identity, args.leaseToken) ?? `!${args.leaseToken}`;
  return service.store.lineage.record(identity.tenant, args.flowRunId, leaseToken, args.batchId, items);
}

/** The caller's tenant's tables; `dataset` and `kind` filter. */
export async function listDataTables(store: Store, identity: Identity, filter: DataTableFilter, page: PageRequest): Promise<Page<DataTableRecord>> {
  authorize(identity, 'read');
  return store.lineage.listTables(identity.tenant, filter, page);
}

/** One table of the caller's tenant, or null (another tenant's table is simply not there). */
export async function getDataTable(store: Store, identity: Identity, key: DataTableKey): Promise<DataTableRecord | null> {
  authorize(identity, 'read');
  // Names that break the rule were never recorded: no need to ask the store.
  if (!DATA_NAME.test(key.dataset) || (key.table !== '' && !DATA_NAME.test(key.table))) return null;
  return store.lineage.getTable(identity.tenant, key);
}

/**
 * The id that names a run's output (ClaimedFlowRun.outputKey): the run's own id, or for a rerun
 * the first run of its rerun chain, so every rerun replaces the same output. The chain is
 * followed at most {@link MAX_RERUN_HOPS} links. A link that is gone (pruned by retention) is
 * still the key: its id is known from the run that reruns it, and it is what the earlier reruns
 * wrote under, so pruning never changes a chain's key (only what lay beyond the gone run is lost).
 */
export async function outputKeyOf(store: Store, run: FlowRunRecord): Promise<string> {
  let key = run.id;
  let current: FlowRunRecord | null = run;
  const seen = new Set([run.id]);
  for (let hop = 0; hop < MAX_RERUN_HOPS && current?.rerunOf != null && !seen.has(current.rerunOf); hop++) {
    key = current.rerunOf;
    seen.add(key);
    current = await store.getFlowRun(run.tenant, key);
  }
  return key;
}
