// A crashed run's last words (agent/PROTOCOL.md, "Spool and recovery"): at start, the agent finds
// the spools a previous process of it left on disk (a `<name>.run.json` header next to the run's
// `<name>.<n>.jsonl` files) and delivers what lies past their acknowledgement mark with
// deliverLateRunEntries, in the background, so claiming never waits for it.
//
// Guarantees. Batches are cut from the files at fixed places (up to `batchEntries` entries from a
// file position), and a batch's id is that position: a delivery cut short (another crash, a lost
// answer) re-sends the same batches with the same ids, and the server records each id once. After
// each acknowledged batch the mark moves past it (fsync, then rename), so a restart does not even
// re-send it. Lineage writes in the spool cannot be delivered late (recordMaterializations needs the
// lease that died): they are dropped with a warning that names them.
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FluxoError, coerceError } from '../common/errors.js';
import type { LogLineInput, MaterializationInput, TaskRunStateInput } from '../schema/generated/graphql.js';
import type { AgentApi } from './agent-api.js';
import { RetryAbortedError, retryInTransit } from './backoff.js';
import { isTokenRefusal } from './relay.js';
import { SPOOL_HEADER_SUFFIX, SPOOL_MARK_SUFFIX, writeFileAtomic, type SpoolHeader, type SpoolMark } from './spool.js';

/** Entries per late batch: within the server's limits (1,000 task states, 5,000 lines). */
export const LATE_BATCH_ENTRIES = 1_000;

/** One run's spool as a previous agent process left it. */
export interface SpooledRun {
  /** File name stem: `<stem>.run.json`, `<stem>.<n>.jsonl`, `<stem>.ack`. */
  stem: string;
  header: SpoolHeader;
  /** Its files in order. */
  segments: { sequence: number; path: string }[];
  /** Entries up to here were delivered. */
  mark: SpoolMark | null;
}

/** What a spool directory holds. */
export interface SpoolDirContents {
  runs: SpooledRun[];
  /** `.jsonl` files without a header (written by an agent before spools had headers): nothing can deliver them. */
  orphans: string[];
}

type SpooledEntry = { state: TaskRunStateInput } | { line: LogLineInput } | { materialization: MaterializationInput };

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function isHeader(value: unknown): value is SpoolHeader {
  const h = value as Partial<SpoolHeader> | null;
  return h !== null && typeof h === 'object' && h.v === 1 && typeof h.flowRunId === 'string' && Number.isInteger(h.attempt) && typeof h.agentName === 'string';
}

/** Lists the spools in `dir` (empty when it does not exist). A header that cannot be read makes its files orphans. */
export function findSpooledRuns(dir: string): SpoolDirContents {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { runs: [], orphans: [] };
  }
  const runs: SpooledRun[] = [];
  const owned = new Set<string>();
  for (const name of names) {
    if (!name.endsWith(SPOOL_HEADER_SUFFIX)) continue;
    const stem = name.slice(0, -SPOOL_HEADER_SUFFIX.length);
    let header: unknown;
    try {
      header = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    } catch {
      continue;
    }
    if (!isHeader(header)) continue;
    const pattern = new RegExp(`^${escape(stem)}\\.(\\d+)\\.jsonl$`);
    const segments = names.flatMap((file) => {
      const match = pattern.exec(file);
      return match ? [{ sequence: Number(match[1]), path: join(dir, file) }] : [];
    }).sort((a, b) => a.sequence - b.sequence);
    for (const segment of segments) owned.add(segment.path);
    let mark: SpoolMark | null = null;
    try {
      const parsed = JSON.parse(readFileSync(join(dir, `${stem}${SPOOL_MARK_SUFFIX}`), 'utf8')) as SpoolMark;
      if (Number.isInteger(parsed.segment) && Number.isInteger(parsed.offset)) mark = parsed;
    } catch {
      // no mark: nothing was acknowledged from the files
    }
    runs.push({ stem, header, segments, mark });
  }
  const orphans = names.filter((name) => name.endsWith('.jsonl') && !owned.has(join(dir, name))).map((name) => join(dir, name));
  return { runs, orphans };
}

/** A run's entries past its mark, with the file position each one ends at. */
function* entriesOf(run: SpooledRun, onDamaged: (path: string) => void): Generator<{ entry: SpooledEntry; segment: number; start: number; end: number }> {
  for (const { sequence, path } of run.segments) {
    if (run.mark && sequence < run.mark.segment) continue;
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch {
      onDamaged(path);
      continue;
    }
    let start = run.mark?.segment === sequence ? run.mark.offset : 0;
    while (start < data.length) {
      const end = data.indexOf(0x0a, start);
      // A line cut by the crash (its write never finished) ends the file.
      if (end === -1) break;
      const text = data.toString('utf8', start, end);
      const from = start;
      start = end + 1;
      try {
        yield { entry: JSON.parse(text) as SpooledEntry, segment: sequence, start: from, end: start };
      } catch {
        onDamaged(path);
      }
    }
  }
}

/** Removes a run's spool files (the mark last: a crash half-way leaves a mark that still holds). */
export function removeSpooledRun(dir: string, run: SpooledRun): void {
  for (const segment of run.segments) rmSync(segment.path, { force: true });
  rmSync(join(dir, `${run.stem}${SPOOL_HEADER_SUFFIX}`), { force: true });
  rmSync(join(dir, `${run.stem}${SPOOL_MARK_SUFFIX}`), { force: true });
  // What a crash inside writeFileAtomic may have left.
  rmSync(join(dir, `${run.stem}${SPOOL_HEADER_SUFFIX}.tmp`), { force: true });
  rmSync(join(dir, `${run.stem}${SPOOL_MARK_SUFFIX}.tmp`), { force: true });
}

export interface LateDeliveryOptions {
  api: Pick<AgentApi, 'deliverLateRunEntries'>;
  /** The agent's id from registerAgent (the server checks it held the attempt). */
  agentId: string;
  /** Runs whose header names another agent are left alone. */
  agentName: string;
  dir: string;
  /** The spools to deliver (found before the agent began to claim, so a new spool of this process is never among them). */
  runs: SpooledRun[];
  /** @default LATE_BATCH_ENTRIES */
  batchEntries?: number;
  /** Stops delivering (the agent stops); what is left stays on disk for the next start. */
  signal?: AbortSignal;
  /** A run's spool was delivered and removed. */
  onDelivered?: (run: SpooledRun, entries: number, bytes: number) => void;
  onWarning?: (message: string, flowRunId?: string, error?: Error) => void;
  onRetry?: (error: Error, retryInMs: number) => void;
  /** The token was refused: the agent cannot go on. */
  onFatal?: (error: FluxoError) => void;
}

/**
 * Delivers every spool of `runs` that belongs to this agent, one run after another, and removes
 * its files. Never rejects: problems go to `onWarning` (and a refused token to `onFatal`).
 */
export async function deliverSpooledRuns(options: LateDeliveryOptions): Promise<void> {
  for (const run of options.runs) {
    if (options.signal?.aborted) return;
    if (run.header.agentName !== options.agentName) {
      options.onWarning?.(`left the spool of run ${run.header.flowRunId} in ${options.dir} alone: it belongs to agent "${run.header.agentName}", not "${options.agentName}"`, run.header.flowRunId);
      continue;
    }
    try {
      if ((await deliverRun(options, run)) === 'fatal') return;
    } catch (error) {
      options.onWarning?.(`could not deliver the spool of run ${run.header.flowRunId} left by a previous agent process; it stays on disk for the next start`, run.header.flowRunId, coerceError(error));
    }
  }
}

async function deliverRun(options: LateDeliveryOptions, run: SpooledRun): Promise<'done' | 'fatal' | 'stopped'> {
  const { api, agentId, dir, signal } = options;
  const { flowRunId, attempt } = run.header;
  const max = options.batchEntries ?? LATE_BATCH_ENTRIES;
  const bytes = run.segments.reduce((sum, segment) => sum + sizeOf(segment.path), 0);
  const dropped: MaterializationInput[] = [];
  let damaged = 0;
  let delivered = 0;
  let batch: { states: TaskRunStateInput[]; lines: LogLineInput[]; first: { segment: number; start: number } | null; last: SpoolMark | null } = { states: [], lines: [], first: null, last: null };

  const send = async (): Promise<'sent' | 'gone' | 'fatal' | 'stopped'> => {
    if (batch.first === null || batch.last === null) return 'sent';
    // The id is where the batch begins in the files: the same batch always gets the same id.
    const batchId = `spool:${attempt}:${batch.first.segment}:${batch.first.start}`;
    const input = {
      agentId, flowRunId, attempt, batchId,
      ...(batch.states.length > 0 ? { taskRunStates: batch.states } : {}),
      ...(batch.lines.length > 0 ? { logLines: batch.lines } : {}),
    };
    try {
      await retryInTransit(() => api.deliverLateRunEntries(input), { ...(signal ? { signal } : {}), ...(options.onRetry ? { onRetry: options.onRetry } : {}) });
    } catch (error) {
      if (error instanceof RetryAbortedError) return 'stopped';
      if (!(error instanceof FluxoError)) throw error;
      if (isTokenRefusal(error)) {
        options.onFatal?.(error);
        return 'fatal';
      }
      if (error.code === 'NOT_FOUND') {
        options.onWarning?.(`the server does not know run ${flowRunId} attempt ${attempt} as this agent's (pruned, or held by another agent): its spooled entries were deleted`, flowRunId, error);
        return 'gone';
      }
      // Refused for its content: a retry would be refused again. Drop this batch, go on.
      options.onWarning?.(`a late batch of run ${flowRunId} (${batch.states.length} task states, ${batch.lines.length} lines) was refused and dropped`, flowRunId, error);
    }
    delivered += batch.states.length + batch.lines.length;
    writeFileAtomic(join(dir, `${run.stem}${SPOOL_MARK_SUFFIX}`), JSON.stringify(batch.last));
    batch = { states: [], lines: [], first: null, last: null };
    return 'sent';
  };

  for (const item of entriesOf(run, () => damaged++)) {
    if ('materialization' in item.entry) {
      dropped.push(item.entry.materialization);
    } else {
      batch.first ??= { segment: item.segment, start: item.start };
      if ('state' in item.entry) batch.states.push(item.entry.state);
      else batch.lines.push(item.entry.line);
    }
    batch.last = { segment: item.segment, offset: item.end };
    if (batch.states.length + batch.lines.length >= max) {
      const outcome = await send();
      if (outcome === 'fatal' || outcome === 'stopped') return outcome;
      if (outcome === 'gone') break;
    }
  }
  const outcome = await send();
  if (outcome === 'fatal' || outcome === 'stopped') return outcome;
  if (dropped.length > 0) {
    const names = [...new Set(dropped.map((m) => `${m.kind} ${m.dataset}${m.table ? `.${m.table}` : ''}`))].slice(0, 10).join(', ');
    options.onWarning?.(`run ${flowRunId} attempt ${attempt}: ${dropped.length} lineage writes in the spool cannot be delivered late (recordMaterializations needs the run's lease) and were dropped: ${names}`, flowRunId);
  }
  if (damaged > 0) options.onWarning?.(`run ${flowRunId}: ${damaged} damaged spool lines or files were skipped`, flowRunId);
  removeSpooledRun(dir, run);
  options.onDelivered?.(run, delivered, bytes);
  return 'done';
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
