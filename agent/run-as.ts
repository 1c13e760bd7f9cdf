// The OS user flow code runs as. A flow's process must not reach the agent's credentials, and the
// kernel only keeps processes apart by user: a child under the agent's own uid can read the
// agent's /proc/<pid>/environ and memory, so an agent that can switch users runs every child as a
// separate, unprivileged one. An agent running as root never runs flow code as root: without
// `--run-as` it uses the user `fluxo-run`, creating it (a system user, no home, no shell) when
// missing. A non-root agent runs flows as itself unless it holds CAP_SETUID and CAP_SETGID.
//
// Node's spawn takes `uid`/`gid`; libuv then drops the supplementary groups (setgroups(0)) before
// setgid/setuid, and changes into the working directory before dropping privileges.
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FluxoError } from '../common/errors.js';

/** The user a root agent runs flows as when `--run-as` is not given. */
export const DEFAULT_RUN_USER = 'fluxo-run';

/** Who a flow's process runs as. */
export interface RunIdentity {
  /** The name given (a user name, the numeric uid, or the range `FIRST-LAST`). */
  readonly user: string;
  /** The uid, or the first of the range. */
  readonly uid: number;
  readonly gid: number;
  /**
   * With a range (`--run-as 20000-20031:20000`), the last uid: each run gets a uid of its own, and
   * every process left under it is killed before it is handed out again. @default undefined: one uid for all runs
   */
  readonly lastUid?: number;
}

/**
 * Capabilities a non-root agent needs to run children as another user and still manage them:
 * switch user and group, signal their process group, hand them their run directory, and remove it
 * afterwards. Bit numbers from linux/capability.h.
 */
const NEEDED_CAPABILITIES = { CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7 } as const;

const NAME = /^[a-z_][a-z0-9_-]{0,31}\$?$/i;
const NUMBER = /^\d{1,10}$/;

/**
 * Resolves `--run-as` (`USER[:GROUP]`, `UID[:GID]`, `FIRST-LAST[:GID]` or `self`) for an agent running as `euid`.
 * Returns null when flows run as the agent's own user. Throws BAD_USER_INPUT (setting `runAs`) for
 * root as the run user, an unknown user or group, or a switch the agent has no privilege for.
 * Creates {@link DEFAULT_RUN_USER} when a root agent needs it and it does not exist.
 *
 * @example resolveRunAs(undefined, 0) // { user: 'fluxo-run', uid: 999, gid: 999 }
 * @example resolveRunAs('10001:10001', 0) // { user: '10001', uid: 10001, gid: 10001 }
 * @example resolveRunAs('20000-20063', 0) // { user: '20000-20063', uid: 20000, gid: 20000, lastUid: 20063 }
 */
export function resolveRunAs(value: string | undefined, euid = process.geteuid?.() ?? -1): RunIdentity | null {
  const given = value?.trim() || undefined;
  if (euid < 0) {
    // Not POSIX (Windows): no users to switch between.
    if (given && given !== 'self') throw bad('run-as: this platform cannot run flows as another user');
    return null;
  }
  if (given === 'self') {
    if (euid === 0) throw rootRefused();
    return null;
  }
  if (!given) {
    // A non-root agent without privileges: flows run as the agent (see the warning at start).
    if (euid !== 0) return null;
    return lookupUser(DEFAULT_RUN_USER) ?? createRunUser(DEFAULT_RUN_USER);
  }
  const [userPart = '', groupPart, extra] = given.split(':');
  if (extra !== undefined || !userPart || groupPart === '') throw bad(`run-as: "${given}" is not USER[:GROUP], UID[:GID], FIRST-LAST[:GID] or self`);
  let identity: RunIdentity;
  const range = /^(\d{1,10})-(\d{1,10})$/.exec(userPart);
  if (range) {
    const [first, last] = [Number(range[1]), Number(range[2])];
    if (first === 0 || last < first || last - first >= 65_536) throw bad(`run-as: "${userPart}" is not a range of uids FIRST-LAST (1 <= FIRST <= LAST, at most 65536)`);
    // The uids of a range are the runs' own: none may be a user of the host (its files, its processes).
    const taken = knownUids().find((uid) => uid >= first && uid <= last);
    if (taken !== undefined) throw bad(`run-as: uid ${taken} of the range ${userPart} is a user of this host; choose uids no user has`);
    identity = { user: userPart, uid: first, gid: first, lastUid: last };
  } else if (NUMBER.test(userPart)) {
    const uid = Number(userPart);
    // A bare uid: its passwd entry's group if it has one, else the same number (a container's uid often has no entry).
    identity = { user: userPart, uid, gid: lookupUser(userPart)?.gid ?? uid };
  } else {
    if (!NAME.test(userPart)) throw bad(`run-as: "${userPart}" is not a user name`);
    const found = lookupUser(userPart);
    if (!found) {
      throw bad(`run-as: no user "${userPart}" on this host; create it (useradd --system --no-create-home --shell /usr/sbin/nologin ${userPart}) or give a numeric UID:GID`);
    }
    identity = found;
  }
  if (groupPart !== undefined) identity = { ...identity, gid: NUMBER.test(groupPart) ? Number(groupPart) : lookupGroup(groupPart) };
  if (identity.uid === 0 || identity.gid === 0) {
    if (euid === 0) throw rootRefused();
    throw bad('run-as: flows never run as root or group root');
  }
  if (identity.uid === euid && identity.lastUid === undefined && euid !== 0) return null;
  if (euid !== 0) {
    const missing = missingCapabilities();
    if (missing.length > 0) {
      throw bad(
        `run-as: running flows as uid ${identity.uid} needs privileges this agent (uid ${euid}) lacks: ${missing.join(', ')}. ` +
          'Start the agent as root (it then runs flows as the run-as user, never as root), grant it these capabilities, or run flows as itself with --run-as self',
      );
    }
  }
  return Object.freeze(identity);
}

/** The passwd entry of `name` (a user name or a uid), through NSS (`getent`), or null when there is none. */
export function lookupUser(name: string): RunIdentity | null {
  const entry = getent('passwd', name);
  if (!entry) return null;
  const [, , uid, gid] = entry.split(':');
  if (!uid || !gid || !NUMBER.test(uid) || !NUMBER.test(gid)) return null;
  return { user: name, uid: Number(uid), gid: Number(gid) };
}

/** The uids of every user the host lists (`getent passwd`, else /etc/passwd). */
function knownUids(): number[] {
  let text: string;
  try {
    text = execFileSync('getent', ['passwd'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    text = (() => {
      try {
        return readFileSync('/etc/passwd', 'utf8');
      } catch {
        return '';
      }
    })();
  }
  return text.split('\n').map((line) => Number(line.split(':')[2])).filter((uid) => Number.isInteger(uid));
}

function lookupGroup(name: string): number {
  if (!NAME.test(name)) throw bad(`run-as: "${name}" is not a group name`);
  const gid = getent('group', name)?.split(':')[2];
  if (!gid || !NUMBER.test(gid)) throw bad(`run-as: no group "${name}" on this host; create it (groupadd --system ${name}) or give a numeric GID`);
  return Number(gid);
}

function getent(database: 'passwd' | 'group', key: string): string | null {
  try {
    return execFileSync('getent', [database, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]?.trim() || null;
  } catch (error) {
    // Exit 2: no such entry. No getent at all (a minimal image): read the files themselves.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return null;
    try {
      const lines = readFileSync(`/etc/${database}`, 'utf8').split('\n');
      return lines.find((line) => line.split(':')[0] === key || (NUMBER.test(key) && line.split(':')[2] === key)) ?? null;
    } catch {
      return null;
    }
  }
}

/** Adds the system user flows run as: no home directory, no login shell, its own group. */
function createRunUser(name: string): RunIdentity {
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    // Another agent may have created it meanwhile.
    const created = lookupUser(name);
    if (created) return created;
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw bad(
      `run-as: an agent running as root runs flows as the unprivileged user "${name}", which does not exist and could not be created (${stderr || (error as Error).message}); ` +
        `create it (useradd --system --user-group --no-create-home --shell /usr/sbin/nologin ${name}), or give --run-as UID:GID (a numeric uid needs no entry)`,
      error,
    );
  }
  const created = lookupUser(name);
  if (!created) throw bad(`run-as: useradd created "${name}" but it cannot be looked up`);
  return created;
}

/** Capabilities of {@link NEEDED_CAPABILITIES} missing from this process's effective set. */
function missingCapabilities(): string[] {
  let effective = 0n;
  try {
    const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (hex) effective = BigInt(`0x${hex}`);
  } catch {
    // No procfs: assume none.
  }
  return Object.entries(NEEDED_CAPABILITIES)
    .filter(([, bit]) => (effective & (1n << BigInt(bit))) === 0n)
    .map(([name]) => name);
}

export interface PrepareRunDirsOptions {
  runAs: RunIdentity | null;
  spoolDir: string;
  cacheDir: string;
  runsDir: string;
  /** The files the child runtime is started from: the Node executable (or the agent binary) and its script. */
  childFiles: { executable: string; script?: string | undefined };
  /** Told about a directory that could not be prepared now (the run will say why when it needs it). */
  onWarning?: (message: string, error?: Error) => void;
}

/**
 * Makes the agent's directories safe from the run user before anything runs: the spool 0700 (runs'
 * logs waiting for the server), the bundle cache and the runs directory 0711 and the agent's own
 * (the run user may open a file it is told about, never list or write), each owned by the agent
 * and not a symlink. Then checks the run user can reach what a run needs: the child runtime, the
 * cache (to read its bundle) and the runs directory. Throws BAD_USER_INPUT naming the path and
 * the fix.
 */
export function prepareRunDirs(options: PrepareRunDirsOptions): void {
  const euid = process.geteuid?.() ?? -1;
  ownedDirectory(options.spoolDir, 0o700, euid);
  if (!options.runAs) return;
  ownedDirectory(options.cacheDir, 0o711, euid);
  const dirs = [options.spoolDir, options.cacheDir, options.runsDir];
  if (lstatOrNull(options.runsDir)?.isFile()) {
    // Not ours to remove: each run will fail (CRASHED, agent-error) saying why.
    options.onWarning?.(`cannot prepare the runs directory ${options.runsDir}: a file is in the way`);
    dirs.pop();
  } else {
    ownedDirectory(options.runsDir, 0o711, euid);
  }
  const who = options.runAs;
  const label = `the run user ${who.user} (uid ${who.uid}, gid ${who.gid})`;
  for (const dir of dirs) assertNotReplaceable(dir, who, label, euid, options.onWarning);
  for (const dir of dirs.slice(1)) assertReachable(dir, who, 'x', label);
  assertReachable(options.childFiles.executable, who, 'x', label, 'the child runtime');
  if (options.childFiles.script) assertReachable(options.childFiles.script, who, 'r', label, 'the child runtime');
}

function ownedDirectory(dir: string, mode: number, euid: number): void {
  // Parents with the usual mode (the work dir must stay traversable); the directory itself with `mode`.
  mkdirSync(dirname(dir), { recursive: true });
  try {
    mkdirSync(dir, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const info = lstatSync(dir);
  if (!info.isDirectory()) throw bad(`${dir} is not a directory (a symlink is refused: the agent's directories must be its own)`);
  if (euid >= 0 && info.uid !== euid) throw bad(`${dir} belongs to uid ${info.uid}, not to the agent (uid ${euid}): another user could read or replace what the agent keeps there; remove it or choose another --work-dir`);
  if ((info.mode & 0o7777) !== mode) chmodSync(dir, mode);
}

/**
 * A directory the run user could rename away and replace with its own (its parent, or any
 * directory above, writable by the run user without the sticky bit: a Kubernetes emptyDir is
 * 0777) would give it the agent's spool or cache. The work dir itself, when the agent owns it, is
 * closed (go-w); anything else is refused.
 */
function assertNotReplaceable(dir: string, who: RunIdentity, label: string, euid: number, onWarning?: (message: string) => void): void {
  const parent = dirname(resolve(dir));
  for (let above = parent; ; above = dirname(above)) {
    const info = statOrNull(above);
    if (info && allows(info, who, 'w') && (info.mode & 0o1000) === 0) {
      if (above === parent && info.uid === euid) {
        chmodSync(above, info.mode & 0o7755);
        onWarning?.(`${above} was writable by ${label}, who could have replaced the agent's directories in it: made it mode ${octal(info.mode & 0o7755)}`);
      } else {
        throw bad(`${label} could replace ${dir}: ${above} is writable by it (mode ${octal(info.mode)}, uid ${info.uid}, no sticky bit); choose a --work-dir under directories only the agent can write`);
      }
    }
    if (dirname(above) === above) break;
  }
}

/**
 * Throws unless `who` can reach `path`: search (x) on every directory above it, and `access` on
 * the path itself. Judged from the mode bits (owner, then group against `who.gid` only: the child
 * has no supplementary groups, then others); ACLs are not consulted.
 */
export function assertReachable(path: string, who: RunIdentity, access: 'r' | 'x', label: string, what?: string): void {
  const target = resolve(path);
  const chain: string[] = [];
  for (let dir = dirname(target); ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of chain) {
    const info = statOrNull(dir);
    if (!info) return; // created later by the agent, under a directory that was reachable so far
    if (!allows(info, who, 'x')) {
      throw bad(
        `${label} cannot reach ${what ? `${what} ${target}` : target}: ${dir} is mode ${octal(info.mode)} owned by uid ${info.uid}. ` +
          `Choose a --work-dir every user can traverse (e.g. under /var/lib), or allow traversal (chmod o+x ${dir}) — it lets others open files there they know the name of, not list them`,
      );
    }
  }
  const info = statOrNull(target);
  if (info && !allows(info, who, access)) {
    throw bad(`${label} cannot ${access === 'r' ? 'read' : 'open'} ${what ? `${what} ${target}` : target} (mode ${octal(info.mode)}, uid ${info.uid}); make it ${access === 'r' ? 'readable' : 'executable'} by others`);
  }
}

function allows(info: Stats, who: RunIdentity, access: 'r' | 'w' | 'x'): boolean {
  const bit = access === 'r' ? 4 : access === 'w' ? 2 : 1;
  if (info.uid === who.uid) return ((info.mode >> 6) & bit) !== 0;
  if (info.gid === who.gid) return ((info.mode >> 3) & bit) !== 0;
  return (info.mode & bit) !== 0;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}

function rootRefused(): FluxoError {
  return bad(
    `run-as: an agent running as root never runs flows as root (they could read its token and every file of the host); ` +
      `omit --run-as to use the unprivileged user "${DEFAULT_RUN_USER}", or name another (--run-as USER[:GROUP] or UID:GID)`,
  );
}

function bad(message: string, cause?: unknown): FluxoError {
  return new FluxoError('BAD_USER_INPUT', message, { cause, details: { setting: 'runAs' } });
}

/** The uid and gid one run's process runs as. */
export interface RunUser {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Hands each run its uid. With a range (`--run-as FIRST-LAST[:GID]`) every run gets a uid no other
 * run holds, so runs cannot see each other's processes (their environment: secrets) or open each
 * other's directories; when a run ends, whatever still runs under its uid (a process that left
 * the run's process group) is killed before the uid is handed out again. With one uid, every run
 * shares it and nothing is killed (another agent of the host may use the same user).
 */
export class RunUsers {
  readonly #identity: RunIdentity;
  readonly #free: number[] = [];

  constructor(identity: RunIdentity) {
    this.#identity = identity;
    if (identity.lastUid === undefined) return;
    for (let uid = identity.uid; uid <= identity.lastUid; uid++) this.#free.push(uid);
    // A previous process of this agent may have left processes under the range.
    killProcessesOf(new Set(this.#free));
  }

  /** The uid for one run; with a range, one no running run holds. Throws when all are taken (more runs than uids). */
  acquire(): RunUser {
    if (this.#identity.lastUid === undefined) return { uid: this.#identity.uid, gid: this.#identity.gid };
    const uid = this.#free.shift();
    if (uid === undefined) throw new FluxoError('INTERNAL_SERVER_ERROR', `every uid of the run-as range ${this.#identity.user} is in use`);
    return { uid, gid: this.#identity.gid };
  }

  /** Takes the uid back once the run's process group is gone, after killing what is left under it. */
  release(user: RunUser): void {
    if (this.#identity.lastUid === undefined) return;
    killProcessesOf(new Set([user.uid]));
    this.#free.push(user.uid);
  }
}

/**
 * SIGKILL to every process whose real or effective uid is in `uids`, scanning /proc until a scan
 * finds none (a process forking while it is killed shows up in the next scan).
 */
function killProcessesOf(uids: ReadonlySet<number>): void {
  for (let scan = 0; scan < 50; scan++) {
    let found = 0;
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      let status: string;
      try {
        status = readFileSync(`/proc/${entry}/status`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      if (/^State:\s+[ZX]/m.test(status)) continue; // dead already, waiting to be reaped
      const [real, effective] = (/^Uid:\s+(\d+)\s+(\d+)/m.exec(status) ?? []).slice(1).map(Number);
      if ((real !== undefined && uids.has(real)) || (effective !== undefined && uids.has(effective))) {
        found++;
        try {
          process.kill(Number(entry), 'SIGKILL');
        } catch {
          // ESRCH: it ended by itself
        }
      }
    }
    if (found === 0) return;
  }
}
