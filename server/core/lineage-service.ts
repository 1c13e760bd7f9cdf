// Lineage as a sub-service of the core (`service.lineage`): the operations of lineage.ts bound to
// the service. Root reads check the role and scope by the identity's tenant; field reads take a
// run or table a root read already returned (flow-reads.ts says why they check no role again).
import type { Identity } from '../../common/identity.js';
import type { DataPartitionRecord, DataTableFilter, DataTableKey } from '../store/lineage-store.js';
import type { DataTableRecord, FlowRunRecord, MaterializationRecord } from '../store/records.js';
import type { Page, PageRequest } from '../store/store.js';
import { pageSize } from '../store/cursor.js';
import { getDataTable, listDataTables, MAX_PARTITIONS, recordMaterializations, type RecordMaterializationsArgs } from './lineage.js';
import type { FluxoService } from './service.js';

export type { DataPartitionRecord };

/** What runs wrote to the lake and the warehouse. */
export class Lineage {
  readonly #service: FluxoService;

  constructor(service: FluxoService) {
    this.#service = service;
  }

  /** An agent's report of what a run wrote, under the run's lease (`agentWork`); idempotent per batch. */
  record(identity: Identity, args: RecordMaterializationsArgs): Promise<MaterializationRecord[]> {
    return recordMaterializations(this.#service, identity, args);
  }

  /** The tenant's tables; `dataset` and `kind` filter (`read`). */
  tables(identity: Identity, filter: DataTableFilter, page: PageRequest): Promise<Page<DataTableRecord>> {
    return listDataTables(this.#service.store, identity, filter, page);
  }

  /** One table of the tenant, or null (`read`). */
  table(identity: Identity, key: DataTableKey): Promise<DataTableRecord | null> {
    return getDataTable(this.#service.store, identity, key);
  }

  /** Field read: a run's writes, oldest first. */
  materializationsOf(identity: Identity, run: FlowRunRecord): Promise<MaterializationRecord[]> {
    return this.#service.store.lineage.listForRun(identity.tenant, run.id);
  }

  /** Field read: a table's partitions, descending, each with its latest write (1-10,000). */
  partitionsOf(identity: Identity, table: DataTableRecord, first: number): Promise<DataPartitionRecord[]> {
    return this.#service.store.lineage.partitions(identity.tenant, table, pageSize(first, MAX_PARTITIONS));
  }

  /** Field read: a table's writes, newest first (1-500). */
  historyOf(identity: Identity, table: DataTableRecord, first: number): Promise<MaterializationRecord[]> {
    return this.#service.store.lineage.history(identity.tenant, table, pageSize(first));
  }
}
