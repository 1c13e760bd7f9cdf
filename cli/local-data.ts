// fluxo/data for `fluxo run`: the data service runs in this process (as the agent runs it in its
// own), commands run here too, and every write is printed as it is recorded.
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { DataError, type DataSettings, type Materialization } from '../data/contract.js';
import { createDataService, dispatchDataRequest, type DataService } from '../data/service.js';
import type { DataHost, LogEvent } from '../sdk/runtime/protocol.js';

export interface LocalData {
  /** The host's data side. */
  host: DataHost;
  /** Writes recorded so far, with the task that made them. */
  materializations: (Materialization & { taskRunKey: string | null })[];
  /** Ends the run's data work: aborts what still runs, closes the warehouse. */
  close(): Promise<void>;
}

/**
 * A DataHost over an in-process data service, for one local run.
 *
 * @example
 * const data = createLocalData(readDataSettings({ env: process.env, flags: { lake, warehouse } }), { log, onRecord });
 * const host = createLocalHost({ data: data.host });
 */
export function createLocalData(
  settings: Readonly<DataSettings>,
  hooks: { log: (event: LogEvent) => void; onRecord?: (materialization: Materialization, taskRunKey: string | null) => void },
): LocalData {
  const service: DataService = createDataService(settings);
  const abort = new AbortController();
  // Every local run is a run of its own: its output key is its id (a later `fluxo run` adds to, or
  // in overwrite modes replaces, what this one landed).
  const flowRunId = `local-${randomUUID()}`;
  const materializations: LocalData['materializations'] = [];
  const host: DataHost = {
    async request(operation, args, taskKey) {
      // The same answer as under an agent, where the child reads the file (sdk/runtime/child.ts).
      const file = fileOf(args.source);
      if (file !== null && !isFile(file)) throw new DataError('DATA_NOT_FOUND', `the flow's file ${file} does not exist`);
      const data = service.forRun({
        flowRunId,
        attempt: 1,
        outputKey: flowRunId,
        taskKey,
        signal: abort.signal,
        log: (level, message) => hooks.log({ level, stream: 'logger', message, taskRunKey: taskKey, timestamp: new Date().toISOString() }),
        record: (materialization) => {
          materializations.push({ ...materialization, taskRunKey: taskKey });
          hooks.onRecord?.(materialization, taskKey);
        },
      });
      return dispatchDataRequest(data, operation, args);
    },
    async runCommand(command, args, options, taskKey, onLine) {
      const { runCommand } = await import('../data/command.js');
      return runCommand(command, args, options, {
        signal: abort.signal,
        onLine: (stream, line) => {
          hooks.log({ level: stream === 'stderr' ? 'ERROR' : 'INFO', stream, message: line, taskRunKey: taskKey, timestamp: new Date().toISOString() });
          onLine?.(stream, line);
        },
      });
    },
  };
  return {
    host,
    materializations,
    async close() {
      abort.abort();
      await service.close();
    },
  };
}

/** The path a `{ csv: { path } }` / `{ parquet: { path } }` source names, or null. */
function fileOf(source: unknown): string | null {
  const value = source as { csv?: { path?: unknown }; parquet?: { path?: unknown } } | null;
  const path = value?.csv?.path ?? value?.parquet?.path;
  return typeof path === 'string' ? path : null;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
