// Warm children: while runs are arriving, the agent keeps ONE child runtime started ahead of demand
// (Node up, runtime loaded, `ready` said, waiting for its `start`), so the next run skips Node's
// start-up. Each is used by one run only and never shared. After `idleMs` without a run the agent
// ends it: an idle agent has no child processes.
//
// What a warm child gets before its run is known is what every run of this agent gets anyway: the
// allow-listed environment (never a secret), a private working directory made for it (the run that
// takes it gets that directory) and the agent's one run-as user. The run's id and declared secrets
// reach it in the start message, set in process.env before the bundle is imported. With a uid
// range (one uid per run) there is no warm child: holding a uid ahead of demand would take one from
// the runs, and a range as large as the concurrency would then refuse a run.
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { coerceError } from '../common/errors.js';
import type { AgentConfig } from './config.js';
import { launchChildRuntime, type PreparedChild } from './spawn-flow-run.js';

/** How long the agent keeps a warm child after the last run took one. @default 30 s */
export const DEFAULT_WARM_CHILD_IDLE_MS = 30_000;

export interface WarmChildrenOptions {
  /** The agent's settings: runs directory, run-as user, pass-env, memory limit, child entry, token. */
  config: Pick<AgentConfig, 'runsDir' | 'runAs' | 'passEnv' | 'token' | 'childMemoryMb' | 'childEntry'>;
  /** A warm child left unused this long after the last take is ended. @default {@link DEFAULT_WARM_CHILD_IDLE_MS} */
  idleMs?: number;
  /** The environment the allow-list picks from. @default process.env */
  sourceEnv?: NodeJS.ProcessEnv;
  /** Told when a warm child could not be prepared (the run then spawns its own, as without warming). */
  onWarning?: (message: string, error?: Error) => void;
}

/**
 * The agent's one child started ahead of demand.
 *
 * @example
 * const warm = new WarmChildren({ config });
 * const prepared = await warm.take(); // undefined the first time: the next run finds one
 * spawnFlowRun({ ...options, cwd: prepared.cwd, runAs: prepared.runAs, prepared });
 * await warm.close();
 */
export class WarmChildren {
  readonly #options: WarmChildrenOptions;
  readonly #idleMs: number;
  #current: Promise<PreparedChild | undefined> | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: WarmChildrenOptions) {
    this.#options = options;
    this.#idleMs = options.idleMs ?? DEFAULT_WARM_CHILD_IDLE_MS;
  }

  /** Whether this agent may warm children at all (not with a uid range; see the module comment). */
  static possible(config: Pick<AgentConfig, 'runAs'>): boolean {
    return config.runAs?.lastUid === undefined;
  }

  /**
   * The warm child, if one is up (its working directory and run-as user become the run's; the run
   * removes the one and releases nothing: the user is the agent's single run-as user). Either way a
   * new one is started for the next run and the idle clock restarts.
   */
  async take(): Promise<PreparedChild | undefined> {
    if (this.#closed) return undefined;
    const current = this.#current;
    this.#current = undefined;
    this.#refill();
    const prepared = await current;
    if (!prepared) return undefined;
    if (prepared.exited || this.#closed) {
      await this.#discard(prepared);
      return undefined;
    }
    return prepared;
  }

  /** Ends the warm child, if any, and starts no other (the agent is stopping). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    await this.#end();
  }

  #refill(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => void this.#end(), this.#idleMs);
    // A timer must not keep a stopping agent's process alive.
    this.#idleTimer.unref();
    this.#current = this.#prepare().catch((error: unknown) => {
      this.#options.onWarning?.('could not start a child runtime ahead of demand; runs spawn their own', coerceError(error));
      return undefined;
    });
  }

  async #end(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    const prepared = await current;
    if (prepared) await this.#discard(prepared);
  }

  async #prepare(): Promise<PreparedChild> {
    const { config } = this.#options;
    // 0711: the run user opens its own directory, never lists the others (agent/run-as.ts).
    await mkdir(config.runsDir, { recursive: true, mode: 0o711 });
    const cwd = await mkdtemp(join(config.runsDir, 'warm-'));
    const runAs = config.runAs ? { uid: config.runAs.uid, gid: config.runAs.gid } : null;
    try {
      // mkdtemp made it 0700: the run user's alone.
      if (runAs) await chown(cwd, runAs.uid, runAs.gid);
      const prepared = launchChildRuntime({
        cwd,
        runAs,
        passEnv: config.passEnv,
        secrets: [config.token],
        memoryLimitMb: config.childMemoryMb,
        ...(config.childEntry ? { childEntry: config.childEntry } : {}),
        ...(this.#options.sourceEnv ? { sourceEnv: this.#options.sourceEnv } : {}),
      });
      if (this.#closed) await this.#discard(prepared);
      return prepared;
    } catch (error) {
      await rm(cwd, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
  }

  /** SIGKILL to its group (it ran nothing: there is nothing to let finish), then its directory goes. */
  async #discard(prepared: PreparedChild): Promise<void> {
    if (prepared.pid !== undefined) {
      try {
        process.kill(-prepared.pid, 'SIGKILL');
      } catch {
        // ESRCH: gone already.
      }
    }
    await prepared.subprocess.ended;
    await rm(prepared.cwd, { recursive: true, force: true }).catch(() => undefined);
  }
}
