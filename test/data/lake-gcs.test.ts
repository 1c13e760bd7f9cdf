// The lake in a Cloud Storage bucket, with the real client against fake-gcs-server: the shared
// suite, plus what only GCS has: generation preconditions against other writers, checksums of
// what arrived, writer metadata, resumable uploads.
import { createServer, request } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../data/contract.js';
import { checksumMismatch, createStorage, fileChecksums, GcsLakeStore, type GcsLakeStoreOptions } from '../../data/lake/gcs-store.js';
import { openLake } from '../../data/lake/open-lake.js';
import { useFakeGcs } from '../support/fake-gcs.js';
import { onCleanup, tempDir } from '../support/harness.js';
import { DS, TABLE, lakeContractSuite, lakeOf, pibRows, readTable, runContext, wrapStore, type LakeUnderTest } from './lake-suite.js';

const gcs = useFakeGcs();
const PREFIX = 'lake';

async function gcsLake(options: GcsLakeStoreOptions & { endpoint?: string } = {}): Promise<LakeUnderTest & { bucket: string; store: GcsLakeStore }> {
  const bucket = await gcs().createBucket();
  const store = new GcsLakeStore(bucket, PREFIX, { storageEndpoint: options.endpoint ?? gcs().endpoint }, options);
  return {
    bucket,
    store,
    lake: lakeOf(store),
    async keys(datasetId = DS, tableId = TABLE) {
      const prefix = `staging/${datasetId}/${tableId}/`;
      return (await store.list(prefix)).map((o) => o.key.slice(prefix.length));
    },
    // The table as a reader would fetch it: every object under the lake's staging/, downloaded.
    async local(work) {
      const dir = await tempDir('fluxo-lake-gcs-');
      const [files] = await gcs().storage.bucket(bucket).getFiles({ prefix: `${PREFIX}/staging/` });
      for (const file of files) {
        const path = join(dir, file.name.slice(PREFIX.length + 1));
        await mkdir(dirname(path), { recursive: true });
        await file.download({ destination: path });
      }
      return work(dir);
    },
  };
}

/** An HTTP hop to the emulator that flips one byte of every Parquet file uploaded through it. */
async function corruptingProxy(target: string): Promise<string> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const magic = body.indexOf('PAR1');
      if (req.method === 'POST' && req.url?.includes('/upload/') && magic >= 0) body[magic + 8] = body[magic + 8]! ^ 0xff;
      const forwarded = request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forwarded.on('error', () => req.socket.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

describe('gs:// lake (fake-gcs-server)', () => {
  lakeContractSuite(gcsLake);

  it('openLake takes gs://bucket/prefix; objects record their writer and match the local checksums', async () => {
    const bucket = await gcs().createBucket();
    const lake = openLake(`gs://${bucket}/${PREFIX}/`, { storageEndpoint: gcs().endpoint });
    expect(lake.root).toBe(`gs://${bucket}/${PREFIX}`);
    const result = await lake.write(runContext('run-1', 2).run, DS, TABLE, { rows: pibRows([2010]) }, { partitionColumns: ['sigla_uf'] });
    expect(result.files).toEqual(['RJ', 'SP'].map((uf) => `gs://${bucket}/${PREFIX}/staging/${DS}/${TABLE}/sigla_uf=${uf}/run-1_w1_a2_0.parquet`));
    const [metadata] = await gcs().storage.bucket(bucket).file(`${PREFIX}/staging/${DS}/${TABLE}/sigla_uf=RJ/run-1_w1_a2_0.parquet`).getMetadata();
    expect(metadata.metadata).toEqual({ 'fluxo-owner': 'run-1/w1/a2' });
    expect(metadata.crc32c).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    expect(metadata.md5Hash).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(await lake.columns(DS, TABLE)).toEqual({ dataColumns: ['ano', 'id_municipio', 'pib'], partitionKeys: ['sigla_uf'], format: 'parquet' });

    // A lake at the bucket's root: its tables sit beside the prefixed lake's, never inside them.
    const rootLake = openLake(`gs://${bucket}`, { storageEndpoint: gcs().endpoint });
    const atRoot = await rootLake.write(runContext('run-2').run, DS, TABLE, { rows: pibRows([2011]) }, {});
    expect(atRoot.files).toEqual([`gs://${bucket}/staging/${DS}/${TABLE}/run-2_w1_a1_0.parquet`]);
    expect(await rootLake.partitions(DS, TABLE)).toEqual([]);
    expect(await lake.partitions(DS, TABLE)).toEqual(['sigla_uf=RJ', 'sigla_uf=SP']);
  });

  it('refuses to replace a foreign object that sits under one of its names, and leaves it as it was', async () => {
    const t = await gcsLake();
    const name = `${PREFIX}/staging/${DS}/${TABLE}/run-a_w1_a1_0.parquet`;
    const foreign = gcs().storage.bucket(t.bucket).file(name);
    await foreign.save('not ours', { resumable: false });
    const [before] = await foreign.getMetadata();
    await expect(t.lake.write(runContext('run-a').run, DS, TABLE, { rows: pibRows([2010]) }, {})).rejects.toMatchObject({
      name: 'DataError',
      code: 'DATA_BACKEND_ERROR',
      message: expect.stringContaining('was not written by this output (it records no fluxo writer); refusing to replace it'),
    });
    const [after] = await foreign.getMetadata();
    expect(after.generation).toBe(before.generation);
    expect((await foreign.download())[0].toString()).toBe('not ours');
  });

  it('a concurrent writer’s object created after the listing fails the create-only precondition and is not overwritten', async () => {
    const t = await gcsLake();
    const name = `${PREFIX}/staging/${DS}/${TABLE}/run-a_w1_a1_0.parquet`;
    // The other writer lands its object between this write's listing and its upload.
    const racing = lakeOf(
      wrapStore(t.store, {
        put: async (path, key, options) => {
          await gcs().storage.bucket(t.bucket).file(name).save('the other writer', { resumable: false });
          return t.store.put(path, key, options);
        },
      }),
    );
    await expect(racing.write(runContext('run-a').run, DS, TABLE, { rows: pibRows([2010]) }, {})).rejects.toMatchObject({
      code: 'DATA_BACKEND_ERROR',
      message: expect.stringContaining('was created by another writer after this write listed the table (precondition ifGenerationMatch=0 failed)'),
    });
    expect((await gcs().storage.bucket(t.bucket).file(name).download())[0].toString()).toBe('the other writer');
  });

  it('a retry of the same attempt replaces its own object only at the generation it listed', async () => {
    const t = await gcsLake();
    await t.lake.write(runContext('run-a').run, DS, TABLE, { rows: pibRows([2010]) }, {});
    const [listed] = await t.store.list(`staging/${DS}/${TABLE}/`);
    const file = gcs().storage.bucket(t.bucket).file(`${PREFIX}/${listed!.key}`);
    // Someone replaces it after the retry listed it.
    await file.save('replaced meanwhile', { resumable: false, metadata: { metadata: { 'fluxo-owner': 'run-a/w1/a1' } } });
    const local = join(await tempDir(), 'x.parquet');
    await writeFile(local, 'PAR1 retry bytes');
    await expect(t.store.put(local, listed!.key, { replaces: listed, owner: 'run-a/w1/a1' })).rejects.toMatchObject({
      code: 'DATA_BACKEND_ERROR',
      message: expect.stringContaining(`was replaced by another writer after this write listed it at generation ${listed!.generation} (precondition failed)`),
    });
    expect((await file.download())[0].toString()).toBe('replaced meanwhile');
    // The write itself, retried now, lists the new generation and replaces it.
    await t.lake.write(runContext('run-a').run, DS, TABLE, { rows: pibRows([2010]) }, {});
    expect(await t.local((dir) => readTable(dir))).toHaveLength(6);
  });

  it('deletes stale objects naming the generation it listed', async () => {
    const storage = await createStorage({ storageEndpoint: gcs().endpoint });
    const deletes: { uri: string; ifGenerationMatch: unknown }[] = [];
    storage.interceptors.push({
      request: (options) => {
        const sent = options as typeof options & { uri?: string };
        if (sent.method === 'DELETE') deletes.push({ uri: String(sent.uri), ifGenerationMatch: (sent.qs as Record<string, unknown> | undefined)?.ifGenerationMatch });
        return options as never;
      },
    });
    const t = await gcsLake({ storage });
    await t.lake.write(runContext('run-a', 1).run, DS, TABLE, { rows: pibRows([2010]) }, { partitionColumns: ['sigla_uf'] });
    const listed = await t.store.list(`staging/${DS}/${TABLE}/`);
    const result = await t.lake.write(runContext('run-a', 2).run, DS, TABLE, { rows: pibRows([2010]) }, { partitionColumns: ['sigla_uf'] });
    expect(result.deleted).toBe(2);
    // fake-gcs-server ignores ifGenerationMatch on DELETE, so what the request carries is asserted.
    expect(deletes).toEqual(
      listed.map((object) => ({ uri: expect.stringContaining(encodeURIComponent(`${PREFIX}/${object.key}`)), ifGenerationMatch: Number(object.generation) })),
    );
  });

  it('bytes corrupted on the way up fail the checksum and leave no object behind', async () => {
    const proxy = await corruptingProxy(gcs().endpoint);
    const t = await gcsLake({ endpoint: proxy });
    const failure = await t.lake.write(runContext('run-a').run, DS, TABLE, { rows: pibRows([2010]) }, {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DataError);
    expect(failure).toMatchObject({ code: 'DATA_BACKEND_ERROR', message: expect.stringMatching(/checksum|does not match the local file/) });
    expect(await gcs().storage.bucket(t.bucket).getFiles({ prefix: `${PREFIX}/` }).then(([files]) => files.map((f) => f.name))).toEqual([]);
  });

  it('uploads large files resumably under the same preconditions', async () => {
    const t = await gcsLake({ resumableAbove: 0 });
    await t.lake.write(runContext('run-a', 1).run, DS, TABLE, { rows: pibRows([2010, 2011]) }, { datePartition: { column: 'ano' } });
    await t.lake.write(runContext('run-a', 1).run, DS, TABLE, { rows: pibRows([2010, 2011]) }, { datePartition: { column: 'ano' } });
    expect(await t.local((dir) => readTable(dir))).toHaveLength(12);
  });

  it.each([
    ['both agree', { md5Hash: 'm', crc32c: 'c' }, null],
    ['only crc32c reported (composite object)', { crc32c: 'c' }, null],
    ['crc32c differs', { md5Hash: 'm', crc32c: 'x' }, 'crc32c x, local c'],
    ['md5 differs', { md5Hash: 'y', crc32c: 'c' }, 'md5 y, local m'],
    ['neither reported', {}, 'the object reports neither MD5 nor CRC32C'],
  ])('compares stored checksums with the local file’s: %s', (_what, stored, expected) => {
    expect(checksumMismatch({ md5Hash: 'm', crc32c: 'c' }, stored)).toBe(expected);
  });

  it('computes the local checksums Cloud Storage reports', async () => {
    const path = join(await tempDir(), 'hello.txt');
    await writeFile(path, 'hello world');
    expect(await fileChecksums(path)).toEqual({ md5Hash: 'XrY7u+Ae7tCTyyK7j1rNww==', crc32c: 'yZRlqg==' });
  });
});
