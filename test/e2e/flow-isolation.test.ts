// Flow code must not reach the agent's credentials by any path (issue 9, finding 3). A real agent
// (started as root, as here and in CI, so it runs flows as its unprivileged run user) runs
// test/fixtures/flows/credential-probe.ts, which walks every ancestor process reading
// /proc/<pid>/environ and /proc/<pid>/cmdline, reads the token file and the spool, and tries to
// write into the bundle cache. The report it writes must hold no byte of the token.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { GraphQLClient } from '../../client/graphql-client.js';
import { cliPath, onCleanup, repoRoot, tempDir, waitFor } from '../support/harness.js';
import { agentBinaryPath, startStack, type Stack } from '../support/stack.js';
import { createRun, waitForFinal } from './queries.js';

interface Attempt {
  what: string;
  path: string;
  content?: string;
  error?: string;
  written?: boolean;
}

interface ProbeReport {
  uid: number;
  gid: number;
  groups: number[];
  home: string | undefined;
  cwd: { path: string; uid: number; mode: number };
  ancestors: number[];
  attempts: Attempt[];
  stragglerPid?: number;
}

const probe = join(repoRoot, 'test', 'fixtures', 'flows', 'credential-probe.ts');

/** The run user an agent started as root drops to by default (created by the agent when missing). */
function runUser(): { uid: number; gid: number } | null {
  try {
    const [, , uid, gid] = execFileSync('getent', ['passwd', 'fluxo-run'], { encoding: 'utf8' }).trim().split(':');
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return null;
  }
}

let stack: Stack;
let reports: string;

beforeAll(async () => {
  expect(process.getuid?.(), 'these tests start agents as root, as CI does').toBe(0);
  stack = await startStack();
  const registered = await stack.cli(['register', probe, '--project', 'production', '--storage', stack.storageUri]);
  expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
  // Where the probe (running as the run user) may write its report.
  reports = join(stack.dir, 'reports');
  await mkdir(reports);
  await chmod(reports, 0o777);
}, 120_000);

/** Runs the probe through `agent` and returns its report, after checking it found nothing. */
async function probeThrough(agentName: string, labels: string[], token: string, tokenFile?: string): Promise<ProbeReport> {
  const developer = await stack.client('developer');
  const workDir = join(stack.dir, agentName);
  const report = join(reports, `${agentName}.json`);
  const id = await createRun(developer, {
    flowName: 'credential-probe',
    labels,
    parameters: { report, tokenFile, spoolDir: join(workDir, 'spool'), cacheDir: join(workDir, 'bundles'), runsDir: join(workDir, 'runs') },
  });
  const run = await waitForFinal(developer, id);
  expect(run, JSON.stringify(run.logs.nodes.slice(-5))).toMatchObject({ state: 'SUCCESS' });
  const found = JSON.parse(await readFile(report, 'utf8')) as ProbeReport;

  // It really walked up: the agent, whatever started it, up to pid 1.
  expect(found.ancestors.length).toBeGreaterThanOrEqual(2);
  expect(found.ancestors.at(-1)).toBe(1);
  const leaks = found.attempts.filter((a) => a.content !== undefined && Buffer.from(a.content, 'base64').toString('latin1').includes(token));
  expect(leaks.map((a) => `${a.what} ${a.path}`)).toEqual([]);
  // Not even the token's signature, the part that makes it a credential.
  const signature = token.split('.').at(-1)!;
  expect(found.attempts.filter((a) => a.content !== undefined && Buffer.from(a.content, 'base64').toString('latin1').includes(signature))).toEqual([]);
  return found;
}

function attempt(report: ProbeReport, what: string): Attempt[] {
  return report.attempts.filter((a) => a.what === what);
}

describe('a flow probing for the agent credentials', () => {
  it('finds no token in any ancestor environ or cmdline when the agent takes it from FLUXO_TOKEN', async () => {
    const token = await stack.token('agent');
    await stack.startAgent({ name: 'env-agent', labels: ['env'], env: { FLUXO_TOKEN: token } });
    const report = await probeThrough('env-agent', ['env'], token);

    // It ran as the unprivileged run user, with no supplementary group, in a directory only it can open.
    const user = runUser();
    expect(user, 'the agent created the fluxo-run user').not.toBeNull();
    expect(report).toMatchObject({ uid: user!.uid, gid: user!.gid, groups: [user!.gid] });
    expect(report.cwd).toMatchObject({ uid: user!.uid, mode: 0o700 });
    expect(report.home).toBe(report.cwd.path);
    // The agent's own environ is closed to it; its cmdline (world-readable) holds no token.
    const [agentEnviron] = attempt(report, 'environ');
    expect(agentEnviron).toMatchObject({ path: `/proc/${report.ancestors[0]}/environ`, error: 'EACCES' });
  });

  it('cannot read the token file, the spool or other runs, nor write the bundle cache (--token-file)', async () => {
    const token = await stack.token('agent');
    const tokenFile = join(stack.dir, 'secrets', 'agent.token');
    await mkdir(join(stack.dir, 'secrets'), { mode: 0o700 });
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    await stack.startAgent({ name: 'file-agent', labels: ['file'], env: { FLUXO_TOKEN: '' }, extraArgs: ['--token-file', tokenFile] });
    const report = await probeThrough('file-agent', ['file'], token, tokenFile);

    expect(attempt(report, 'token-file')).toEqual([expect.objectContaining({ error: 'EACCES' })]);
    expect(attempt(report, 'spool')).toEqual([expect.objectContaining({ error: 'EACCES' })]);
    expect(attempt(report, 'runs')).toEqual([expect.objectContaining({ error: 'EACCES' })]);
    const writes = [...attempt(report, 'cache-write'), ...attempt(report, 'cache-overwrite')];
    expect(writes.length).toBeGreaterThanOrEqual(1);
    expect(writes.filter((a) => a.written)).toEqual([]);
    expect(attempt(report, 'cache-write')).toEqual([expect.objectContaining({ written: false, error: 'EACCES' })]);
    // The cache stays the agent's: nothing planted, its directory not the run user's.
    expect((await stat(join(stack.dir, 'file-agent', 'bundles'))).uid).toBe(0);
  });

  it('the fluxo-agent single executable drops to the run user too', async () => {
    const built = await execa(process.execPath, [join(repoRoot, 'scripts', 'build-agent-binary.mjs')], { cwd: repoRoot, reject: false, timeout: 170_000 });
    expect(built.exitCode, `${built.stdout}\n${built.stderr}`).toBe(0);
    const token = await stack.token('agent');
    await stack.startAgent({ name: 'binary-agent', labels: ['binary'], binary: agentBinaryPath, env: { FLUXO_TOKEN: token } });
    const report = await probeThrough('binary-agent', ['binary'], token);
    expect(report.uid).toBe(runUser()!.uid);
  }, 240_000);
});

describe('fluxo dev (as root, as in CI)', () => {
  it("runs flows as the run user, whose probe finds neither the agent's token nor the server's files", async () => {
    const dataDir = join(await tempDir('fluxo-dev-probe-'), 'data');
    const dev = execa(process.execPath, [cliPath, 'dev', '--data-dir', dataDir, '--port', '0', '--no-run-examples'], { reject: false, env: { FLUXO_TOKEN: '' } });
    onCleanup(async () => {
      dev.kill('SIGTERM');
      await dev;
    });
    let out = '';
    dev.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await waitFor(() => out.includes('fluxo dev is running'), { timeoutMs: 120_000, what: `fluxo dev to start (${out})` });
    const info = JSON.parse(await readFile(join(dataDir, 'dev.json'), 'utf8')) as { apiUrl: string; developerToken: string; adminToken: string };
    const agentToken = (await readFile(join(dataDir, 'agent.token'), 'utf8')).trim();
    const registered = await execa(process.execPath, [cliPath, 'register', probe, '--project', 'production', '--storage', `${pathToFileURL(join(dataDir, 'storage')).href}/{tenant}`], {
      env: { FLUXO_API: info.apiUrl, FLUXO_TOKEN: info.developerToken },
      reject: false,
    });
    expect(registered.exitCode, registered.stderr).toBe(0);

    const developer = new GraphQLClient({ apiUrl: info.apiUrl, token: info.developerToken });
    onCleanup(() => developer.close());
    const report = join(reports, 'dev.json');
    const server = ['fluxo.db', 'fluxo.db-wal', 'dev.json', 'keys/identity.secret', 'keys/token-signing.private.jwk.json'].map((name) => join(dataDir, name));
    const id = await createRun(developer, { flowName: 'credential-probe', parameters: { report, tokenFile: join(dataDir, 'agent.token'), spoolDir: join(dataDir, 'agent', 'spool'), cacheDir: join(dataDir, 'agent', 'bundles'), files: server } });
    expect(await waitForFinal(developer, id)).toMatchObject({ state: 'SUCCESS' });
    const found = JSON.parse(await readFile(report, 'utf8')) as ProbeReport;

    expect(found.uid).toBe(runUser()!.uid);
    for (const token of [agentToken, info.developerToken, info.adminToken]) {
      expect(found.attempts.filter((a) => a.content !== undefined && Buffer.from(a.content, 'base64').toString('latin1').includes(token)).map((a) => a.path)).toEqual([]);
    }
    expect(attempt(found, 'token-file')).toEqual([expect.objectContaining({ error: 'EACCES' })]);
    expect(attempt(found, 'file').map((a) => [a.path.slice(dataDir.length + 1), a.error])).toEqual([
      ['fluxo.db', 'EACCES'], ['fluxo.db-wal', 'EACCES'], ['dev.json', 'EACCES'], ['keys/identity.secret', 'EACCES'], ['keys/token-signing.private.jwk.json', 'EACCES'],
    ]);
    expect(attempt(found, 'cache-write')).toEqual([expect.objectContaining({ written: false })]);
  }, 180_000);
});

describe('runs of an agent with a range of run uids', () => {
  it('gives each run its own uid: two runs at once cannot read each other, and nothing a run left behind survives it', async () => {
    const token = await stack.token('agent');
    await stack.startAgent({ name: 'range-agent', labels: ['range'], concurrency: 2, env: { FLUXO_TOKEN: token }, extraArgs: ['--run-as', '47000-47003:47000'] });
    const developer = await stack.client('developer');
    const peerDir = join(reports, 'peers');
    await mkdir(peerDir);
    await chmod(peerDir, 0o777);
    const ids = await Promise.all(['a', 'b'].map((tag) => createRun(developer, { flowName: 'credential-probe', labels: ['range'], parameters: { report: join(reports, `range-${tag}.json`), peerDir, straggler: true } })));
    for (const id of ids) expect(await waitForFinal(developer, id)).toMatchObject({ state: 'SUCCESS' });
    const found = await Promise.all(['a', 'b'].map(async (tag) => JSON.parse(await readFile(join(reports, `range-${tag}.json`), 'utf8')) as ProbeReport));

    expect(new Set(found.map((r) => r.uid)).size).toBe(2);
    for (const report of found) {
      expect(report.uid).toBeGreaterThanOrEqual(47000);
      expect(report.uid).toBeLessThanOrEqual(47003);
      expect(report.gid).toBe(47000);
      for (const what of ['peer-environ', 'peer-run-dir', 'peer-cwd-link']) expect(attempt(report, what)).toEqual([expect.objectContaining({ error: 'EACCES' })]);
      // Its detached `sleep 300` left the run's process group: the agent killed it with the run's uid.
      expect(report.stragglerPid).toBeGreaterThan(0);
      expect(existsSync(`/proc/${report.stragglerPid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${report.stragglerPid}/status`, 'utf8'))).toBe(false);
    }
  });
});

describe('how the agent takes its token', () => {
  const start = (args: string[], env: Record<string, string> = {}) =>
    execa(process.execPath, [cliPath, 'agent', 'start', '--api', 'http://127.0.0.1:9/graphql', '--work-dir', join(stack.dir, 'refused'), ...args], {
      env: { FLUXO_TOKEN: '', FLUXO_TOKEN_FILE: '', ...env },
      reject: false,
      timeout: 20_000,
    });

  it('refuses a token on the command line, where every process of the host can read it', async () => {
    const result = await start(['--token', 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/\[BAD_USER_INPUT\] --token puts the token in \/proc\/<pid>\/cmdline/);
  });

  it.each([
    { why: 'readable by others', mode: 0o644, message: /token file .* is readable by group or others \(mode 0644\); chmod 600 it/ },
    { why: 'readable by its group', mode: 0o640, message: /token file .* is readable by group or others \(mode 0640\); chmod 600 it/ },
  ])('refuses a token file $why', async ({ mode, message }) => {
    const file = join(stack.dir, `token-${mode.toString(8)}`);
    await writeFile(file, 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln\n');
    await chmod(file, mode);
    const result = await start(['--token-file', file]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/\[BAD_USER_INPUT\]/);
    expect(result.stderr).toMatch(message);
  });

  it('refuses to run flows as root, and a run user it cannot switch to', async () => {
    const env = { FLUXO_TOKEN: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln' };
    for (const runAs of ['root', '0', '0:0', 'self']) {
      const result = await start(['--run-as', runAs], env);
      expect(result.exitCode, runAs).toBe(2);
      expect(result.stderr).toMatch(/\[BAD_USER_INPUT\] run-as: an agent running as root never runs flows as root/);
    }
    const missing = await start(['--run-as', 'no-such-user-here'], env);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/\[BAD_USER_INPUT\] run-as: no user "no-such-user-here" on this host; create it \(useradd --system --no-create-home --shell \/usr\/sbin\/nologin no-such-user-here\) or give a numeric UID:GID/);
  });
});
