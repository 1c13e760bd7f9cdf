// Fetching and verifying bundles against a real local code storage directory.
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BundleCache, BundleUnavailableError, IntegrityError, type BundleRef } from '../../agent/bundle-cache.js';
import { codeStorageFor } from '../../storage/code-storage.js';
import { tempDir } from '../support/harness.js';
import { pathToFileURL } from 'node:url';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function setup(maxBytes = 1024 * 1024) {
  const storageDir = await tempDir('fluxo-storage-');
  const cacheDir = join(await tempDir('fluxo-cache-'), 'bundles');
  const storage = codeStorageFor(pathToFileURL(storageDir).href);
  const bytes = new TextEncoder().encode('export const answer = 42;\n');
  const { uri } = await storage.put(`bundles/${sha256(bytes)}.mjs`, bytes);
  const ref: BundleRef = { storageUri: uri, sha256: sha256(bytes), size: bytes.byteLength };
  return { storageDir, cacheDir, bytes, ref, uri, cache: new BundleCache({ cacheDir, maxBytes }) };
}

const cached = async (cacheDir: string): Promise<string[]> => readdir(cacheDir).catch(() => []);

describe('verifying a bundle', () => {
  it('returns a local copy of the bytes when size and sha256 match', async () => {
    const { cache, ref, bytes, cacheDir } = await setup();

    const path = await cache.fetch(ref);

    expect(path).toBe(join(cacheDir, `${ref.sha256}.mjs`));
    expect(new Uint8Array(await readFile(path))).toEqual(bytes);
  });

  it('refuses a bundle with one flipped byte, and caches nothing', async () => {
    const { cache, ref, bytes, uri, cacheDir } = await setup();
    const tampered = Uint8Array.from(bytes);
    tampered[7] = tampered[7]! ^ 0x01;
    await writeFile(new URL(uri), tampered);

    const attempt = cache.fetch(ref);

    await expect(attempt).rejects.toBeInstanceOf(IntegrityError);
    await expect(attempt).rejects.toMatchObject({ reason: 'integrity', message: expect.stringContaining(`registered as ${ref.sha256}`) });
    expect(await cached(cacheDir)).toEqual([]);
  });

  it.each([
    ['shorter', (bytes: Uint8Array) => bytes.subarray(0, bytes.byteLength - 1), /is 25 bytes, registered as 26/],
    ['one byte longer', (bytes: Uint8Array) => Uint8Array.from([...bytes, 0x0a]), /is 27 bytes, registered as 26/],
    ['much longer', (bytes: Uint8Array) => Uint8Array.from([...bytes, ...bytes, ...bytes]), /larger than its registered 26 bytes/],
  ])('refuses a bundle %s than registered, and caches nothing', async (_case, change, message) => {
    const { cache, ref, bytes, uri, cacheDir } = await setup();
    await writeFile(new URL(uri), change(bytes));

    await expect(cache.fetch(ref)).rejects.toMatchObject({ name: 'IntegrityError', reason: 'integrity', message: expect.stringMatching(message) });
    expect(await cached(cacheDir)).toEqual([]);
  });

  it.each([
    ['a digest that is not 64 hex digits', { sha256: '../../etc/passwd' }, /is not 64 lowercase hex digits/],
    ['a negative size', { size: -1 }, /is not a byte count/],
  ])('refuses a registration with %s before touching storage', async (_case, change, message) => {
    const { cache, ref, cacheDir } = await setup();

    await expect(cache.fetch({ ...ref, ...change })).rejects.toMatchObject({ name: 'IntegrityError', message: expect.stringMatching(message) });
    expect(await cached(cacheDir)).toEqual([]);
  });

  it.each([
    ['a missing object', async (s: Awaited<ReturnType<typeof setup>>) => ({ ...s.ref, storageUri: `${s.uri}.missing` }), /cannot fetch bundle/],
    ['an unsupported scheme', async (s: Awaited<ReturnType<typeof setup>>) => ({ ...s.ref, storageUri: 's3://bucket/x.mjs' }), /not supported/],
    ['a bundle over the agent limit', async (s: Awaited<ReturnType<typeof setup>>) => ({ ...s.ref, size: 2 * 1024 * 1024 }), /over this agent's 1048576-byte limit/],
  ])('reports %s as unavailable (load-error), not as an integrity failure', async (_case, refFor, message) => {
    const context = await setup();

    const attempt = context.cache.fetch(await refFor(context));

    await expect(attempt).rejects.toBeInstanceOf(BundleUnavailableError);
    await expect(attempt).rejects.toMatchObject({ reason: 'load-error', message: expect.stringMatching(message) });
  });
});

describe('caching by digest', () => {
  it('serves a verified bundle from the cache without reading storage again', async () => {
    const { cache, ref, uri, bytes } = await setup();
    const first = await cache.fetch(ref);
    await rm(new URL(uri));

    const second = await cache.fetch(ref);

    expect(second).toBe(first);
    expect(new Uint8Array(await readFile(second))).toEqual(bytes);
  });

  it('reuses a verified copy left by an earlier agent process (a new cache over the same directory)', async () => {
    const { ref, uri, cacheDir } = await setup();
    await new BundleCache({ cacheDir, maxBytes: 1024 }).fetch(ref);
    await rm(new URL(uri));

    await expect(new BundleCache({ cacheDir, maxBytes: 1024 }).fetch(ref)).resolves.toBe(join(cacheDir, `${ref.sha256}.mjs`));
  });

  it('downloads again when the cached copy was altered on disk', async () => {
    const { cache, ref, bytes } = await setup();
    const path = await cache.fetch(ref);
    await writeFile(path, 'export const answer = 666;\n');

    const again = await cache.fetch(ref);

    expect(new Uint8Array(await readFile(again))).toEqual(bytes);
  });

  it('downloads a digest once when several runs ask for it at the same time', async () => {
    const { ref, cacheDir } = await setup();
    let reads = 0;
    const storage = codeStorageFor('file:///');
    const cache = new BundleCache({
      cacheDir,
      maxBytes: 1024,
      storageFor: () => ({ ...storage, get: (uri, options) => (reads++, storage.get(uri, options)) }),
    });

    const paths = await Promise.all([cache.fetch(ref), cache.fetch(ref), cache.fetch(ref)]);

    expect(new Set(paths).size).toBe(1);
    expect(reads).toBe(1);
    expect(await cached(cacheDir)).toEqual([`${ref.sha256}.mjs`]);
  });
});
