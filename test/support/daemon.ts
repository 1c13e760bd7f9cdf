// Starts fluxo daemons as real child processes of the test (see cli/daemon-process.ts) and stops
// them after the test.
import { spawnDaemon, type DaemonProcess } from '../../cli/daemon-process.js';
import { onCleanup } from './harness.js';

export type Daemon = DaemonProcess & { output: string[] };

// If a test run dies before its cleanups (a timeout, a crash), its daemons must not outlive it.
const live = new Set<number>();
process.once('exit', () => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Runs `node dist/cli/main.js ...args` and resolves once it logs `{"msg":"ready"}`. */
export async function startDaemon(
  args: string[],
  { env = {}, timeoutMs = 20_000, executable }: { env?: Record<string, string>; timeoutMs?: number; executable?: string } = {},
): Promise<Daemon> {
  const output: string[] = [];
  const daemon = await spawnDaemon(args, { env: { FLUXO_LOG_LEVEL: 'info', ...env }, timeoutMs, onLine: (line) => output.push(line), ...(executable ? { executable } : {}) });
  live.add(daemon.pid);
  onCleanup(async () => {
    await daemon.stop(2_000);
    live.delete(daemon.pid);
  });
  return { ...daemon, output };
}
