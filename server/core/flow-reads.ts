// Reading flows, free of transports: projects, flows, versions and the fields that link them
// (`service.flows`). Root reads check the `read` role; every read is scoped by the identity's
// tenant, so another tenant's flow is simply not found.
//
// Field reads (a flow's project, a run's flow, ...) take the record a root read already returned
// and check no role again: which role may see which field is the transport's field guard
// (server/graphql/field-permissions.ts), and an agent reaches a run's version through its claim.
import { nextClockTimes } from '../../common/clocks.js';
import { FluxoError } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import type { ClockRecord, FlowRecord, FlowScheduleRecord, FlowVersionRecord, ProjectRecord } from '../store/records.js';
import type { Page, PageRequest, Store } from '../store/store.js';
import { authorize } from './authorize.js';
import { clockTiming } from './schedules.js';
import { checkInt } from './validate-input.js';

export type { Page };

/** A page as transports ask for it (the schema defaults `first`; the store caps it). */
export interface PageArgs {
  first: number;
  after?: string | null | undefined;
}

/** Which flow `Query.flow` names: its id, or its name (and project, `production` when left out). */
export interface FlowKey {
  id?: string | null | undefined;
  name?: string | null | undefined;
  project?: string | null | undefined;
}

/** The store's page request for transport arguments. */
export const pageOf = (page: PageArgs): PageRequest => ({ first: page.first, after: page.after });

/** Throws NOT_FOUND naming `what` when a record another read linked to is gone. */
export async function must<T>(value: Promise<T | null>, what: string): Promise<T> {
  const found = await value;
  if (found === null) throw new FluxoError('NOT_FOUND', `${what} not found`);
  return found;
}

/** Flows, their projects and versions, as readers see them. */
export class FlowReads {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** The tenant's projects. */
  async projects(identity: Identity): Promise<ProjectRecord[]> {
    authorize(identity, 'read');
    return this.#store.listProjects(identity.tenant);
  }

  /** The tenant's flows, optionally of one project. */
  async list(identity: Identity, args: { project?: string | null | undefined } & PageArgs): Promise<Page<FlowRecord>> {
    authorize(identity, 'read');
    return this.#store.listFlows(identity.tenant, args.project ?? null, pageOf(args));
  }

  /** One flow by id, or by project and name; null when the tenant has none such. */
  async get(identity: Identity, key: FlowKey): Promise<FlowRecord | null> {
    authorize(identity, 'read');
    if (key.id) return this.#store.getFlow(identity.tenant, key.id);
    if (key.name) return this.#store.findFlow(identity.tenant, key.project ?? 'production', key.name);
    throw new FluxoError('BAD_USER_INPUT', 'give id, or name (and project)');
  }

  /** One version by id; null when the tenant has none such. */
  async version(identity: Identity, id: string): Promise<FlowVersionRecord | null> {
    authorize(identity, 'read');
    return this.#store.getFlowVersion(identity.tenant, id);
  }

  /** Field read: the flow a version, run or schedule belongs to (NOT_FOUND if gone). */
  flowOf(identity: Identity, of: { flowId: string }): Promise<FlowRecord> {
    return must(this.#store.getFlow(identity.tenant, of.flowId), 'flow');
  }

  /** Field read: a flow a rule names by id, or null when it is gone (`NotificationRule.flow`). */
  flowById(identity: Identity, flowId: string | null): Promise<FlowRecord | null> {
    return flowId === null ? Promise.resolve(null) : this.#store.getFlow(identity.tenant, flowId);
  }

  /** Field read: a flow's project. */
  projectOf(identity: Identity, flow: FlowRecord): Promise<ProjectRecord> {
    return must(this.#store.getProject(identity.tenant, flow.projectId), 'project');
  }

  /** Field read: a flow's newest version. */
  latestVersionOf(identity: Identity, flow: FlowRecord): Promise<FlowVersionRecord> {
    return must(this.#store.getLatestFlowVersion(identity.tenant, flow.id), `latest version of ${flow.name}`);
  }

  /** Field read: a flow's versions, newest first. */
  versionsOf(identity: Identity, flow: FlowRecord, page: PageArgs): Promise<Page<FlowVersionRecord>> {
    return this.#store.listFlowVersions(identity.tenant, flow.id, pageOf(page));
  }

  /** Field read: the version a run runs. */
  versionOf(identity: Identity, run: { flowVersionId: string }): Promise<FlowVersionRecord> {
    return must(this.#store.getFlowVersion(identity.tenant, run.flowVersionId), 'flow version');
  }

  /** Field read: a flow's schedule (null: its latest version declares no clocks). */
  scheduleOf(identity: Identity, flow: FlowRecord): Promise<FlowScheduleRecord | null> {
    return this.#store.getFlowSchedule(identity.tenant, flow.id);
  }

  /**
   * Field read: a clock's next `count` times (1-100, default 3), from the database's now: the
   * server's clock, like the scheduler's (rule 3).
   */
  async nextTimesOf(_identity: Identity, clock: ClockRecord, count: number | null | undefined): Promise<number[]> {
    const n = checkInt('count', count, 1, 100, 3);
    return nextClockTimes(clockTiming(clock), await this.#store.now(), n);
  }
}
