// Structured JSON logs (pino) for the daemons. Each daemon logs `{"msg":"ready", ...}` once it
// accepts work; tests and `fluxo dev` wait for that line.
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * A logger for one component, at FLUXO_LOG_LEVEL (default `info`).
 *
 * @example createLogger('server').info({ url }, 'ready')
 */
export function createLogger(component: string, level = process.env.FLUXO_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { component, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
