// Schedules: the clocks a flow version declares (normalised and checked at registration), the
// operator's switch (pause, resume), and backfills. The scheduler service that turns clocks into
// runs is server/services/scheduler.ts; this module holds the operations users call.
import { createHash } from 'node:crypto';
import { canonicalTimeZone, checkCron, clockTimesBetween, MAX_EVERY_SECONDS, MIN_EVERY_SECONDS, type ClockTiming } from '../../common/clocks.js';
import { FluxoError } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import type { ClockRecord, FlowRecord, FlowRunRecord, FlowScheduleRecord, MissedRunPolicy, ScheduleState } from '../store/records.js';
import type { Page, Store } from '../store/store.js';
import { actorOf, authorize } from './authorize.js';
import type { EventBus } from './events.js';
import { validateParameters } from './parameters.js';
import { checkInt, checkLabels, checkName, parseDateTime } from './validate-input.js';

/** One clock as registration receives it (GraphQL `ClockInput`). */
export interface ClockArgs {
  cron?: string | null | undefined;
  timezone?: string | null | undefined;
  everySeconds?: number | null | undefined;
  anchor?: string | null | undefined;
  parameters?: unknown;
  labels?: readonly string[] | null | undefined;
}

/** The schedule part of a registration (GraphQL `RegisterFlowInput`). */
export interface ScheduleArgs {
  schedules?: readonly ClockArgs[] | null | undefined;
  missedRuns?: MissedRunPolicy | null | undefined;
  catchUpLimit?: number | null | undefined;
  scheduleState?: ScheduleState | null | undefined;
}

/** A registration's schedule settings, normalised. */
export interface ScheduleSettings {
  clocks: ClockRecord[];
  missedRuns: MissedRunPolicy;
  catchUpLimit: number;
  scheduleState: ScheduleState;
}

/** Most clocks one version may declare. */
export const MAX_CLOCKS = 50;
/** Most clock times one backfill range may hold (all chosen clocks together). */
export const MAX_BACKFILL_TIMES = 100_000;

/**
 * JSON with object keys sorted, so equal values hash equally whatever order a client sent the
 * keys in (a clock's parameters, a backfill's override).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The clock math's view of a stored clock. */
export function clockTiming(clock: ClockRecord): ClockTiming {
  if (clock.cron !== null) return { cron: clock.cron, timezone: clock.timezone ?? 'UTC' };
  return { everySeconds: clock.everySeconds ?? 0, anchor: clock.anchor ?? 0 };
}

function bad(message: string): never {
  throw new FluxoError('BAD_USER_INPUT', message);
}

/** Re-throws `error` (a FluxoError from a check) with `where` in front of its message. */
function within(where: string, error: unknown): never {
  if (error instanceof FluxoError) throw new FluxoError(error.code, `${where}: ${error.message}`, { cause: error, details: error.details });
  throw error;
}

/**
 * Normalises and checks one registration's clocks: exactly one of cron / everySeconds, a zone only
 * with cron (default `defaultTimeZone`), an anchor only with an interval (default the epoch),
 * parameters validated and coerced against `parameterSchema`, labels checked. Each refusal names
 * the clock (`schedules[2]: ...`).
 */
export async function normaliseClocks(tenant: string, parameterSchema: Record<string, unknown>, inputs: readonly ClockArgs[], defaultTimeZone: string): Promise<ClockRecord[]> {
  if (!Array.isArray(inputs)) bad('schedules must be a list of clocks');
  if (inputs.length > MAX_CLOCKS) bad(`schedules: at most ${MAX_CLOCKS} clocks, got ${inputs.length}`);
  const clocks: ClockRecord[] = [];
  const seen = new Map<string, number>();
  for (const [index, input] of inputs.entries()) {
    const where = `schedules[${index}]`;
    const hasCron = input.cron != null;
    const hasEvery = input.everySeconds != null;
    if (hasCron === hasEvery) bad(`${where}: give exactly one of cron and everySeconds`);
    let cron: string | null = null;
    let timezone: string | null = null;
    let everySeconds: number | null = null;
    let anchor: number | null = null;
    if (hasCron) {
      if (input.anchor != null) bad(`${where}: anchor belongs to an everySeconds clock, not a cron clock`);
      cron = String(input.cron).trim().replace(/\s+/g, ' ');
      if (cron.length === 0 || cron.length > 200) bad(`${where}: cron must be 1 to 200 characters`);
      try {
        // The canonical spelling: `america/sao_paulo` and `America/Sao_Paulo` are one clock (one key).
        timezone = canonicalTimeZone(input.timezone ?? defaultTimeZone);
        checkCron(cron, timezone);
      } catch (error) {
        within(where, error);
      }
    } else {
      if (input.timezone != null) bad(`${where}: timezone belongs to a cron clock, not an everySeconds clock`);
      everySeconds = checkInt(`${where}.everySeconds`, input.everySeconds, MIN_EVERY_SECONDS, MAX_EVERY_SECONDS, 0);
      anchor = parseDateTime(`${where}.anchor`, input.anchor) ?? 0;
    }
    const given = input.parameters ?? {};
    if (typeof given !== 'object' || given === null || Array.isArray(given)) bad(`${where}: parameters must be a JSON object`);
    let parameters: Record<string, unknown>;
    try {
      parameters = await validateParameters(tenant, parameterSchema, given);
    } catch (error) {
      within(where, error);
    }
    const labels = input.labels == null ? null : checkLabels(`${where}.labels`, input.labels);
    const key = sha256Hex(canonicalJson({ cron, timezone, everySeconds, anchor, parameters, labels })).slice(0, 16);
    const earlier = seen.get(key);
    if (earlier !== undefined) bad(`${where} repeats schedules[${earlier}] (same timing, parameters and labels): its runs would be the same runs`);
    seen.set(key, index);
    clocks.push({ key, index, cron, timezone, everySeconds, anchor, parameters, labels });
  }
  return clocks;
}

/**
 * The schedule settings of a registration. Without clocks the policy fields are stored at their
 * defaults: they mean nothing then, and are not part of the content hash, so equal content must
 * not record different values.
 */
export async function scheduleSettings(tenant: string, parameterSchema: Record<string, unknown>, args: ScheduleArgs, defaultTimeZone: string): Promise<ScheduleSettings> {
  const clocks = await normaliseClocks(tenant, parameterSchema, args.schedules ?? [], defaultTimeZone);
  const missedRuns = args.missedRuns ?? 'SKIP';
  if (missedRuns !== 'SKIP' && missedRuns !== 'CATCH_UP') bad(`missedRuns must be SKIP or CATCH_UP, got ${String(missedRuns).slice(0, 40)}`);
  const catchUpLimit = checkInt('catchUpLimit', args.catchUpLimit, 1, 1000, 10);
  const scheduleState = args.scheduleState ?? 'ACTIVE';
  if (scheduleState !== 'ACTIVE' && scheduleState !== 'PAUSED') bad(`scheduleState must be ACTIVE or PAUSED, got ${String(scheduleState).slice(0, 40)}`);
  if (clocks.length === 0) return { clocks, missedRuns: 'SKIP', catchUpLimit: 10, scheduleState };
  return { clocks, missedRuns, catchUpLimit, scheduleState };
}

/**
 * What of the schedule settings enters a version's content hash: nothing when the version declares
 * no clocks, so every flow registered before schedules existed keeps its hash (re-registering it
 * creates no version). The switch (`scheduleState`) never does: it belongs to the operator.
 */
export function hashedScheduleSettings(settings: ScheduleSettings): Record<string, unknown> {
  if (settings.clocks.length === 0) return {};
  return { clocks: settings.clocks, missedRuns: settings.missedRuns, catchUpLimit: settings.catchUpLimit };
}

/** Input of {@link Schedules.backfill} (GraphQL `BackfillInput`). */
export interface BackfillArgs {
  project?: string | null | undefined;
  flowName: string;
  from: string;
  to: string;
  clock?: number | null | undefined;
  parameters?: unknown;
  limit?: number | null | undefined;
}

/** The outcome of one backfill call. */
export interface BackfillResult {
  /** Clock times in [from, to) of the chosen clocks. */
  total: number;
  created: number;
  existing: number;
  /** Epoch ms to continue from, or null when the range is done. */
  nextFrom: number | null;
  /** The runs of this call, oldest time first (ties by clock index). */
  flowRuns: FlowRunRecord[];
}

/** How many times of `timing` lie in [from, to), at most `cap`: arithmetic for an interval clock. */
function countClockTimes(timing: ClockTiming, from: number, to: number, cap: number): number {
  if (!('everySeconds' in timing)) return clockTimesBetween(timing, from, to, cap).length;
  const period = timing.everySeconds * 1000;
  const first = Math.ceil((from - timing.anchor) / period);
  const last = Math.ceil((to - timing.anchor) / period) - 1;
  return Math.max(0, Math.min(cap, last - first + 1));
}

/** Tells the scheduler its work may have changed (a registration, a resume). */
export function wakeScheduler(events: EventBus): void {
  events.emit('schedules:changed');
}

/**
 * The schedule operations users call: reading schedules, the operator's switch and backfills.
 * Each checks the role; every store call is scoped by the caller's tenant.
 */
export class Schedules {
  readonly #store: Store;
  readonly #events: EventBus;

  constructor(store: Store, events: EventBus) {
    this.#store = store;
    this.#events = events;
  }

  async #flow(identity: Identity, project: string | null | undefined, flowName: string): Promise<FlowRecord> {
    const projectName = checkName('project', project ?? 'production');
    const name = checkName('flow name', flowName);
    const flow = await this.#store.findFlow(identity.tenant, projectName, name);
    if (!flow) throw new FluxoError('NOT_FOUND', `flow "${name}" not found in project "${projectName}"`);
    return flow;
  }

  /** A flow's schedule (null: its latest version declares no clocks). */
  async get(identity: Identity, args: { project?: string | null | undefined; flowName: string }): Promise<FlowScheduleRecord | null> {
    authorize(identity, 'read');
    const flow = await this.#flow(identity, args.project, args.flowName);
    return this.#store.getFlowSchedule(identity.tenant, flow.id);
  }

  /** The tenant's schedules, by project and flow name. */
  async list(identity: Identity, filter: { project?: string | null | undefined; state?: ScheduleState | null | undefined }, page: { first?: number | null | undefined; after?: string | null | undefined }): Promise<Page<FlowScheduleRecord>> {
    authorize(identity, 'read');
    return this.#store.listFlowSchedules(identity.tenant, { project: filter.project ?? null, state: filter.state ?? null }, { first: page.first ?? 100, after: page.after ?? null });
  }

  /** Pauses a flow's schedule: the scheduler creates nothing more; its future scheduled runs go. */
  pause(identity: Identity, args: { project?: string | null | undefined; flowName: string }): Promise<FlowScheduleRecord> {
    return this.#switch(identity, args, 'PAUSED');
  }

  /** Resumes a flow's schedule and wakes the scheduler, so the horizon fills at once. */
  resume(identity: Identity, args: { project?: string | null | undefined; flowName: string }): Promise<FlowScheduleRecord> {
    return this.#switch(identity, args, 'ACTIVE');
  }

  async #switch(identity: Identity, args: { project?: string | null | undefined; flowName: string }, state: ScheduleState): Promise<FlowScheduleRecord> {
    authorize(identity, 'manageSchedules');
    const flow = await this.#flow(identity, args.project, args.flowName);
    const schedule = await this.#store.setScheduleState(identity.tenant, flow.id, state, actorOf(identity));
    if (!schedule) throw new FluxoError('NOT_FOUND', `flow "${flow.name}" has no schedule: its latest version declares no clocks`);
    if (state === 'ACTIVE') wakeScheduler(this.#events);
    return schedule;
  }

  /**
   * One run per clock time in [from, to) of the latest version's clocks (or the one `clock`), in
   * time order (ties by clock index), at most `limit` per call; `nextFrom` continues. An instant's
   * runs are never split across calls. Each run's idempotency key names the flow, the clock, the
   * override and the time, so the same backfill twice creates nothing new.
   */
  async backfill(identity: Identity, args: BackfillArgs): Promise<BackfillResult> {
    authorize(identity, 'createFlowRun');
    const from = parseDateTime('from', args.from)!;
    const to = parseDateTime('to', args.to)!;
    if (!(from < to)) bad(`from (${args.from}) must be before to (${args.to})`);
    const limit = checkInt('limit', args.limit, 1, 1000, 500);
    const override = args.parameters ?? {};
    if (typeof override !== 'object' || override === null || Array.isArray(override)) bad('parameters must be a JSON object');
    const flow = await this.#flow(identity, args.project, args.flowName);
    const version = await this.#store.getLatestFlowVersion(identity.tenant, flow.id);
    if (!version) throw new FluxoError('NOT_FOUND', `flow "${flow.name}" has no version`);
    if (version.clocks.length === 0) bad(`flow "${flow.name}" declares no clocks: a backfill creates runs at clock times (use createFlowRun with scheduledAt for one run)`);
    let clocks = version.clocks;
    if (args.clock != null) {
      const chosen = version.clocks.find((c) => c.index === args.clock);
      if (!chosen) bad(`clock ${args.clock} does not exist: flow "${flow.name}" has clocks 0 to ${version.clocks.length - 1}`);
      clocks = [chosen];
    }

    // Every time of the range is counted against the bound before anything is created.
    let total = 0;
    for (const clock of clocks) {
      total += countClockTimes(clockTiming(clock), from, to, MAX_BACKFILL_TIMES + 1 - total);
      if (total > MAX_BACKFILL_TIMES) {
        bad(`[${args.from}, ${args.to}) holds more than ${MAX_BACKFILL_TIMES.toLocaleString('en-US')} clock times${clocks.length > 1 ? ` of ${clocks.length} clocks` : ''}; backfill a shorter range${clocks.length > 1 ? ' or one clock' : ''}`);
      }
    }
    // This call's times are among each clock's first limit + 1: a page of a long range costs a page.
    // (A clock with more has entries past the page, so `end < due.length` says whether more follow.)
    const due: { at: number; clock: ClockRecord }[] = [];
    for (const clock of clocks) for (const at of clockTimesBetween(clockTiming(clock), from, to, limit + 1)) due.push({ at, clock });
    due.sort((a, b) => a.at - b.at || a.clock.index - b.clock.index);
    let end = Math.min(limit, due.length);
    if (end < due.length) {
      // Never split an instant: stop before it, unless it alone is more than the limit.
      const cut = due[end]!.at;
      let back = end;
      while (back > 0 && due[back - 1]!.at === cut) back--;
      if (back > 0) end = back;
      else while (end < due.length && due[end]!.at === cut) end++;
    }
    const batch = due.slice(0, end);

    const overrideHash = sha256Hex(canonicalJson(override)).slice(0, 8);
    const parametersOf = new Map<string, Record<string, unknown>>();
    for (const clock of clocks) {
      try {
        parametersOf.set(clock.key, await validateParameters(identity.tenant, version.parameterSchema, { ...clock.parameters, ...override }));
      } catch (error) {
        within(`clock ${clock.index}`, error);
      }
    }
    const actor = actorOf(identity);
    const runs: FlowRunRecord[] = [];
    const createdRuns: FlowRunRecord[] = [];
    for (const { at, clock } of batch) {
      const { run, created } = await this.#store.createFlowRun(identity.tenant, {
        flowId: flow.id,
        flowVersionId: version.id,
        parameters: parametersOf.get(clock.key)!,
        labels: clock.labels ?? version.defaultLabels,
        priority: 0,
        scheduledAt: at,
        idempotencyKey: `backfill:${flow.id}:${clock.key}:${overrideHash}:${new Date(at).toISOString()}`,
        actor,
      });
      runs.push(run);
      if (created) createdRuns.push(run);
    }
    if (createdRuns.length > 0) this.#events.runsChanged(createdRuns);
    return { total, created: createdRuns.length, existing: runs.length - createdRuns.length, nextFrom: end < due.length ? due[end]!.at : null, flowRuns: runs };
  }
}
