// getLogger(): log lines that reach the server with the current task's key. Looked up at call
// time, so a logger made at module top level attributes lines to whichever task calls it.
import { format } from 'node:util';
import { now, runContext } from './context.js';
import type { LogLevel } from './runtime/protocol.js';

type LogMethod = (message: unknown, ...args: unknown[]) => void;

/** Flow logger; arguments are formatted like console.log (`%s`, `%d`, `%j`, objects inspected). */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warning: LogMethod;
  error: LogMethod;
}

const consoleMethods = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error' } as const;

function method(level: LogLevel): LogMethod {
  return (message, ...args) => {
    const text = format(message, ...args);
    const context = runContext.getStore();
    if (!context) {
      console[consoleMethods[level]](text);
      return;
    }
    context.host.log({ level, stream: 'logger', message: text, taskRunKey: context.taskKey, timestamp: now() });
  };
}

const logger: Logger = Object.freeze({
  debug: method('DEBUG'),
  info: method('INFO'),
  warning: method('WARNING'),
  error: method('ERROR'),
});

/**
 * The flow logger. Inside a flow run its lines go to the run's log (with the task key, or none at
 * flow level); elsewhere they go to the console.
 *
 * @example
 * const log = getLogger();
 * log.info('read %d rows from %s', rows.length, url);
 */
export function getLogger(): Logger {
  return logger;
}
