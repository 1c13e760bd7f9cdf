// `fluxo run` through the compiled CLI: the examples run offline, parameters are coerced and
// refused with coded errors, exit codes say how the flow ended.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cliPath, onCleanup, repoRoot, tempDir } from '../support/harness.js';

function fluxo(args: string[]) {
  return execa(process.execPath, [cliPath, ...args], { cwd: repoRoot, reject: false, stdin: 'ignore', timeout: 60_000 });
}

/** Serves examples/data/municipios.json on 127.0.0.1, as `fluxo dev` does. */
async function serveMunicipios(): Promise<string> {
  const body = await readFile(join(repoRoot, 'examples/data/municipios.json'));
  const server = createServer((request, response) => {
    if (request.url !== '/municipios.json') return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  onCleanup(() => new Promise<void>((closed) => server.close(() => closed())));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return `http://127.0.0.1:${address.port}/municipios.json`;
}

describe('fluxo run: the examples', () => {
  it('extracts the municipalities from a local HTTP API and writes 5,571 rows plus a header to CSV', async () => {
    const url = await serveMunicipios();
    const outputDir = await tempDir();
    const result = await fluxo(['run', 'examples/municipios.ts', '--param', `url=${url}`, '--param', `outputDir=${outputDir}`]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/extract#1 SUCCESS \(attempt 1\)/);
    expect(result.stdout).toMatch(/build-table#1 SUCCESS \(attempt 1\)/);
    expect(result.stdout).toMatch(/save-csv#1 SUCCESS \(attempt 1\)/);

    const lines = (await readFile(join(outputDir, 'municipios.csv'), 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(5_572);
    expect(lines[0]).toBe('codigo_ibge,nome,uf,codigo_uf,capital,latitude,longitude');
    expect(lines).toContain('3304557,Rio de Janeiro,RJ,33,true,-22.9129,-43.2003');
    expect(lines.filter((line) => line.includes(',true,'))).toHaveLength(27);
  });

  it('reads the same file through a file:// URL, byte-order mark and all', async () => {
    const outputDir = await tempDir();
    const url = new URL(`file://${join(repoRoot, 'examples/data/municipios.json')}`).href;
    const result = await fluxo(['run', 'examples/municipios.ts', '--param', `url=${url}`, '--param', `outputDir=${outputDir}`]);
    expect(result.exitCode).toBe(0);
    const csv = await readFile(join(outputDir, 'municipios.csv'), 'utf8');
    expect(csv.startsWith('codigo_ibge,')).toBe(true);
    expect(csv.trimEnd().split('\n')).toHaveLength(5_572);
  });

  it('shows both attempts of the task that fails once and succeeds on retry', async () => {
    const result = await fluxo(['run', 'examples/retry.ts']);
    expect(result.exitCode).toBe(0);
    const states = result.stdout.split('\n').flatMap((line) => line.match(/call-flaky-service#1 (\w+ \(attempt \d\))/)?.[1] ?? []);
    expect(states).toEqual(['RUNNING (attempt 1)', 'RETRYING (attempt 1)', 'RUNNING (attempt 2)', 'SUCCESS (attempt 2)']);
    expect(result.stdout).toContain('simulated outage');
    expect(result.stdout).toContain('flow "flaky-retry" succeeded');
  });

  it('coerces typed parameters and logs the top municipalities by GDP', async () => {
    const result = await fluxo(['run', 'examples/parameters.ts', '--param', 'year=2010', '--param', 'limit=3', '--param', 'city=niterói']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('running flow "typed-parameters" with {"year":2010,"limit":3,"city":"niterói","dataDir":"examples/data"}');
    expect(result.stdout).toContain('5565 municipalities have a GDP for 2010');
    expect(result.stdout).toContain('top 3 municipalities by GDP in 2010:');
    expect(result.stdout).toMatch(/1\. São Paulo: R\$\s450,5\sbi\n.*2\. Rio de Janeiro: R\$\s208,2\sbi\n.*3\. Brasília: /);
    expect(result.stdout).toContain('Niterói ranks #41 of 5565 in 2010');
    expect(result.stdout).not.toContain('4. ');
  });

  it('exits 1 and prints the error of a flow that fails', async () => {
    const result = await fluxo(['run', 'examples/sleep.ts', '--flow', 'fail-always']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('explode#1 FAILED (attempt 1): Error: this flow always fails');
    expect(result.stderr).toMatch(/^flow "fail-always" failed after [\d.]+ s \(exception\): Error: this flow always fails/);
  });

  it('exits 1 with reason timeout when the flow outlives its timeoutSeconds', async () => {
    const result = await fluxo(['run', 'test/fixtures/flows/timing.ts', '--flow', 'flow-times-out']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('(timeout): FlowTimeout: the flow exceeded its 1 s timeout');
  });

  it('prints task states, logs and the result as JSON lines with --json', async () => {
    const result = await fluxo(['run', 'examples/retry.ts', '--json']);
    expect(result.exitCode).toBe(0);
    const events = result.stdout.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.filter((event) => event.type === 'task-state').map((event) => `${event.state} ${event.attempt}`)).toEqual([
      'RUNNING 1',
      'RETRYING 1',
      'RUNNING 2',
      'SUCCESS 2',
    ]);
    expect(events.filter((event) => event.type === 'log')).toHaveLength(2);
    expect(events.at(-1)).toMatchObject({ type: 'result', ok: true, flow: 'flaky-retry', value: 'ok' });
  });
});

describe('fluxo run: choosing a flow', () => {
  it('refuses a module with several flows when none is chosen, listing them', async () => {
    const result = await fluxo(['run', 'examples/sleep.ts']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('[BAD_USER_INPUT] examples/sleep.ts exports several flows; choose one with --flow: fail-always (export failAlways), long-sleep (export longSleep)');
  });

  it.each(['long-sleep', 'longSleep'])('picks a flow by name or export name (%s)', async (wanted) => {
    const result = await fluxo(['run', 'examples/sleep.ts', '--flow', wanted, '--param', 'seconds=0']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('flow "long-sleep" succeeded');
  });

  it.each([
    [['run', 'examples/sleep.ts', '--flow', 'nope'], '[BAD_USER_INPUT] examples/sleep.ts has no flow "nope"; it exports: fail-always'],
    [['run', 'examples/no-such-flow.ts'], '[BAD_USER_INPUT] no flow module at examples/no-such-flow.ts'],
    [['run', 'examples/data/LICENSE.basedosdados'], '[BAD_USER_INPUT] cannot bundle examples/data/LICENSE.basedosdados'],
  ])('exits 2 for %j', async (args, message) => {
    const result = await fluxo(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describe('fluxo run: parameters', () => {
  it.each([
    [['year=2020'], 'year: must be <= 2011'],
    [['year=2001'], 'year: must be >= 2002'],
    [['limit=abc'], 'limit: must be integer'],
    [['yaer=2011'], 'yaer: is not a parameter of this flow'],
    [['limit=0', 'year=1999'], 'year: must be >= 2002; limit: must be >= 1'],
    [['year=2010', 'year=2011'], 'parameter "year" is given twice'],
  ])('exits 2 with INVALID_PARAMETERS naming the field for %j', async (pairs, message) => {
    const result = await fluxo(['run', 'examples/parameters.ts', ...pairs.flatMap((pair) => ['--param', pair])]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('error: [INVALID_PARAMETERS]');
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('exits 2 with INVALID_PARAMETERS when a required parameter is missing', async () => {
    const result = await fluxo(['run', 'test/fixtures/flows/witness.ts', '--param', 'file=/dev/null']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('error: [INVALID_PARAMETERS] invalid parameters for flow "witness": tag: must have required property \'tag\'');
  });

  it('exits 2 with BAD_USER_INPUT for a --param without "="', async () => {
    const result = await fluxo(['run', 'examples/parameters.ts', '--param', 'year']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('[BAD_USER_INPUT] --param "year" is not key=value');
  });
});
