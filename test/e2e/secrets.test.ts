// Tenant secrets end to end (server, proxy, agents and the CLI as separate processes): a
// tenant-admin stores a secret, a flow declaring it gets the value on an agent that has no local
// secrets, its logs show ***, another tenant's agent never gets it, and the value is on no disk and
// in no daemon's log.
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/harness.js';
import { startStack, TENANT } from '../support/stack.js';
import { createRun, waitForFinal } from './queries.js';

const SECRET = 'prefeitura-db-Zq8!x2-kept-on-the-server';
const OTHER_TENANT = 'rj-smtr';
const usesSecret = join(repoRoot, 'test', 'fixtures', 'flows', 'uses-secret.ts');

/** Every file under `dir` whose bytes contain `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await readFile(path)).includes(Buffer.from(needle))) found.push(path);
  }
  return found;
}

describe('tenant secrets, end to end', () => {
  it("hands a stored secret only to its tenant's runs that declare it, redacted, and never to disk or a log", async () => {
    const stack = await startStack();
    const valueFile = join(stack.dir, 'db-password.txt');
    await writeFile(valueFile, `${SECRET}\n`, { mode: 0o600 });
    const stored = await stack.cli(['secrets', 'set', 'DB_PASSWORD', '--from-file', valueFile], { role: 'tenant-admin' });
    expect(stored.exitCode, stored.stderr).toBe(0);
    expect(stored.stdout).toMatch(/^stored DB_PASSWORD \(.*, by tenant-admin-test@rj-escritorio\)$/m);
    const listed = await stack.cli(['secrets', 'list'], { role: 'developer' });
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^DB_PASSWORD\s+\S+ \S+\s+tenant-admin-test@rj-escritorio/m);

    for (const tenant of [TENANT, OTHER_TENANT]) {
      const registered = await stack.cli(['register', usesSecret, '--project', 'production', '--storage', stack.storageUri], { tenant });
      expect(registered.exitCode, registered.stderr).toBe(0);
    }
    // Neither agent has a secrets file, and DB_PASSWORD is not in their environment.
    const ours = await stack.startAgent({ name: 'escritorio-agent' });
    const theirs = await stack.startAgent({ name: 'smtr-agent', tenant: OTHER_TENANT });

    const developer = await stack.client('developer');
    const digestFile = join(stack.dir, 'digest');
    const run = await waitForFinal(developer, await createRun(developer, { flowName: 'uses-secret', parameters: { digestFile } }));
    // The witness: the flow saw exactly the stored value (it then fails on purpose).
    expect(await readFile(digestFile, 'utf8')).toBe(createHash('sha256').update(SECRET).digest('hex'));
    expect(run).toMatchObject({ state: 'FAILED', stateReason: 'exception' });
    expect(run.logs.nodes.map((l) => `${l.stream}: ${l.message}`)).toEqual(
      expect.arrayContaining(['logger: the password is ***', 'stdout: stdout says ***', 'stderr: stderr says ***']),
    );
    expect(run.stateMessage).toContain('failing on purpose with *** in the message');
    expect(JSON.stringify(run)).not.toContain(SECRET);

    // The other tenant stored no DB_PASSWORD: its agent gets nothing and has nothing of its own.
    const otherDeveloper = await stack.client('developer', OTHER_TENANT);
    const otherDigest = join(stack.dir, 'other-digest');
    const other = await waitForFinal(otherDeveloper, await createRun(otherDeveloper, { flowName: 'uses-secret', parameters: { digestFile: otherDigest } }));
    expect(other).toMatchObject({ state: 'FAILED', stateReason: 'missing-secret', stateMessage: expect.stringMatching(/declares secret DB_PASSWORD, which this agent has no value for/) });
    await expect(readFile(otherDigest)).rejects.toMatchObject({ code: 'ENOENT' });

    for (const daemon of [stack.server, stack.proxy, ours, theirs]) expect(daemon.output.join('\n')).not.toContain(SECRET);
    // Not in the agents' work directories (bundle cache, spool, run directories), and not in the
    // server's database files: what rests there is ciphertext.
    expect(await filesContaining(join(stack.dir, 'escritorio-agent'), SECRET)).toEqual([]);
    expect(await filesContaining(join(stack.dir, 'smtr-agent'), SECRET)).toEqual([]);
    expect((await readdir(stack.dir)).filter((name) => name.startsWith('fluxo.db'))).toContain('fluxo.db');
    expect((await filesContaining(stack.dir, SECRET)).filter((path) => !path.endsWith('db-password.txt'))).toEqual([]);
  });

  it('takes no value from the command line, lets only tenant-admins set and delete, and shows names only', async () => {
    const stack = await startStack();
    const onCommandLine = await stack.cli(['secrets', 'set', 'DB_PASSWORD', SECRET], { role: 'tenant-admin' });
    expect(onCommandLine.exitCode).toBe(2);
    expect(onCommandLine.stderr).toMatch(/\[BAD_USER_INPUT\] a value on the command line would land in your shell history and in `ps`; nothing was stored/);

    const valueFile = join(stack.dir, 'value');
    await writeFile(valueFile, SECRET);
    const byDeveloper = await stack.cli(['secrets', 'set', 'DB_PASSWORD', '--from-file', valueFile], { role: 'developer' });
    expect(byDeveloper.exitCode).toBe(3);
    expect(byDeveloper.stderr).toMatch(/\[FORBIDDEN\] role "developer" may not .*\(allowed: admin, tenant-admin\)/);
    expect(byDeveloper.stderr).not.toContain(SECRET);

    const badName = await stack.cli(['secrets', 'set', 'db-password', '--from-file', valueFile], { role: 'tenant-admin' });
    expect(badName.exitCode).toBe(2);
    expect(badName.stderr).toMatch(/\[BAD_USER_INPUT\] secret name "db-password" must be/);

    expect((await stack.cli(['secrets', 'set', 'DB_PASSWORD', '--from-file', valueFile], { role: 'tenant-admin' })).exitCode).toBe(0);
    const json = await stack.cli(['secrets', 'list', '--json'], { role: 'tenant-admin' });
    expect(JSON.parse(json.stdout)).toEqual([{ name: 'DB_PASSWORD', createdAt: expect.any(String), updatedAt: expect.any(String), updatedBy: 'tenant-admin-test@rj-escritorio' }]);
    const byViewer = await stack.cli(['secrets', 'list'], { role: 'viewer' });
    expect(byViewer.exitCode).toBe(3);
    expect(byViewer.stderr).toMatch(/\[FORBIDDEN\] role "viewer" may not .*\(allowed: admin, tenant-admin, developer\)/);

    // A key rotation: a version 2 line, then re-encryption of what is stored, straight on the database.
    await appendFile(join(stack.keysDir, 'secrets.key'), `2 ${randomBytes(32).toString('base64url')}\n`);
    const rekeyed = await stack.cli(['secrets', 'rekey', '--database', stack.database, '--keys-dir', stack.keysDir]);
    expect(rekeyed.exitCode, rekeyed.stderr).toBe(0);
    expect(rekeyed.stdout).toBe('re-encrypted 1 secret with key version 2');
    expect((await stack.cli(['secrets', 'rekey', '--database', stack.database, '--keys-dir', stack.keysDir])).stdout).toBe('re-encrypted 0 secrets with key version 2');

    const deleted = await stack.cli(['secrets', 'delete', 'DB_PASSWORD'], { role: 'tenant-admin' });
    expect(deleted).toMatchObject({ exitCode: 0, stdout: 'deleted DB_PASSWORD' });
    const again = await stack.cli(['secrets', 'delete', 'DB_PASSWORD'], { role: 'tenant-admin' });
    expect(again.exitCode).toBe(4);
    expect(again.stderr).toMatch(/\[NOT_FOUND\] no secret DB_PASSWORD in your tenant; nothing was deleted/);
    expect(stack.server.output.join('\n')).not.toContain(SECRET);
  });
});
