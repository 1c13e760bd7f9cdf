// Who flow code runs as (agent/run-as.ts): an agent running as root never runs it as root, a
// non-root agent cannot pretend to switch users, and the directories a run needs are checked at
// start. These tests run as root (as CI does); the non-root agent is the CLI started as `nobody`.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveAgentConfig } from '../../agent/config.js';
import { DEFAULT_RUN_USER, RunUsers, lookupUser, prepareRunDirs, resolveRunAs, type RunIdentity } from '../../agent/run-as.js';
import { cliPath, tempDir, waitFor } from '../support/harness.js';

const NOBODY = 65534;
let runUser: RunIdentity;

beforeAll(() => {
  expect(process.geteuid?.(), 'these tests run as root, as CI does').toBe(0);
  runUser = resolveRunAs(undefined)!;
});

describe('resolving --run-as as root', () => {
  it(`defaults to the unprivileged user ${DEFAULT_RUN_USER}, creating it when missing`, () => {
    expect(runUser).toMatchObject({ user: DEFAULT_RUN_USER });
    expect(runUser.uid).toBeGreaterThan(0);
    expect(runUser.gid).toBeGreaterThan(0);
    expect(lookupUser(DEFAULT_RUN_USER)).toEqual({ ...runUser });
  });

  it.each(['self', 'root', '0', '0:0', `${DEFAULT_RUN_USER}:0`, `${DEFAULT_RUN_USER}:root`])('refuses %s: flows never run as root', (value) => {
    expect(() => resolveRunAs(value, 0)).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/^run-as: an agent running as root never runs flows as root/) }),
    );
  });

  it.each([
    { value: '10001:10002', identity: { user: '10001', uid: 10001, gid: 10002 } },
    { value: '10001', identity: { user: '10001', uid: 10001, gid: 10001 } },
    { value: 'nobody', identity: { user: 'nobody', uid: NOBODY } },
    { value: 'nobody:nogroup', identity: { user: 'nobody', uid: NOBODY, gid: NOBODY } },
    { value: '47000-47003:47100', identity: { user: '47000-47003', uid: 47000, gid: 47100, lastUid: 47003 } },
    { value: '47000-47003', identity: { user: '47000-47003', uid: 47000, gid: 47000, lastUid: 47003 } },
  ])('takes $value', ({ value, identity }) => {
    expect(resolveRunAs(value, 0)).toMatchObject(identity);
  });

  it.each([
    { value: 'a:b:c', message: 'run-as: "a:b:c" is not USER[:GROUP], UID[:GID], FIRST-LAST[:GID] or self' },
    { value: 'nobody:', message: 'run-as: "nobody:" is not USER[:GROUP], UID[:GID], FIRST-LAST[:GID] or self' },
    { value: '47003-47000', message: 'run-as: "47003-47000" is not a range of uids FIRST-LAST (1 <= FIRST <= LAST, at most 65536)' },
    { value: '0-3', message: 'run-as: "0-3" is not a range of uids FIRST-LAST (1 <= FIRST <= LAST, at most 65536)' },
    { value: '65530-65540', message: 'run-as: uid 65534 of the range 65530-65540 is a user of this host; choose uids no user has' },
    { value: 'no-such-user', message: 'run-as: no user "no-such-user" on this host; create it (useradd --system --no-create-home --shell /usr/sbin/nologin no-such-user) or give a numeric UID:GID' },
    { value: 'nobody:no-such-group', message: 'run-as: no group "no-such-group" on this host; create it (groupadd --system no-such-group) or give a numeric GID' },
    { value: 'x y', message: 'run-as: "x y" is not a user name' },
  ])('refuses $value with a message saying what to do', ({ value, message }) => {
    expect(() => resolveRunAs(value, 0)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message, details: { setting: 'runAs' } }));
  });
});

describe('a range of run uids', () => {
  it('must hold a uid for every run at once', () => {
    expect(() => resolveAgentConfig({ apiUrl: 'http://127.0.0.1:9/graphql', token: 'jwt', runAs: '47000-47001', concurrency: 4 })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: 'run-as: the range 47000-47001 has 2 uids for a concurrency of 4: each run needs its own' }),
    );
  });

  it('hands each run a uid no other run holds, and kills what is left under a uid before handing it out again', async () => {
    // A `sleep` under `uid`, once it runs as that uid (a forked child is root until it switches).
    const sleeper = async (uid: number) => {
      const child = execa('sleep', ['30'], { uid, gid: 47010, detached: true, reject: false, cleanup: true });
      await waitFor(() => new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(readFileSync(`/proc/${child.pid}/status`, 'utf8')), { what: `sleep as ${uid}` });
      return { child }; // wrapped: an awaited subprocess would wait for it to end
    };
    const isGone = (pid: number | undefined) => !existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const { child: leftover } = await sleeper(47011);
    const users = new RunUsers(resolveRunAs('47010-47011', 0)!);
    // Left by a previous agent process: killed at start.
    expect((await leftover).signal).toBe('SIGKILL');

    const [first, second] = [users.acquire(), users.acquire()];
    expect([first.uid, second.uid].sort()).toEqual([47010, 47011]);
    expect(() => users.acquire()).toThrow(/every uid of the run-as range 47010-47011 is in use/);
    const { child: straggler } = await sleeper(first.uid);
    const { child: neighbour } = await sleeper(second.uid);
    users.release(first);
    expect((await straggler).signal).toBe('SIGKILL');
    expect(isGone(neighbour.pid)).toBe(false);
    expect(users.acquire()).toEqual(first);
    neighbour.kill('SIGKILL');
  });
});

describe('a non-root agent', () => {
  /** How the agent ended, for an assertion's message. */
  const describeExit = (result: { exitCode?: number | undefined; signal?: string | undefined; stderr: unknown; timedOut?: boolean }): string =>
    `exit ${String(result.exitCode)} signal ${String(result.signal)} timedOut ${String(result.timedOut)}; stderr: ${String(result.stderr).slice(0, 2000)}`;

  /** `fluxo agent start` as `nobody`, in a work dir of its own, against an API that never answers. */
  async function startAsNobody(args: string[]) {
    const dir = await tempDir();
    await chown(dir, NOBODY, NOBODY);
    return execa(process.execPath, [cliPath, 'agent', 'start', '--api', 'http://127.0.0.1:9/graphql', '--work-dir', join(dir, 'w'), ...args], {
      uid: NOBODY,
      gid: NOBODY,
      // Only these: the test command's own variables (FLUXO_DUCKDB_SPATIAL names a file under
      // root's home, which nobody cannot read) must not reach an agent started as nobody.
      env: { FLUXO_TOKEN: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln', HOME: dir, PATH: process.env.PATH ?? '/usr/bin:/bin' },
      extendEnv: false,
      reject: false,
      timeout: 4_000,
    });
  }

  it('refuses --run-as another user without the privileges to switch, naming them', async () => {
    const result = await startAsNobody(['--run-as', DEFAULT_RUN_USER]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(
      /\[BAD_USER_INPUT\] run-as: running flows as uid \d+ needs privileges this agent \(uid 65534\) lacks: CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_KILL, CAP_SETGID, CAP_SETUID\. Start the agent as root/,
    );
  });

  it('runs flows as itself by default, and warns that they can read its token', async () => {
    const result = await startAsNobody([]);
    // It keeps retrying the unreachable API until the timeout kills it: the warning came first.
    expect(result.stdout, describeExit(result)).toMatch(/"level":40.*"msg":"flows run as the agent's own user: their code can read the agent's token/);
  });

  it('runs flows as itself with --run-as self, without the warning', async () => {
    const result = await startAsNobody(['--run-as', 'self']);
    expect(result.stdout, describeExit(result)).toMatch(/"msg":"registering"/);
    expect(result.stdout).not.toMatch(/flows run as the agent's own user/);
  });
});

describe('the directories a run needs, checked at start', () => {
  const childFiles = { executable: process.execPath };

  it("closes the spool to the run user and makes the cache and the runs directory traverse-only, the agent's own", async () => {
    const work = await tempDir();
    prepareRunDirs({ runAs: runUser, spoolDir: join(work, 'spool'), cacheDir: join(work, 'bundles'), runsDir: join(work, 'runs'), childFiles });
    const modes = await Promise.all(['spool', 'bundles', 'runs'].map(async (name) => {
      const info = await stat(join(work, name));
      return [name, info.mode & 0o7777, info.uid];
    }));
    expect(modes).toEqual([['spool', 0o700, 0], ['bundles', 0o711, 0], ['runs', 0o711, 0]]);
  });

  it('refuses a directory another user owns (it could read or replace what the agent keeps there)', async () => {
    const work = await tempDir();
    await mkdir(join(work, 'spool'));
    await chown(join(work, 'spool'), runUser.uid, runUser.gid);
    expect(() => prepareRunDirs({ runAs: runUser, spoolDir: join(work, 'spool'), cacheDir: join(work, 'bundles'), runsDir: join(work, 'runs'), childFiles })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: `${join(work, 'spool')} belongs to uid ${runUser.uid}, not to the agent (uid 0): another user could read or replace what the agent keeps there; remove it or choose another --work-dir` }),
    );
  });

  it('refuses a work dir the run user cannot traverse, saying how to fix it', async () => {
    const work = await tempDir();
    const closed = join(work, 'closed');
    await mkdir(closed, { mode: 0o700 });
    expect(() => prepareRunDirs({ runAs: runUser, spoolDir: join(closed, 'w', 'spool'), cacheDir: join(closed, 'w', 'bundles'), runsDir: join(closed, 'w', 'runs'), childFiles })).toThrow(
      expect.objectContaining({
        code: 'BAD_USER_INPUT',
        message: expect.stringMatching(new RegExp(`^the run user ${DEFAULT_RUN_USER} \\(uid ${runUser.uid}, gid ${runUser.gid}\\) cannot reach ${join(closed, 'w', 'bundles')}: ${closed} is mode 0700 owned by uid 0\\. Choose a --work-dir every user can traverse`)),
      }),
    );
  });

  it('closes a work dir the run user could write (an emptyDir is 0777), and refuses a writable directory above it', async () => {
    const work = await tempDir();
    const open = join(work, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    const warnings: string[] = [];
    prepareRunDirs({ runAs: runUser, spoolDir: join(open, 'spool'), cacheDir: join(open, 'bundles'), runsDir: join(open, 'runs'), childFiles, onWarning: (message) => warnings.push(message) });
    expect((await stat(open)).mode & 0o7777).toBe(0o755);
    expect(warnings).toEqual([`${open} was writable by the run user ${DEFAULT_RUN_USER} (uid ${runUser.uid}, gid ${runUser.gid}), who could have replaced the agent's directories in it: made it mode 0755`]);

    await chmod(open, 0o777);
    const below = join(open, 'agent');
    expect(() => prepareRunDirs({ runAs: runUser, spoolDir: join(below, 'spool'), cacheDir: join(below, 'bundles'), runsDir: join(below, 'runs'), childFiles })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining(`could replace ${join(below, 'spool')}: ${open} is writable by it (mode 0777, uid 0, no sticky bit)`) }),
    );
  });

  it('refuses a child runtime the run user cannot read', async () => {
    const work = await tempDir();
    const script = join(work, 'child.js');
    await writeFile(script, '');
    await chmod(script, 0o600);
    expect(() => prepareRunDirs({ runAs: runUser, spoolDir: join(work, 'spool'), cacheDir: join(work, 'bundles'), runsDir: join(work, 'runs'), childFiles: { executable: process.execPath, script } })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: `the run user ${DEFAULT_RUN_USER} (uid ${runUser.uid}, gid ${runUser.gid}) cannot read the child runtime ${script} (mode 0600, uid 0); make it readable by others` }),
    );
  });
});

describe('the token file', () => {
  it('refuses one the run user owns', async () => {
    const file = join(await tempDir(), 'agent.token');
    await writeFile(file, 'jwt\n', { mode: 0o600 });
    await chown(file, runUser.uid, runUser.gid);
    expect(() => resolveAgentConfig({ apiUrl: 'http://127.0.0.1:9/graphql', tokenFile: file })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: `token file ${file} belongs to the run user ${DEFAULT_RUN_USER}, who could read it; chown it to the agent's user` }),
    );
  });

  it('reads the first line of a 0600 file, over a token given otherwise', async () => {
    const file = join(await tempDir(), 'agent.token');
    await writeFile(file, '  the-token \nignored\n', { mode: 0o600 });
    expect(resolveAgentConfig({ apiUrl: 'http://127.0.0.1:9/graphql', token: 'other', tokenFile: file }).token).toBe('the-token');
  });

  it('refuses an empty one as no token at all', async () => {
    const file = join(await tempDir(), 'agent.token');
    await writeFile(file, '\n', { mode: 0o600 });
    expect(() => resolveAgentConfig({ apiUrl: 'http://127.0.0.1:9/graphql', tokenFile: file })).toThrow(expect.objectContaining({ code: 'TOKEN_MISSING' }));
  });
});
