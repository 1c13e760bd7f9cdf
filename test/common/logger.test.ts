// The daemons' logger writes pino's lines (tests, `fluxo dev` and log shippers read them): the
// same calls through pino and through common/logger.ts give the same JSON, time aside.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../common/logger.js';
import { FluxoError } from '../../common/errors.js';

function both(level: string): { ours: Logger; theirs: Logger; lines: () => { ours: unknown[]; theirs: unknown[] } } {
  const ours: string[] = [];
  const theirs: string[] = [];
  const base = { component: 'agent', pid: process.pid };
  return {
    ours: createLogger('agent', level, (line) => ours.push(line)),
    theirs: pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, { write: (line: string) => theirs.push(line) }),
    lines: () => {
      const parse = (raw: string[]) =>
        raw.map((line) => {
          expect(line.endsWith('\n')).toBe(true);
          const { time, ...rest } = JSON.parse(line) as { time: string };
          expect(new Date(time).toISOString()).toBe(time);
          return rest;
        });
      return { ours: parse(ours), theirs: parse(theirs) };
    },
  };
}

describe('the JSON-lines logger', () => {
  it('writes what pino writes for the calls the daemons make', () => {
    const { ours, theirs, lines } = both('info');
    const error = new FluxoError('SERVICE_UNAVAILABLE', 'server unreachable', { details: { retry: true } });
    for (const logger of [ours, theirs]) {
      logger.info({ url: 'http://127.0.0.1:4000', labels: ['a', 'b'] }, 'ready');
      logger.warn('no storage roots');
      logger.error({ err: error, flowRunId: 'r-1' }, 'could not report');
      logger.error(new Error('boom'));
      logger.info({ skipped: undefined, kept: null, n: 3 }, 'fields');
      logger.info('formatted %s and %d', 'text', 42);
      logger.debug({ hidden: true }, 'below the level');
      logger.child({ requestId: 'q-1' }).warn({ code: 'X' }, 'from a child');
    }
    const { ours: mine, theirs: pinos } = lines();
    expect(mine).toHaveLength(7);
    expect(mine).toEqual(pinos);
    expect(mine[0]).toEqual({ level: 30, component: 'agent', pid: process.pid, url: 'http://127.0.0.1:4000', labels: ['a', 'b'], msg: 'ready' });
  });

  it('logs nothing at silent, everything at trace, and refuses an unknown level by name', () => {
    const silent: string[] = [];
    createLogger('x', 'silent', (line) => silent.push(line)).fatal('gone');
    expect(silent).toEqual([]);
    const all: string[] = [];
    const logger = createLogger('x', 'trace', (line) => all.push(line));
    logger.trace('t');
    expect(logger.isLevelEnabled('trace')).toBe(true);
    expect(JSON.parse(all[0]!)).toMatchObject({ level: 10, msg: 't' });
    expect(() => createLogger('x', 'verbose')).toThrow(/unknown log level "verbose": use one of trace, debug, info, warn, error, fatal, silent/);
  });
});
