// The agent's result storage on every backend (a local directory, and Cloud Storage against a
// real fake-gcs-server): small results are packed per run attempt (a file appended to, or an
// object per batch), large ones stored create-only under tenant, run, attempt and task key; all are
// read back only when the bytes are the recorded ones and the object is the agent's own.
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ResultStorage, StoredResultRejected, safeSegment } from '../../agent/result-storage.js';
import { PACKED_RESULT_MAX_BYTES, parsePackedUri } from '../../agent/result-pack.js';
import { resolveAgentConfig } from '../../agent/config.js';
import { codeStorageFor, type CodeStorage } from '../../storage/code-storage.js';
import { GcsCodeStorage } from '../../storage/gcs-code-storage.js';
import { useFakeGcs } from '../support/fake-gcs.js';
import { tempDir } from '../support/harness.js';

const gcs = useFakeGcs();

const backends: { name: string; open: () => Promise<CodeStorage> }[] = [
  { name: 'file://', open: async () => codeStorageFor(pathToFileURL(await tempDir('fluxo-results-')).href) },
  { name: 'gs:// (fake-gcs-server)', open: async () => new GcsCodeStorage(`gs://${await gcs().createBucket()}/results`, { apiEndpoint: gcs().endpoint }) },
];

describe.each(backends)('result storage on $name', ({ open }) => {
  it('packs a small result under tenant/run/attempt and reads it back verified', async () => {
    let asked = 0;
    const results = new ResultStorage(await open(), async () => (asked++, 'rj-smtr'));
    const json = '{"rows":[1,2,3],"city":"Rio de Janeiro ✓"}';
    const pointer = await results.store({ flowRunId: 'run-1', attempt: 2, taskKey: 'extract#1', json });
    expect(pointer.uri).toMatch(/\/rj-smtr\/run-1\/2\/results[^/]*\.pack#(\d+&)?range=0,\d+$/);
    expect(pointer).toMatchObject({ sha256: createHash('sha256').update(json).digest('hex'), size: Buffer.byteLength(json) });
    expect(await results.read(pointer)).toBe(json);
    // A task that returned undefined: an empty object.
    const empty = await results.store({ flowRunId: 'run-1', attempt: 2, taskKey: 'load#1', json: '' });
    expect(empty.size).toBe(0);
    expect(await results.read(empty)).toBe('');
    expect(asked).toBe(1);
  });

  it('refuses a pointer whose digest or size is not the stored bytes, a missing object, and an object outside its storage', async () => {
    const results = new ResultStorage(await open(), async () => 'rj-smtr');
    const pointer = await results.store({ flowRunId: 'run-1', attempt: 1, taskKey: 'a#1', json: '[1]' });
    await expect(results.read({ ...pointer, sha256: 'e'.repeat(64) })).rejects.toBeInstanceOf(StoredResultRejected);
    await expect(results.read({ ...pointer, size: 2 })).rejects.toBeInstanceOf(StoredResultRejected);
    await expect(results.read({ ...pointer, uri: pointer.uri.replace('/run-1/', '/run-2/') })).rejects.toBeInstanceOf(StoredResultRejected);
    // A range past the pack's end reads short: refused by its size.
    await expect(results.read({ ...pointer, uri: pointer.uri.replace(/range=\d+,/, 'range=9000,') })).rejects.toThrow(/is 0 bytes/);
    const elsewhere = new ResultStorage(await open(), async () => 'rj-smtr');
    await expect(elsewhere.read(pointer)).rejects.toThrow(/not in this agent's result storage/);
  });
  it('packs results stored at once into few batches, each read back as its own bytes', async () => {
    const results = new ResultStorage(await open(), async () => 'rj-smtr');
    const jsons = Array.from({ length: 200 }, (_, i) => JSON.stringify({ task: i, rows: 'x'.repeat(i % 7) }));
    const pointers = await Promise.all(jsons.map((json, i) => results.store({ flowRunId: 'run-1', attempt: 1, taskKey: `t#${i}`, json })));
    const packs = new Set(pointers.map((pointer) => parsePackedUri(pointer.uri)?.packUri));
    expect(packs.has(undefined)).toBe(false);
    // The first write goes alone, the rest wait and go together: far fewer packs than results.
    expect(packs.size).toBeLessThan(20);
    expect(await Promise.all(pointers.map((pointer) => results.read(pointer)))).toEqual(jsons);
    await results.close();
  });

  it('keeps a result over the pack threshold in an object of its own', async () => {
    const results = new ResultStorage(await open(), async () => 'rj-smtr');
    const json = JSON.stringify('x'.repeat(PACKED_RESULT_MAX_BYTES));
    const pointer = await results.store({ flowRunId: 'run-1', attempt: 1, taskKey: 'big#1', json });
    expect(parsePackedUri(pointer.uri)).toBeNull();
    expect(pointer.uri).toContain('/rj-smtr/run-1/1/big_231.json');
    expect(await results.read(pointer)).toBe(json);
  });
});

describe('result storage on file://', () => {
  it('never returns bytes changed after they were stored: a corrupted pack is refused, naming the digests', async () => {
    const results = new ResultStorage(pathToFileURL(await tempDir('fluxo-results-')).href, async () => 'rj-smtr');
    const first = await results.store({ flowRunId: 'run-1', attempt: 1, taskKey: 'a#1', json: '{"ok":true}' });
    const second = await results.store({ flowRunId: 'run-1', attempt: 1, taskKey: 'b#1', json: '{"ok":2}' });
    const pack = fileURLToPath(parsePackedUri(first.uri)!.packUri);
    expect(await readFile(pack, 'utf8')).toBe('{"ok":true}{"ok":2}');
    await writeFile(pack, '{"ok":null}{"ok":2}');
    await expect(results.read(first)).rejects.toThrow(/results\.pack#range=0,11 is 11 bytes with sha256 [0-9a-f]{64}, the server recorded 11 bytes with sha256 [0-9a-f]{64}/);
    expect(await results.read(second)).toBe('{"ok":2}');
  });

  it('appends to one pack file per run attempt, also after the pack was closed and reopened', async () => {
    const dir = await tempDir('fluxo-results-');
    const results = new ResultStorage(pathToFileURL(dir).href, async () => 'rj-smtr');
    const a = await results.store({ flowRunId: 'run-1', attempt: 1, taskKey: 'a#1', json: '"a"' });
    await results.close();
    const b = await results.store({ flowRunId: 'run-1', attempt: 1, taskKey: 'b#1', json: '"bb"' });
    const other = await results.store({ flowRunId: 'run-1', attempt: 2, taskKey: 'a#1', json: '"c"' });
    expect(parsePackedUri(b.uri)).toMatchObject({ packUri: parsePackedUri(a.uri)!.packUri, offset: 3, length: 4 });
    expect(parsePackedUri(other.uri)!.packUri).not.toBe(parsePackedUri(a.uri)!.packUri);
    expect(await readdir(`${dir}/rj-smtr/run-1/1`)).toEqual(['results.pack']);
    // Another agent process of the same storage (a restarted agent) reads them.
    const restarted = new ResultStorage(pathToFileURL(dir).href, async () => 'rj-smtr');
    expect(await Promise.all([a, b, other].map((pointer) => restarted.read(pointer)))).toEqual(['"a"', '"bb"', '"c"']);
    await results.close();
  });

  it('gives distinct task keys distinct objects', () => {
    const keys = ['a#1', 'a_1', 'a-1', 'a.1', 'a/1', '..', 'ção#1'];
    const segments = keys.map(safeSegment);
    expect(new Set(segments).size).toBe(keys.length);
    for (const segment of segments) expect(segment).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(segments).not.toContain('..');
  });
});

describe('--result-storage', () => {
  const base = { apiUrl: 'http://127.0.0.1:4000/graphql', token: 't' };
  it('defaults to <work dir>/results and takes file:/// and gs:// URIs', () => {
    expect(resolveAgentConfig({ ...base, workDir: '/srv/fluxo' }).resultStorage).toBe('file:///srv/fluxo/results');
    expect(resolveAgentConfig({ ...base, resultStorage: 'gs://agency-results/fluxo' }).resultStorage).toBe('gs://agency-results/fluxo');
    expect(resolveAgentConfig({ ...base, resultStorage: 'file:///var/lib/fluxo/results' }).resultStorage).toBe('file:///var/lib/fluxo/results');
  });

  it('refuses anything else, naming the setting', () => {
    for (const bad of ['results', 'http://example.com/results', 'gs://', 'file:///']) {
      expect(() => resolveAgentConfig({ ...base, resultStorage: bad })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', details: { setting: 'resultStorage' } }));
    }
  });
});
