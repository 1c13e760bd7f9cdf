// One behavioural suite, every code storage: the local directory (file://) and Cloud Storage (gs://,
// against a real fake-gcs-server). What the CLI and the agent rely on holds for both.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StorageRoots } from '../../storage/storage-location.js';
import { BundleCache, IntegrityError, NOT_THE_REGISTERED_CODE } from '../../agent/bundle-cache.js';
import { codeStorageFor, isLocationRefusal, type CodeStorage } from '../../storage/code-storage.js';
import { GcsCodeStorage } from '../../storage/gcs-code-storage.js';
import { useFakeGcs } from '../support/fake-gcs.js';
import { tempDir } from '../support/harness.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const text = (value: string): Uint8Array => new TextEncoder().encode(value);

interface Opened {
  storage: CodeStorage;
  /** The URI a missing object would have. */
  missingUri: string;
  /** A well-formed URI of the other scheme. */
  foreignUri: string;
}

const gcs = useFakeGcs();

const adapters: { name: string; open: () => Promise<Opened> }[] = [
  {
    name: 'file:// (local directory)',
    async open() {
      const storage = codeStorageFor(pathToFileURL(await tempDir('fluxo-storage-')).href);
      return { storage, missingUri: `${storage.baseUri}/bundles/missing.mjs`, foreignUri: 'gs://fluxo-code/bundles/x.mjs#1' };
    },
  },
  {
    name: 'gs:// (fake-gcs-server)',
    async open() {
      const bucket = await gcs().createBucket();
      const storage = new GcsCodeStorage(`gs://${bucket}/code`, { apiEndpoint: gcs().endpoint });
      return { storage, missingUri: `gs://${bucket}/code/bundles/missing.mjs#1712345678901234`, foreignUri: 'file:///tmp/bundles/x.mjs' };
    },
  },
];

describe.each(adapters)('$name code storage', ({ open }) => {
  describe('put and get', () => {
    it.each([
      ['a small module', text('export const answer = 42;\n')],
      ['256 KiB of binary', new Uint8Array(randomBytes(256 * 1024))],
    ])('returns exactly the bytes it stored (%s)', async (_case, bytes) => {
      const { storage } = await open();

      const { uri, created } = await storage.put(`bundles/${sha256(bytes)}.mjs`, bytes);

      expect(created).toBe(true);
      expect(uri.startsWith(storage.baseUri)).toBe(true);
      const read = await storage.get(uri, { maxBytes: bytes.byteLength });
      // Digests rather than toEqual: a deep diff of 256 KiB takes the better part of a second.
      expect({ size: read.byteLength, sha256: sha256(read) }).toEqual({ size: bytes.byteLength, sha256: sha256(bytes) });
    });

    it('stores a key once: a second put of the same bytes answers created false with the same URI', async () => {
      const { storage } = await open();
      const bytes = text('export default 1;\n');
      const key = `bundles/${sha256(bytes)}.mjs`;

      const first = await storage.put(key, bytes);
      const second = await storage.put(key, bytes);

      expect(first.created).toBe(true);
      expect(second).toEqual({ uri: first.uri, created: false });
    });

    it.each(['../escape.mjs', 'bundles/../../escape.mjs', 'with space.mjs', '', 'back\\slash.mjs'])('rejects the key %j with a TypeError', async (key) => {
      const { storage } = await open();

      await expect(storage.put(key, text('x'))).rejects.toThrow(TypeError);
    });
  });

  describe('refusals', () => {
    it('refuses an object over maxBytes with BAD_USER_INPUT "over the N-byte limit"', async () => {
      const { storage } = await open();
      const bytes = new Uint8Array(100);
      const { uri } = await storage.put(`bundles/${sha256(bytes)}.mjs`, bytes);

      await expect(storage.get(uri, { maxBytes: 99 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('is 100 bytes, over the 99-byte limit') });
    });

    it('answers NOT_FOUND for a missing object', async () => {
      const { storage, missingUri } = await open();

      await expect(storage.get(missingUri, { maxBytes: 1024 })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(missingUri) });
    });

    it('refuses a URI of another scheme with BAD_USER_INPUT', async () => {
      const { storage, foreignUri } = await open();

      await expect(storage.get(foreignUri, { maxBytes: 1024 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    });
  });

  describe("the agent's bundle cache over this storage", () => {
    const bundle = text('export const flow = () => "ran";\n');
    const ref = { sha256: sha256(bundle), size: bundle.byteLength };

    async function cacheOver(storage: CodeStorage) {
      const cacheDir = join(await tempDir('fluxo-cache-'), 'bundles');
      // Within its roots the cache says why it refuses a bundle (without roots, file:// failures all read alike).
      return { cacheDir, cache: new BundleCache({ cacheDir, maxBytes: 1024 * 1024, storageFor: () => storage, storageRoots: StorageRoots.parse([storage.baseUri]) }) };
    }

    it('fetches and verifies a stored bundle', async () => {
      const { storage } = await open();
      const { uri } = await storage.put(`bundles/${ref.sha256}.mjs`, bundle);
      const { cache } = await cacheOver(storage);

      const path = await cache.fetch({ storageUri: uri, ...ref });

      expect(new Uint8Array(await readFile(path))).toEqual(bundle);
    });

    it.each([
      ['truncated', bundle.subarray(0, bundle.byteLength - 5)],
      ['altered (one flipped byte)', Uint8Array.from(bundle, (byte, i) => (i === 7 ? byte ^ 0x01 : byte))],
      ['longer', Uint8Array.from([...bundle, ...bundle])],
    ])('rejects a %s object as an integrity failure telling no size or digest, and caches nothing', async (_case, stored) => {
      const { storage } = await open();
      // The registration recorded the real bundle's digest and size; the store holds other bytes.
      const { uri } = await storage.put(`bundles/${ref.sha256}.mjs`, stored);
      const { cache, cacheDir } = await cacheOver(storage);

      const attempt = cache.fetch({ storageUri: uri, ...ref });

      await expect(attempt).rejects.toBeInstanceOf(IntegrityError);
      await expect(attempt).rejects.toMatchObject({ reason: 'integrity', message: NOT_THE_REGISTERED_CODE });
      expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
    });
  });
});

describe('file:// storage reads regular files only', () => {
  it.each([
    ['a symbolic link', async (dir: string) => (await symlink('/etc/passwd', join(dir, 'link.mjs')), 'link.mjs')],
    ['a FIFO (never waits for a writer)', async (dir: string) => (execFileSync('mkfifo', [join(dir, 'fifo.mjs')]), 'fifo.mjs')],
    ['a directory', async (dir: string) => (await mkdir(join(dir, 'dir.mjs')), 'dir.mjs')],
  ])('refuses %s with FORBIDDEN, marked as a location refusal', async (_case, plant) => {
    const dir = await tempDir('fluxo-storage-');
    const name = await plant(dir);
    const uri = `${pathToFileURL(dir).href}/${name}`;

    const attempt = codeStorageFor(pathToFileURL(dir).href).get(uri, { maxBytes: 1024 });

    await expect(attempt).rejects.toMatchObject({ code: 'FORBIDDEN', message: `${uri} is not a regular file` });
    expect(isLocationRefusal(await attempt.catch((error: unknown) => error))).toBe(true);
  });

  it('refuses a device with FORBIDDEN, reading nothing of it', async () => {
    const attempt = codeStorageFor('file:///').get('file:///dev/zero', { maxBytes: 1024 });

    await expect(attempt).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'file:///dev/zero is not a regular file' });
  });
});
