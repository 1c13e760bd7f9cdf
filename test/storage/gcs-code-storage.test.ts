// What only gs:// code storage does, against a real fake-gcs-server: generation pinning, the
// create-only precondition, metadata size checks before a download, CRC32C, coded errors, and the
// agent's bundle cache reaching it through codeStorageFor and STORAGE_EMULATOR_HOST.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BundleCache, BundleUnavailableError, IntegrityError, NOT_THE_REGISTERED_CODE } from '../../agent/bundle-cache.js';
import { codeStorageFor } from '../../storage/code-storage.js';
import { GcsCodeStorage } from '../../storage/gcs-code-storage.js';
import { createGcsClient, loadGcsModule } from '../../storage/gcs-client.js';
import { useFakeGcs } from '../support/fake-gcs.js';
import { freePort, onCleanup, tempDir } from '../support/harness.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const bundle = new TextEncoder().encode('export const flow = () => "registered";\n');
const key = `bundles/${sha256(bundle)}.mjs`;
const ref = { sha256: sha256(bundle), size: bundle.byteLength };

const gcs = useFakeGcs();

/** A fresh bucket with code storage at `gs://<bucket>/code`. */
async function setup() {
  const bucket = await gcs().createBucket();
  const storage = new GcsCodeStorage(`gs://${bucket}/code`, { apiEndpoint: gcs().endpoint });
  return { bucket, storage, object: gcs().storage.bucket(bucket).file(`code/${key}`) };
}

/** Points the default client at the emulator the way an operator would, for this test only. */
function useEmulatorEnv(value = gcs().endpoint): void {
  const before = process.env.STORAGE_EMULATOR_HOST;
  process.env.STORAGE_EMULATOR_HOST = value;
  onCleanup(() => {
    if (before === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = before;
  });
}

async function bundleCache() {
  const cacheDir = join(await tempDir('fluxo-cache-'), 'bundles');
  return { cacheDir, cache: new BundleCache({ cacheDir, maxBytes: 1024 * 1024 }) };
}

const cached = async (cacheDir: string): Promise<string[]> => readdir(cacheDir).catch(() => []);

describe('opening gs:// storage', () => {
  it('codeStorageFor opens a bucket and prefix, without a trailing slash', () => {
    const storage = codeStorageFor('gs://fluxo-code/rj-escritorio/');

    expect(storage).toBeInstanceOf(GcsCodeStorage);
    expect(storage.baseUri).toBe('gs://fluxo-code/rj-escritorio');
  });

  it.each([
    ['no bucket', 'gs://', /is not a Cloud Storage bucket name/],
    ['an invalid bucket name', 'gs://Fluxo_Code', /is not a Cloud Storage bucket name/],
    ['a generation', 'gs://fluxo-code/prefix#1712345678901234', /names an object generation/],
    ['a ".." segment', 'gs://fluxo-code/a/../b', /without empty, '.' or '..' segments/],
    ['a query', 'gs://fluxo-code/prefix?userProject=x', /is not a gs:\/\/ URI/],
  ])('refuses a base URI with %s (BAD_USER_INPUT)', (_case, uri, message) => {
    expect(() => codeStorageFor(uri)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) }));
  });
});

describe('put', () => {
  it('returns a URI that pins the generation it created', async () => {
    const { bucket, storage, object } = await setup();

    const { uri, created } = await storage.put(key, bundle);

    const [metadata] = await object.getMetadata();
    expect(created).toBe(true);
    expect(uri).toBe(`gs://${bucket}/code/${key}#${metadata.generation}`);
    expect(metadata).toMatchObject({ size: String(bundle.byteLength), contentType: 'text/javascript' });
  });

  it('refuses (VERSION_CONFLICT) to adopt an existing object with other content, and leaves it alone', async () => {
    const { storage, object } = await setup();
    await object.save(Buffer.from('export const other = 1;\n'), { resumable: false });
    const [before] = await object.getMetadata();

    await expect(storage.put(key, bundle)).rejects.toMatchObject({ code: 'VERSION_CONFLICT', message: expect.stringMatching(/already exists with different content/) });
    const [after] = await object.getMetadata();
    expect(after.generation).toBe(before.generation);
  });

  it('answers NOT_FOUND when the bucket does not exist', async () => {
    const storage = new GcsCodeStorage('gs://fluxo-no-such-bucket/code', { apiEndpoint: gcs().endpoint });

    await expect(storage.put(key, bundle)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('cannot upload gs://fluxo-no-such-bucket/code/') });
  });
});

describe('get, pinned to the registered generation', () => {
  it('refuses an object replaced after registration (VERSION_CONFLICT), naming both generations', async () => {
    const { storage, object } = await setup();
    const { uri } = await storage.put(key, bundle);
    await object.save(Buffer.from('export const flow = () => "replaced";\n'), { resumable: false });

    await expect(storage.get(uri, { maxBytes: 1024 })).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
      message: expect.stringMatching(/was replaced: object "code\/bundles\/[0-9a-f]{64}\.mjs" now has generation \d+, not the registered \d+/),
    });
  });

  it('answers NOT_FOUND when the registered object was deleted', async () => {
    const { storage, object } = await setup();
    const { uri } = await storage.put(key, bundle);
    await object.delete();

    await expect(storage.get(uri, { maxBytes: 1024 })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(`bundle ${uri} not found`) });
  });

  it('reads a URI without a generation (registered by hand) at the live generation', async () => {
    const { storage } = await setup();
    const { uri } = await storage.put(key, bundle);

    const read = await storage.get(uri.replace(/#\d+$/, ''), { maxBytes: 1024 });

    expect(new Uint8Array(read)).toEqual(bundle);
  });

  /** Code storage over a client of its own that records every JSON API request it sends. */
  async function recordingStorage(bucket: string) {
    const client = await createGcsClient({ apiEndpoint: gcs().endpoint });
    const requests: { uri: string; media: boolean; generation: string | undefined }[] = [];
    // The client's request options are typed loosely (teeny-request's Options); read three fields.
    const record = (options: { uri?: unknown; qs?: { alt?: string; generation?: unknown } }) => {
      const generation = options.qs?.generation;
      requests.push({ uri: String(options.uri), media: options.qs?.alt === 'media', generation: generation === undefined ? undefined : String(generation) });
      return options;
    };
    client.interceptors.push({ request: record as unknown as (typeof client.interceptors)[number]['request'] });
    return { storage: new GcsCodeStorage(`gs://${bucket}/code`, { storage: client }), requests };
  }

  it('refuses an object over maxBytes from its metadata, without requesting its bytes', async () => {
    const { bucket } = await setup();
    const { storage, requests } = await recordingStorage(bucket);
    const big = new Uint8Array(64 * 1024);
    const { uri } = await storage.put(`bundles/${sha256(big)}.mjs`, big);
    requests.length = 0;

    await expect(storage.get(uri, { maxBytes: 1024 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('is 65536 bytes, over the 1024-byte limit') });
    expect(requests).toEqual([{ uri: expect.stringContaining(`/o/code%2Fbundles%2F${sha256(big)}.mjs`), media: false, generation: uri.split('#')[1] }]);
  });

  it.each([
    ['a pinned URI', (uri: string) => uri],
    ['an unpinned URI, at the generation its metadata named', (uri: string) => uri.replace(/#\d+$/, '')],
  ])('asks for one generation in both the metadata and the download requests (%s)', async (_case, form) => {
    const { bucket } = await setup();
    const { storage, requests } = await recordingStorage(bucket);
    const { uri } = await storage.put(key, bundle);
    const generation = uri.split('#')[1];
    requests.length = 0;

    await storage.get(form(uri), { maxBytes: 1024 });

    expect(requests.map(({ media, generation }) => ({ media, generation }))).toEqual([
      { media: false, generation: form(uri) === uri ? generation : undefined },
      { media: true, generation },
    ]);
  });

  it('refuses a URI of another bucket (BAD_USER_INPUT)', async () => {
    const { storage } = await setup();

    await expect(storage.get('gs://another-bucket/code/x.mjs#1', { maxBytes: 1024 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('not in this code storage\'s bucket') });
  });

  it('answers SERVICE_UNAVAILABLE when Cloud Storage cannot be reached', async () => {
    const { Storage } = await loadGcsModule();
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const client = new Storage({ apiEndpoint: endpoint, retryOptions: { autoRetry: false } });
    client.baseUrl = `${endpoint}/storage/v1`;
    const storage = new GcsCodeStorage('gs://fluxo-code/code', { storage: client });

    await expect(storage.get('gs://fluxo-code/code/x.mjs#1', { maxBytes: 1024 })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') });
  });
});

describe('CRC32C', () => {
  /**
   * A real HTTP proxy in front of the emulator that flips the last byte of every media download and
   * drops the download's response headers matching `strip` (the client's own check needs
   * x-goog-hash and x-goog-stored-content-encoding).
   */
  async function corruptingProxy(strip: RegExp | undefined): Promise<string> {
    const server = createServer((request, response) => {
      void forward(request).then(
        ({ status, headers, body }) => {
          const media = new URL(request.url ?? '/', gcs().endpoint).searchParams.get('alt') === 'media';
          if (media && body.length > 0) body[body.length - 1] = body[body.length - 1]! ^ 0x01;
          const kept: Record<string, string> = {};
          headers.forEach((value, name) => {
            if (['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) return;
            if (media && strip?.test(name)) return;
            kept[name] = value;
          });
          response.writeHead(status, kept).end(body);
        },
        (error: Error) => response.writeHead(502).end(error.message),
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onCleanup(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('proxy has no address');
    return `http://127.0.0.1:${address.port}`;
  }

  async function forward(request: IncomingMessage): Promise<{ status: number; headers: Headers; body: Buffer }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (['host', 'connection', 'content-length', 'accept-encoding'].includes(name) || value === undefined) continue;
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const method = request.method ?? 'GET';
    const upstream = await fetch(`${gcs().endpoint}${request.url ?? '/'}`, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : Buffer.concat(chunks) });
    return { status: upstream.status, headers: upstream.headers, body: Buffer.from(await upstream.arrayBuffer()) };
  }

  it.each([
    ['checked by the client against x-goog-hash', undefined, 'failed its CRC32C check while downloading'],
    ['the client fails closed when a proxy drops x-goog-hash', /^x-goog-hash$/, 'failed its CRC32C check while downloading'],
    ['checked against the metadata when a proxy drops every x-goog-* header', /^x-goog-/, 'failed its CRC32C check: received'],
  ])('refuses bytes corrupted in transit (%s): VERSION_CONFLICT, an integrity failure for the agent', async (_case, strip, message) => {
    const { bucket, storage } = await setup();
    const { uri } = await storage.put(key, bundle);
    const throughProxy = new GcsCodeStorage(`gs://${bucket}/code`, { apiEndpoint: await corruptingProxy(strip) });
    const cacheDir = join(await tempDir('fluxo-cache-'), 'bundles');

    await expect(throughProxy.get(uri, { maxBytes: 1024 })).rejects.toMatchObject({ code: 'VERSION_CONFLICT', message: expect.stringContaining(message) });
    const attempt = new BundleCache({ cacheDir, maxBytes: 1024 * 1024, storageFor: () => throughProxy }).fetch({ storageUri: uri, ...ref });
    await expect(attempt).rejects.toBeInstanceOf(IntegrityError);
    await expect(attempt).rejects.toMatchObject({ reason: 'integrity', message: expect.stringContaining('CRC32C') });
    expect(await cached(cacheDir)).toEqual([]);
  });
});

describe("the agent's bundle cache with a gs:// URI (codeStorageFor, STORAGE_EMULATOR_HOST)", () => {
  it.each([
    ['http://127.0.0.1:<port>', (endpoint: string) => endpoint],
    ['127.0.0.1:<port>', (endpoint: string) => endpoint.replace('http://', '')],
    ['http://127.0.0.1:<port>/storage/v1/', (endpoint: string) => `${endpoint}/storage/v1/`],
  ])('fetches and verifies a registered bundle with STORAGE_EMULATOR_HOST=%s', async (_case, form) => {
    const { storage } = await setup();
    const { uri } = await storage.put(key, bundle);
    useEmulatorEnv(form(gcs().endpoint));
    const { cache, cacheDir } = await bundleCache();

    const path = await cache.fetch({ storageUri: uri, ...ref });

    expect(path).toMatch(new RegExp(`^${cacheDir}/${ref.sha256}-[0-9a-f]{16}\\.mjs$`));
  });

  it('fails a replaced object with reason integrity and caches nothing', async () => {
    const { storage, object } = await setup();
    const { uri } = await storage.put(key, bundle);
    await object.save(Buffer.from('export const flow = () => "evil";\n'), { resumable: false });
    useEmulatorEnv();
    const { cache, cacheDir } = await bundleCache();

    const attempt = cache.fetch({ storageUri: uri, ...ref });

    await expect(attempt).rejects.toBeInstanceOf(IntegrityError);
    await expect(attempt).rejects.toMatchObject({ reason: 'integrity', message: expect.stringContaining('was replaced') });
    expect(await cached(cacheDir)).toEqual([]);
  });

  it.each([
    ['truncated', bundle.subarray(0, 10)],
    ['altered', Uint8Array.from(bundle, (byte, i) => (i === 0 ? byte ^ 0x20 : byte))],
  ])('fails a %s object (uploaded under the registered key) with reason integrity, telling no size or digest', async (_case, stored) => {
    const { storage } = await setup();
    const { uri } = await storage.put(key, stored);
    useEmulatorEnv();
    const { cache, cacheDir } = await bundleCache();

    const attempt = cache.fetch({ storageUri: uri, ...ref });

    await expect(attempt).rejects.toBeInstanceOf(IntegrityError);
    await expect(attempt).rejects.toMatchObject({ reason: 'integrity', message: NOT_THE_REGISTERED_CODE });
    expect(await cached(cacheDir)).toEqual([]);
  });

  it('reports a deleted object as unavailable (load-error), not as an integrity failure', async () => {
    const { storage, object } = await setup();
    const { uri } = await storage.put(key, bundle);
    await object.delete();
    useEmulatorEnv();
    const { cache } = await bundleCache();

    const attempt = cache.fetch({ storageUri: uri, ...ref });

    await expect(attempt).rejects.toBeInstanceOf(BundleUnavailableError);
    await expect(attempt).rejects.toMatchObject({ reason: 'load-error', message: expect.stringContaining('not found') });
  });
});
