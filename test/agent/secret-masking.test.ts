// The masking corpus: a real flow run through a real server, proxy and agent prints two secrets (a
// four-line PEM stored on the server, a one-line token from the agent's secrets file) in every form
// an honest mistake produces (test/fixtures/flows/leaks-secrets.ts). No byte sequence of either
// secret, nor of any of its encodings, may then rest anywhere a viewer or an operator reads: the
// database (every table, read from the SQLite file), what a viewer gets over GraphQL, the daemons'
// own logs, the agent's work directory (spool, run directories, bundle cache).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { maskerOf, needlesOf } from '../../agent/secret-masker.js';
import { startDaemon } from '../support/daemon.js';
import { isAlive, repoRoot, waitFor } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';
import { createRun, waitForFinal } from '../e2e/queries.js';

const PEM = [
  '-----BEGIN PRIVATE KEY-----',
  'MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
  'VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfdR4Ir1Xl0o3Y8Q==',
  '-----END PRIVATE KEY-----',
].join('\n');
/** Characters every encoding changes: `+ / = " \ & %` and a space. */
const TOKEN = 'tk_live_9f3K+x/Q=a b"c\\d&e%f-Wq7';
const MIN_LENGTH = 4;

/** The forms of `text` a leak takes: itself, JSON-escaped, URL- and form-encoded, hex, base64 and base64url at each alignment. */
function encodings(text: string): string[] {
  const forms = [
    text,
    JSON.stringify(text).slice(1, -1),
    encodeURIComponent(text),
    new URLSearchParams({ a: text }).toString().slice(2),
    Buffer.from(text).toString('hex'),
  ];
  for (const alphabet of ['base64', 'base64url'] as const) {
    forms.push(Buffer.from(text).toString(alphabet));
    // After 0, 1 or 2 other bytes: the whole quartets that hold only the text's bits.
    for (const pad of ['', '\0', '\0\0']) forms.push(Buffer.from(pad + text).toString(alphabet).replace(/=+$/, '').slice(4, -4));
  }
  return forms.filter((form) => form.length >= MIN_LENGTH);
}

const half = Math.floor(TOKEN.length / 2);
/** Every byte sequence of the two secrets that must be found nowhere. */
const FORBIDDEN = [
  ...new Set(
    [PEM, PEM.replace(/\n/g, '\r\n'), ...PEM.split('\n'), TOKEN, TOKEN.slice(0, half), TOKEN.slice(half)]
      .filter((value) => value.length >= MIN_LENGTH)
      .flatMap(encodings),
  ),
];

/** The forbidden sequences `text` contains (for a readable failure). */
function leaksIn(text: string): string[] {
  return FORBIDDEN.filter((form) => text.includes(form));
}

/** Every text cell of every table of a SQLite file (blobs read as UTF-8 and Latin-1). */
function databaseText(path: string): Record<string, string> {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    const text: Record<string, string> = {};
    for (const { name } of tables) {
      const cells: string[] = [];
      for (const row of db.prepare(`SELECT * FROM "${name}"`).raw().iterate() as Iterable<unknown[]>) {
        for (const cell of row) {
          if (typeof cell === 'string') cells.push(cell);
          else if (Buffer.isBuffer(cell)) cells.push(cell.toString('utf8'), cell.toString('latin1'));
        }
      }
      text[name] = cells.join('\n');
    }
    return text;
  } finally {
    db.close();
  }
}

/** Every file under `dir`, as text. */
async function filesText(dir: string): Promise<Record<string, string>> {
  const text: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) text[join(entry.parentPath, entry.name)] = await readFile(join(entry.parentPath, entry.name), 'utf8');
  }
  return text;
}

const VIEWER_READS = /* GraphQL */ `
  query($id: ID!) {
    flowRun(id: $id) {
      state stateReason stateMessage
      stateHistory { message }
      taskRuns { key state stateHistory { message } }
      logs(first: 1000) { nodes { stream message } }
    }
  }
`;

/** The PEM stored on the server, the token in the agent's secrets file, the fixture flows registered; returns the secrets file. */
async function prepare(stack: Stack): Promise<string> {
  const pemFile = join(stack.dir, 'key.pem');
  await writeFile(pemFile, `${PEM}\n`, { mode: 0o600 });
  const stored = await stack.cli(['secrets', 'set', 'PEM_KEY', '--from-file', pemFile], { role: 'tenant-admin' });
  expect(stored.exitCode, stored.stderr).toBe(0);
  const secretsFile = join(stack.dir, 'agent.secrets');
  await writeFile(secretsFile, `API_TOKEN='${TOKEN}'\n`, { mode: 0o600 });
  const registered = await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'leaks-secrets.ts'), '--project', 'production', '--storage', stack.storageUri]);
  expect(registered.exitCode, registered.stderr).toBe(0);
  return secretsFile;
}

describe('secret masking corpus', () => {
  it('stores no byte sequence of a PEM or a token printed whole, by lines, split, encoded or thrown', async () => {
    const stack = await startStack();
    const secretsFile = await prepare(stack);
    const agent = await stack.startAgent({ name: 'masker', extraArgs: ['--secrets-file', secretsFile] });

    const developer = await stack.client('developer');
    const id = await createRun(developer, { flowName: 'leaks-secrets' });
    const run = await waitForFinal(developer, id);
    expect(run).toMatchObject({ state: 'FAILED', stateReason: 'exception' });
    const viewer = await stack.client('viewer');
    const { flowRun } = await viewer.request<{
      flowRun: { stateMessage: string; taskRuns: { key: string; state: string; stateHistory: { message: string | null }[] }[]; logs: { nodes: { stream: string; message: string }[] } };
    }>(VIEWER_READS, { id });

    expect(leaksIn(JSON.stringify(flowRun)), 'what a viewer reads').toEqual([]);
    for (const [table, text] of Object.entries(databaseText(stack.database))) expect(leaksIn(text), `table ${table}`).toEqual([]);
    for (const [name, daemon] of Object.entries({ agent, server: stack.server, proxy: stack.proxy })) expect(leaksIn(daemon.output.join('\n')), `${name} log`).toEqual([]);
    for (const [path, text] of Object.entries(await filesText(join(stack.dir, 'masker')))) expect(leaksIn(text), path).toEqual([]);

    // The flow ran and printed, and what surrounds a secret stays readable.
    const lines = flowRun.logs.nodes.map((line) => `${line.stream}: ${line.message}`);
    expect(lines).toEqual(expect.arrayContaining(['stdout: token=***', 'stdout: Authorization: Basic c3ZjOn***', 'stderr: key:', 'stdout: ***', 'logger: wrapped: ***\n***']));
    expect(flowRun.stateMessage).toBe('Error: could not sign with *** and "***"');
    const failedTask = flowRun.taskRuns.find((taskRun) => taskRun.state === 'FAILED');
    expect(failedTask?.stateHistory.map((transition) => transition.message)).toContain('Error: upstream refused *** (***)');
  });

  it('writes no byte sequence of either secret to the spool while the server is out of reach', async () => {
    const stack = await startStack({ leaseSeconds: 15 });
    const secretsFile = await prepare(stack);
    const agent = await stack.startAgent({ name: 'spooler', extraArgs: ['--secrets-file', secretsFile, '--heartbeat-seconds', '1'] });
    const developer = await stack.client('developer');
    const id = await createRun(developer, { flowName: 'leaks-secrets-paced', parameters: { lines: 12_000, perTick: 200, tickMs: 40 } });
    await waitFor(async () => (await developer.request<{ flowRun: { logs: { nodes: unknown[] } } }>('query($id: ID!) { flowRun(id: $id) { logs(first: 1) { nodes { id } } } }', { id })).flowRun.logs.nodes.length > 0, {
      what: 'the first lines to be stored',
    });

    process.kill(stack.proxy.pid, 'SIGKILL');
    await waitFor(() => !isAlive(stack.proxy.pid), { what: 'the proxy to die' });
    const spoolDir = join(stack.dir, 'spooler', 'spool');
    // Read what the spool holds once it holds a good part of the run's lines.
    const spooled = await waitFor(async () => {
      const text = Object.values(await filesText(spoolDir).catch(() => ({}))).join('\n');
      return text.split('\n').length > 3_000 ? text : undefined;
    }, { what: 'the spool to fill', timeoutMs: 20_000 });
    expect(spooled).toContain('token=***');
    expect(leaksIn(spooled), 'the spool').toEqual([]);

    const proxyPort = new URL(String(stack.proxy.ready.url)).port;
    await startDaemon(['proxy', 'start', '--port', proxyPort, '--upstream', stack.serverUrl, '--keys-dir', stack.keysDir]);
    const run = await waitForFinal(developer, id, 90_000);
    expect(run, agent.output.slice(-20).join('\n')).toMatchObject({ state: 'SUCCESS' });
    for (const [table, text] of Object.entries(databaseText(stack.database))) expect(leaksIn(text), `table ${table}`).toEqual([]);
    expect(leaksIn(agent.output.join('\n')), 'agent log').toEqual([]);
  });
});

describe('the masker', () => {
  const mask = maskerOf([PEM, TOKEN]);
  const b64 = (text: string, alphabet: 'base64' | 'base64url' = 'base64') => Buffer.from(text).toString(alphabet);

  it.each([
    ['the value', `token=${TOKEN};`, 'token=***;'],
    ['a PEM line', `line ${PEM.split('\n')[1]} end`, 'line *** end'],
    ['the PEM whole', `key:\n${PEM}\ndone`, 'key:\n***\ndone'],
    ['the PEM with CRLF', `key:\r\n${PEM.replace(/\n/g, '\r\n')}\r\n`, 'key:\r\n***\r\n'],
    ['base64', `b64 ${b64(TOKEN)} end`, 'b64 *** end'],
    ['base64url', `b64 ${b64(TOKEN, 'base64url')} end`, 'b64 *** end'],
    // The characters the value shares with its neighbours stay: `u:` and the padding here.
    ['base64 after two other bytes (Basic auth)', `Basic ${b64(`u:${TOKEN}`)}`, 'Basic dTp***w=='],
    ['hex', Buffer.from(TOKEN).toString('hex').toUpperCase(), '***'],
    ['encodeURIComponent', `?t=${encodeURIComponent(TOKEN)}&x=1`, '?t=***&x=1'],
    ['form encoding', new URLSearchParams({ t: TOKEN, x: '1' }).toString(), 't=***&x=1'],
    ['JSON-escaped', JSON.stringify({ t: TOKEN }), '{"t":"***"}'],
    ['split over two lines', `a ${TOKEN.slice(0, 12)}\n${TOKEN.slice(12)} b`, 'a ***\n*** b'],
    // A last piece shorter than 6 characters stays (here `LQ==`, one byte of the PEM's last dash).
    ['base64 wrapped at 20 columns', b64(PEM).replace(/.{1,20}/g, '  $&\n'), b64(PEM).replace(/.{1,20}/g, (line) => `  ${line.length >= 6 ? '***' : line}\n`)],
    ['an indented line of the PEM inside a line', `got "${PEM.split('\n')[2]}" back`, 'got "***" back'],
    ['clipped by the agent', `${'x'.repeat(10)} ${TOKEN.slice(0, 20)}…`, `${'x'.repeat(10)} ***…`],
  ])('masks %s and keeps what surrounds it', (_, text, masked) => {
    expect(mask(text)).toBe(masked);
  });

  it.each([
    ['ordinary text', 'run 0192 finished in 12.5 s: 1,024 rows written to tk_test'],
    ['a piece of a value shorter than a fragment at a line edge', `${TOKEN.slice(0, 5)}\n${TOKEN.slice(-5)}`],
    ['a piece of a value in the middle of a line', `x ${TOKEN.slice(0, 10)} y`],
  ])('leaves %s alone', (_, text) => {
    expect(mask(text)).toBe(text);
  });

  it('masks the longest value whole, overlapping ones as one, and not values too short to mask', () => {
    expect(maskerOf(['abcd', 'abcdefgh', 'xy'])('abcdefgh abcd xy')).toBe('*** *** xy');
    expect(maskerOf(['abcdef', 'defghi'])('<abcdefghi>')).toBe('<***>');
    expect(maskerOf([])('anything')).toBe('anything');
    expect(needlesOf(['abc', '\n\n'])).toEqual([]);
  });
});
