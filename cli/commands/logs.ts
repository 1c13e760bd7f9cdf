// `fluxo logs RUN_ID [--follow]`: a run's log lines, and following a run until it ends (shared
// with `fluxo runs create --watch`).
import type { Command } from 'commander';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { FluxoError } from '../../common/errors.js';
import { finalStates, retryableStates } from '../../contract/states.js';
import type {
  LogLineFieldsFragment,
  RunLogLinesSubscription,
  RunLogLinesSubscriptionVariables,
  RunLogsQuery,
  RunLogsQueryVariables,
  RunStateSubscription,
  RunStateSubscriptionVariables,
  RunStatusFieldsFragment,
  RunStatusQuery,
  RunStatusQueryVariables,
} from '../../schema/generated/operations.js';
import { TransportError } from '../../client/graphql-client.js';
import { clientFrom, withApiOptions, type ApiOptions } from '../api-options.js';

/** A log line as the API returns it. */
export type LogLine = LogLineFieldsFragment;

/** What following needs to know about a run's state. */
export type RunStatus = RunStatusFieldsFragment;

/** States after which nothing more happens, unless flow-level retries remain (see `isFinalRun`). */
export const FINAL_STATES: ReadonlySet<string> = new Set(finalStates);
/** Final states that flow-level retries turn back into SCHEDULED. */
const RETRYABLE_STATES: ReadonlySet<string> = new Set(retryableStates);

// Shared selections are fragments, appended to each document, so every document is valid GraphQL on
// its own: codegen (schema/codegen.ts) types it from the schema (schema/generated/operations.ts).
const LOG_FIELDS = /* GraphQL */ `
  fragment LogLineFields on LogLine { id flowRunId taskRunKey level stream message timestamp }
`;
const RUN_STATUS_FIELDS = /* GraphQL */ `
  fragment RunStatusFields on FlowRun { id state stateReason stateMessage attempt endedAt exitCode signal flowVersion { retries } }
`;

export const RUN_LOGS_QUERY = /* GraphQL */ `
  query RunLogs($id: ID!, $first: Int, $after: String) {
    flowRun(id: $id) {
      id
      logs(first: $first, after: $after) {
        nodes { ...LogLineFields }
        pageInfo { endCursor hasNextPage }
      }
    }
  }
  ${LOG_FIELDS}
`;

export const RUN_STATUS_QUERY = /* GraphQL */ `
  query RunStatus($id: ID!) {
    flowRun(id: $id) { ...RunStatusFields }
  }
  ${RUN_STATUS_FIELDS}
`;

export const RUN_STATE_SUBSCRIPTION = /* GraphQL */ `
  subscription RunState($id: ID!) {
    flowRunStateChanged(id: $id) { flowRun { ...RunStatusFields } }
  }
  ${RUN_STATUS_FIELDS}
`;

export const RUN_LOGS_SUBSCRIPTION = /* GraphQL */ `
  subscription RunLogLines($id: ID!, $after: String) {
    flowRunLogs(id: $id, after: $after) { ...LogLineFields }
  }
  ${LOG_FIELDS}
`;

/** Lines per page when reading logs (the server accepts up to 500). */
const LOG_PAGE_SIZE = 500;
/** After the run ended, how long to wait for the log stream to deliver its last lines. */
const LOG_SETTLE_MS = 5_000;

interface LogsCommandOptions extends ApiOptions {
  follow: boolean;
}

/** Registers `fluxo logs`. */
export function registerLogsCommand(program: Command): void {
  withApiOptions(
    program
      .command('logs')
      .description("print a flow run's log lines, oldest first")
      .argument('<run-id>', 'the flow run id')
      .option('-f, --follow', 'keep printing new lines until the run reaches a final state', false),
  )
    .addHelpText('after', '\nWith --json, each line is printed as one JSON object per line (JSON Lines).')
    .action(async (runId: string, options: LogsCommandOptions) => {
      const client = clientFrom(options);
      const print = (line: LogLine): void => void process.stdout.write(options.json ? `${JSON.stringify(line)}\n` : `${formatLogLine(line)}\n`);
      try {
        if (options.follow) {
          await followRun(client, runId, { onLog: print });
        } else {
          await readLogs(client, runId, undefined, print);
        }
      } finally {
        await client.close();
      }
    });
}

/** One log line for people: `time LEVEL [task] message` (stderr lines marked). */
export function formatLogLine(line: LogLine): string {
  const where = line.taskRunKey ? `[${line.taskRunKey}]` : '[flow]';
  const stream = line.stream === 'stderr' ? ' (stderr)' : '';
  return `${line.timestamp} ${line.level.padEnd(7)} ${where}${stream} ${line.message}`;
}

/**
 * Reads every log line after `after` (or from the start), page by page, calling `onLine` for each;
 * resolves to the last line's id. NOT_FOUND when the run does not exist in the caller's tenant.
 */
export async function readLogs(client: GraphQLClient, runId: string, after: string | undefined, onLine: (line: LogLine) => void): Promise<string | undefined> {
  let cursor = after;
  let lastId = after;
  for (;;) {
    const data: RunLogsQuery = await client.request(RUN_LOGS_QUERY, { id: runId, first: LOG_PAGE_SIZE, after: cursor ?? null } satisfies RunLogsQueryVariables);
    if (!data.flowRun) throw runNotFound(runId);
    const { nodes, pageInfo } = data.flowRun.logs;
    for (const line of nodes) {
      onLine(line);
      lastId = line.id;
    }
    if (!pageInfo.hasNextPage || !pageInfo.endCursor) return lastId;
    cursor = pageInfo.endCursor;
  }
}

/** Whether a run will change no more: a final state, and for FAILED, CRASHED and TIMED_OUT no retries left. */
export function isFinalRun(run: RunStatus): boolean {
  if (!FINAL_STATES.has(run.state)) return false;
  return !RETRYABLE_STATES.has(run.state) || run.attempt > run.flowVersion.retries;
}

/** Reads a run's current status; NOT_FOUND when it does not exist. */
export async function getRunStatus(client: GraphQLClient, runId: string): Promise<RunStatus> {
  const data = await client.request<RunStatusQuery>(RUN_STATUS_QUERY, { id: runId } satisfies RunStatusQueryVariables);
  if (!data.flowRun) throw runNotFound(runId);
  return data.flowRun;
}

export function runNotFound(runId: string): FluxoError {
  return new FluxoError('NOT_FOUND', `flow run ${runId} not found (check the id, and that your token's tenant owns it)`);
}

/** Callbacks of `followRun`. */
export interface FollowHandlers {
  /** Each state change (the first call is the current state). Omit to skip nothing: states are always tracked. */
  onState?: (run: RunStatus) => void;
  /** Each log line, once, in id order as delivered. Omit to not subscribe to logs. */
  onLog?: (line: LogLine) => void;
  /** Print log lines after this id only. */
  logsAfter?: string;
}

/**
 * Follows a run over graphql-ws until it will change no more, printing states and log lines;
 * resolves to the final status. A FAILED/CRASHED/TIMED_OUT event is final only if a fresh read of
 * the run still says so with no retries left, because the server may schedule another attempt.
 */
export function followRun(client: GraphQLClient, runId: string, handlers: FollowHandlers): Promise<RunStatus> {
  return new Promise<RunStatus>((resolve, reject) => {
    const seenLogs = new Set<string>();
    let lastLogId = handlers.logsAfter;
    let finished = false;
    let lastState = '';
    let stopStates: (() => void) | undefined;
    let stopLogs: (() => void) | undefined;
    let logsComplete = !handlers.onLog;
    let onLogsComplete: (() => void) | undefined;

    const deliver = (line: LogLine): void => {
      if (seenLogs.has(line.id)) return;
      seenLogs.add(line.id);
      lastLogId = line.id;
      handlers.onLog?.(line);
    };
    const fail = (error: unknown): void => {
      if (finished) return;
      finished = true;
      stopStates?.();
      stopLogs?.();
      reject(error instanceof Error ? error : new TransportError(String(error)));
    };
    const finish = async (run: RunStatus): Promise<void> => {
      if (finished) return;
      finished = true;
      stopStates?.();
      // Give the log stream a moment to deliver its tail (the server ends it after the run ends),
      // then read whatever it did not deliver, so the output is complete either way.
      if (!logsComplete) {
        await new Promise<void>((settle) => {
          const timer = setTimeout(settle, LOG_SETTLE_MS);
          onLogsComplete = () => {
            clearTimeout(timer);
            settle();
          };
        });
      }
      stopLogs?.();
      try {
        if (handlers.onLog) await readLogs(client, runId, lastLogId, deliver);
        resolve(run);
      } catch (error) {
        reject(error);
      }
    };
    /** After a final-looking event, or when the state stream ends: decide from a fresh read. */
    const settle = async (): Promise<void> => {
      try {
        const run = await getRunStatus(client, runId);
        if (isFinalRun(run)) {
          report(run);
          await finish(run);
        } else if (!stopStates) {
          subscribeStates(); // the server ended the stream (e.g. at a retried failure): follow the next attempt
        }
      } catch (error) {
        fail(error);
      }
    };
    const report = (run: RunStatus): void => {
      const key = `${run.state}#${run.attempt}`;
      if (key === lastState) return;
      lastState = key;
      handlers.onState?.(run);
    };
    const subscribeStates = (): void => {
      stopStates = client.subscribe<RunStateSubscription>(
        RUN_STATE_SUBSCRIPTION,
        { id: runId } satisfies RunStateSubscriptionVariables,
        {
          onData: ({ flowRunStateChanged: { flowRun } }) => {
            if (finished) return;
            report(flowRun);
            if (FINAL_STATES.has(flowRun.state)) void settle();
          },
          onError: (error) => fail(error instanceof FluxoError && error.code === 'NOT_FOUND' ? runNotFound(runId) : error),
          onComplete: () => {
            stopStates = undefined;
            if (!finished) void settle();
          },
        },
      );
    };

    const subscribeLogs = (): void => {
      logsComplete = false;
      stopLogs = client.subscribe<RunLogLinesSubscription>(
        RUN_LOGS_SUBSCRIPTION,
        { id: runId, after: lastLogId ?? null } satisfies RunLogLinesSubscriptionVariables,
        {
          onData: ({ flowRunLogs }) => deliver(flowRunLogs),
          onError: (error) => fail(error),
          onComplete: () => {
            logsComplete = true;
            stopLogs = undefined;
            if (finished) {
              onLogsComplete?.();
              return;
            }
            // The server ends the log stream when an attempt ends; if another attempt follows, keep streaming.
            getRunStatus(client, runId).then((run) => {
              if (!finished && !isFinalRun(run)) subscribeLogs();
              else onLogsComplete?.();
            }, fail);
          },
        },
      );
    };

    if (handlers.onLog) subscribeLogs();
    subscribeStates();
  });
}
