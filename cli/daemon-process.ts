// Runs a fluxo daemon (`fluxo server start`, `proxy start`, `agent start`) as a child process and
// resolves once it logs `{"msg":"ready"}`. Used by `fluxo dev` and by the end-to-end tests.
import { execa, type ResultPromise } from 'execa';
import { fileURLToPath } from 'node:url';

/**
 * The compiled CLI entry point: next to this module once built, or in dist/ when this module runs
 * from source (the tests run TypeScript directly but always start the built CLI).
 */
export const cliEntry = import.meta.url.endsWith('.ts')
  ? fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
  : fileURLToPath(new URL('./main.js', import.meta.url));

export interface DaemonProcess {
  child: ResultPromise;
  pid: number;
  /** The parsed `ready` log line. */
  ready: Record<string, unknown>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnDaemonOptions {
  env?: Record<string, string>;
  /** Run this executable with `args` instead of `node dist/cli/main.js args` (the fluxo-agent binary). */
  executable?: string;
  /** @default 30000 */
  timeoutMs?: number;
  /** Every output line (stdout and stderr), e.g. to prefix and print it. */
  onLine?: (line: string) => void;
}

export async function spawnDaemon(args: string[], options: SpawnDaemonOptions = {}): Promise<DaemonProcess> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const [file, argv] = options.executable ? [options.executable, args] : [process.execPath, [cliEntry, ...args]];
  const child = execa(file, argv, {
    env: options.env ?? {},
    reject: false,
    buffer: false,
    stdin: 'ignore',
  });
  const output: string[] = [];
  const stop = async (graceMs = 5_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await child.catch(() => undefined);
    clearTimeout(timer);
  };
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      void stop(1_000);
      reject(new Error(`fluxo ${args.join(' ')} was not ready after ${timeoutMs} ms:\n${output.slice(-30).join('\n')}`));
    }, timeoutMs);
    const onLine = (line: string): void => {
      if (output.length > 200) output.shift();
      output.push(line);
      options.onLine?.(line);
      if (settled || !line.startsWith('{')) return;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.msg === 'ready') {
          settled = true;
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
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`fluxo ${args.join(' ')} exited (${result.exitCode ?? result.signal}) before it was ready:\n${output.slice(-30).join('\n')}`));
    });
  });
  return { child, pid: child.pid!, ready, stop };
}
