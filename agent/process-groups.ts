// The process groups of a run's commands (runCommand, data/command.ts): each command leads a group
// of its own, so the agent's SIGKILL of the child's group (a flow timeout, a cancellation past its
// grace, a lost lease) does not reach them, and a SIGKILLed child cannot stop them itself. The child
// names each group over IPC (`process-group`); the agent kills those still open when it ends or
// kills the child.
//
// The child runs hostile code: a group it names is only recorded when its leader is a direct child
// of the run's child process (so a flow cannot make the agent kill the agent, or another run), and
// only killed if the leader found then is the same process (its start time), not a recycled pid.
// Linux only (/proc); elsewhere the messages are ignored and commands rely on the child's own cleanup.
import { readFileSync } from 'node:fs';

/** What /proc/<pid>/stat says of a process (the fields after the command name). */
interface ProcessStat {
  ppid: number;
  pgrp: number;
  /** Clock ticks after boot: with the pid, a process's identity. */
  startTime: string;
}

/** Reads /proc/<pid>/stat; null when the process is gone (or there is no /proc). */
export function processStat(pid: number): ProcessStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // `pid (comm) state ppid pgrp session … starttime …`: comm may hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [ppid, pgrp, startTime] = [Number(fields[1]), Number(fields[2]), fields[19]];
  if (!Number.isInteger(ppid) || !Number.isInteger(pgrp) || startTime === undefined) return null;
  return { ppid, pgrp, startTime };
}

/** One run's command groups, as its child reported them. */
export class RunProcessGroups {
  readonly #childPid: number | undefined;
  /** pgid → its leader's start time. */
  readonly #groups = new Map<number, string>();

  constructor(childPid: number | undefined) {
    this.#childPid = childPid;
  }

  /** The groups recorded and not ended. */
  get open(): number[] {
    return [...this.#groups.keys()];
  }

  /**
   * A `process-group` message. A started group is recorded only when its leader is alive, leads
   * that group, and is a direct child of the run's child process; anything else is ignored.
   */
  note(pgid: unknown, state: unknown): void {
    if (typeof pgid !== 'number' || !Number.isInteger(pgid) || pgid <= 1 || this.#childPid === undefined) return;
    if (state === 'ended') {
      this.#groups.delete(pgid);
      return;
    }
    if (state !== 'started' || this.#groups.size >= MAX_GROUPS) return;
    const leader = processStat(pgid);
    if (leader && leader.pgrp === pgid && leader.ppid === this.#childPid) this.#groups.set(pgid, leader.startTime);
  }

  /** SIGKILL to every open group whose leader is still the process recorded, or gone (its members may remain). */
  killAll(): void {
    for (const [pgid, startTime] of this.#groups) {
      const leader = processStat(pgid);
      // A live process with this pid that is another one (the pid was reused) is not ours to kill.
      if (leader && leader.startTime !== startTime) {
        this.#groups.delete(pgid);
        continue;
      }
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
        this.#groups.delete(pgid);
      }
    }
  }
}

/** Groups a run may have open at once (runCommand calls in flight); more are not recorded. */
const MAX_GROUPS = 1_000;
