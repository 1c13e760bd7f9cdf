// Starts fluxo daemons as real child processes of the test (see cli/daemon-process.ts) and stops
// them after the test.
import { spawnDaemon, type DaemonProcess } from '../../cli/daemon-process.js';
import { onCleanup } from './harness.js';
import { killOnExit } from './tool-process.js';

export type Daemon = DaemonProcess & { output: string[] };

/** Runs `node dist/cli/main.js ...args` and resolves once it logs `{"msg":"ready"}`. */
export async function startDaemon(
  args: string[],
  { env = {}, timeoutMs = 20_000, executable }: { env?: Record<string, string>; timeoutMs?: number; executable?: string } = {},
): Promise<Daemon> {
  const output: string[] = [];
  const daemon = await spawnDaemon(args, { env: { FLUXO_LOG_LEVEL: 'info', ...env }, timeoutMs, onLine: (line) => output.push(line), ...(executable ? { executable } : {}) });
  const forget = killOnExit(daemon.pid);
  onCleanup(async () => {
    await daemon.stop(2_000);
    forget();
  });
  return { ...daemon, output };
}
