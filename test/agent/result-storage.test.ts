// The agent's result storage on every backend (a local directory, and Cloud Storage against a
// real fake-gcs-server): results are stored create-only under tenant, run, attempt and task key,
// and read back only when the bytes are the recorded ones and the object is the agent's own.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ResultStorage, StoredResultRejected, safeSegment } from '../../agent/result-storage.js';
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
  it('stores a result under tenant/run/attempt/key and reads it back verified', async () => {
    let asked = 0;
    const results = new ResultStorage(await open(), async () => (asked++, 'rj-smtr'));
    const json = '{"rows":[1,2,3],"city":"Rio de Janeiro ✓"}';
    const pointer = await results.store({ flowRunId: 'run-1', attempt: 2, taskKey: 'extract#1', json });
    expect(pointer.uri).toContain('/rj-smtr/run-1/2/extract_231.json');
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
    await expect(results.read({ ...pointer, uri: pointer.uri.replace('a_231.json', 'b_231.json') })).rejects.toBeInstanceOf(StoredResultRejected);
    const elsewhere = new ResultStorage(await open(), async () => 'rj-smtr');
    await expect(elsewhere.read(pointer)).rejects.toThrow(/not in this agent's result storage/);
  });
});

describe('result storage on file://', () => {
  it('never returns bytes changed after they were stored', async () => {
    const results = new ResultStorage(pathToFileURL(await tempDir('fluxo-results-')).href, async () => 'rj-smtr');
    const pointer = await results.store({ flowRunId: 'run-1', attempt: 1, taskKey: 'a#1', json: '{"ok":true}' });
    await writeFile(fileURLToPath(pointer.uri), '{"ok":null}');
    await expect(results.read(pointer)).rejects.toThrow(/sha256/);
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
