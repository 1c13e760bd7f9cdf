// The host `fluxo run` gives a flow: no server, task states and logs go to the terminal, as text
// for people or as JSON lines (`--json`) for scripts.
import type { DataHost, LogEvent, RuntimeHost, TaskStateEvent } from './protocol.js';

export interface LocalHostOptions {
  /** Print one JSON object per line instead of text. @default false */
  json?: boolean;
  /** Where lines go. @default process.stdout */
  write?: (line: string) => void;
  /** The data path for fluxo/data (`fluxo run` builds it from --lake / --warehouse / --dbt-project). @default none */
  data?: DataHost;
}

/** A local host plus what it saw, for the command's summary. */
export interface LocalHost extends RuntimeHost {
  readonly taskStates: readonly TaskStateEvent[];
}

/**
 * A RuntimeHost that prints.
 *
 * @example
 * await handle.run({ year: 2010 }, createLocalHost());
 * // 09:05:52.123 extract#1 RUNNING (attempt 1)
 */
export function createLocalHost(options: LocalHostOptions = {}): LocalHost {
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const taskStates: TaskStateEvent[] = [];
  return {
    taskStates,
    ...(options.data ? { data: options.data } : {}),
    taskState(event: TaskStateEvent): void {
      taskStates.push(event);
      if (options.json) return write(JSON.stringify({ type: 'task-state', ...event }));
      const message = event.message ? `: ${event.message}` : '';
      write(`${clock(event.timestamp)} ${event.key} ${event.state} (attempt ${event.attempt})${message}`);
    },
    log(event: LogEvent): void {
      if (options.json) return write(JSON.stringify({ type: 'log', ...event }));
      write(`${clock(event.timestamp)} ${event.level.padEnd(7)} ${event.taskRunKey ?? '-'} ${event.message}`);
    },
  };
}

/** `HH:MM:SS.mmm` of an ISO timestamp, local time. */
function clock(timestamp: string): string {
  const date = new Date(timestamp);
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
