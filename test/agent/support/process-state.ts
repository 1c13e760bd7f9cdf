// Whether a process still runs anything. A killed process stays a zombie until its parent (here
// often PID 1 of the container, which reaps lazily) collects it; a zombie runs nothing, so it
// counts as gone. `kill(pid, 0)` cannot tell the two apart; /proc can.
import { readFileSync } from 'node:fs';
import { isAlive } from '../../support/harness.js';

/** True while `pid` exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return process.platform === 'linux' ? false : isAlive(pid);
  }
  // Format: "pid (comm) state ..."; comm may hold spaces or parentheses, the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}
