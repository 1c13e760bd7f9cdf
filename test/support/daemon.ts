// Starts fluxo daemons (`fluxo server start`, `fluxo proxy start`, `fluxo agent start`) as real
// child processes of the test, waits for their `ready` log line, and stops them afterwards.
import { execa, type ResultPromise } from 'execa';
import { cliPath, isAlive, onCleanup } from './harness.js';

export interface Daemon {
  process: ResultPromise;
  pid: number;
  /** The `ready` log line, parsed. */
  ready: Record<string, unknown>;
  /** Every stdout/stderr line so far. */
  output: string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Runs `node dist/cli/main.js ...args` and resolves once it logs `{"msg":"ready"}`. */
export async function startDaemon(
  args: string[],
  { env = {}, timeoutMs = 20_000 }: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Daemon> {
  const child = execa(process.execPath, [cliPath, ...args], {
    env: { FLUXO_LOG_LEVEL: 'info', ...env },
    reject: false,
    buffer: false,
    stdin: 'ignore',
  });
  const output: string[] = [];
  const stop = async (graceMs = 5_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || !child.pid || !isAlive(child.pid)) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await child.catch(() => undefined);
    clearTimeout(timer);
  };
  onCleanup(() => stop(2_000));

  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fluxo ${args.join(' ')} not ready after ${timeoutMs} ms:\n${output.join('\n')}`)), timeoutMs);
    const onLine = (line: string): void => {
      output.push(line);
      if (!line.startsWith('{')) return;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.msg === 'ready') {
          clearTimeout(timer);
          resolve(parsed);
        }
      } catch {
        // not a log line
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream?.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        lines.forEach(onLine);
      });
    }
    void child.then((result) => {
      clearTimeout(timer);
      reject(new Error(`fluxo ${args.join(' ')} exited (${result.exitCode ?? result.signal}) before ready:\n${output.join('\n')}`));
    });
  });
  return { process: child, pid: child.pid!, ready, output, stop };
}
