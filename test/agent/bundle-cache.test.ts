// Fetching and verifying bundles against a real local code storage directory.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BundleCache, BundleUnavailableError, IntegrityError, LOCATION_REFUSED, NOT_THE_REGISTERED_CODE, UNCONFINED_FILE_FAILED, type BundleRef } from '../../agent/bundle-cache.js';
import { codeStorageFor } from '../../storage/code-storage.js';
import { StorageRoots } from '../../storage/storage-location.js';
import { tempDir, waitFor } from '../support/harness.js';
import { pathToFileURL } from 'node:url';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function setup(maxBytes = 1024 * 1024) {
  const storageDir = await tempDir('fluxo-storage-');
  const cacheDir = join(await tempDir('fluxo-cache-'), 'bundles');
  const storage = codeStorageFor(pathToFileURL(storageDir).href);
  const bytes = new TextEncoder().encode('export const answer = 42;\n');
  const { uri } = await storage.put(`bundles/${sha256(bytes)}.mjs`, bytes);
  const ref: BundleRef = { storageUri: uri, sha256: sha256(bytes), size: bytes.byteLength };
  return { storageDir, cacheDir, bytes, ref, uri, cache: new BundleCache({ cacheDir, maxBytes, storageRoots: StorageRoots.parse([pathToFileURL(storageDir).href]) }) };
}

const cached = async (cacheDir: string): Promise<string[]> => readdir(cacheDir).catch(() => []);

describe('verifying a bundle', () => {
  it('returns a local copy of the bytes when size and sha256 match', async () => {
    const { cache, ref, bytes, cacheDir } = await setup();

    const path = await cache.fetch(ref);

    expect(dirname(path)).toBe(cacheDir);
    expect(basename(path)).toMatch(new RegExp(`^${ref.sha256}-[0-9a-f]{16}\\.mjs$`));
    expect(new Uint8Array(await readFile(path))).toEqual(bytes);
  });

  it('refuses a bundle with one flipped byte, and caches nothing', async () => {
    const { cache, ref, bytes, uri, cacheDir } = await setup();
    const tampered = Uint8Array.from(bytes);
    tampered[7] = tampered[7]! ^ 0x01;
    await writeFile(new URL(uri), tampered);

    const attempt = cache.fetch(ref);

    await expect(attempt).rejects.toBeInstanceOf(IntegrityError);
    await expect(attempt).rejects.toMatchObject({ reason: 'integrity', message: NOT_THE_REGISTERED_CODE });
    expect(await cached(cacheDir)).toEqual([]);
  });

  it.each([
    ['shorter', (bytes: Uint8Array) => bytes.subarray(0, bytes.byteLength - 1)],
    ['one byte longer', (bytes: Uint8Array) => Uint8Array.from([...bytes, 0x0a])],
    ['much longer', (bytes: Uint8Array) => Uint8Array.from([...bytes, ...bytes, ...bytes])],
  ])('refuses a bundle %s than registered with a message that tells no size, and caches nothing', async (_case, change) => {
    const { cache, ref, bytes, uri, cacheDir } = await setup();
    await writeFile(new URL(uri), change(bytes));

    await expect(cache.fetch(ref)).rejects.toMatchObject({ name: 'IntegrityError', reason: 'integrity', message: NOT_THE_REGISTERED_CODE });
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
    const first = await new BundleCache({ cacheDir, maxBytes: 1024 }).fetch(ref);
    await rm(new URL(uri));

    await expect(new BundleCache({ cacheDir, maxBytes: 1024 }).fetch(ref)).resolves.toBe(first);
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
    expect(await cached(cacheDir)).toEqual([expect.stringMatching(new RegExp(`^${ref.sha256}-[0-9a-f]{16}\\.mjs$`))]);
  });
});

describe('verifying at every spawn (issue 9, finding 4)', () => {
  /** Rewrites a file in place with other bytes of the same size and puts its timestamps back, to the nanosecond. */
  async function tamperInPlace(path: string, replacement: string): Promise<void> {
    const before = await stat(path, { bigint: true });
    const original = await readFile(path);
    const evil = Buffer.from(replacement.padEnd(original.byteLength, ' '));
    expect(evil.byteLength).toBe(original.byteLength);
    await writeFile(path, evil, { flag: 'r+' });
    execFileSync('touch', ['-d', `@${before.mtimeNs / 1_000_000_000n}.${String(before.mtimeNs % 1_000_000_000n).padStart(9, '0')}`, path]);
    expect((await stat(path, { bigint: true })).mtimeNs).toBe(before.mtimeNs);
  }

  it('re-hashes a cached bundle rewritten in place with its size and mtime kept, and serves the registered bytes', async () => {
    const { cache, ref, bytes } = await setup();
    const path = await cache.fetch(ref);
    await tamperInPlace(path, 'export const answer = 6;');

    const again = await cache.fetch(ref);

    expect(new Uint8Array(await readFile(again))).toEqual(bytes);
  });

  it('neither follows nor waits on a cache entry replaced by a link to a FIFO, and serves the registered bytes', async () => {
    const { cache, ref, bytes, storageDir } = await setup();
    const path = await cache.fetch(ref);
    const fifo = join(storageDir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await rm(path);
    await symlink(fifo, path);

    const again = await cache.fetch(ref);

    expect(new Uint8Array(await readFile(again))).toEqual(bytes);
  });

  it('hands each run a private read-only copy of the bytes it hashed, which later changes to the cache do not reach', async () => {
    const { cache, ref, bytes } = await setup();
    const bundle = await cache.checkout(ref);
    await tamperInPlace(await cache.fetch(ref), 'export const answer = 6;');

    expect(new Uint8Array(await readFile(bundle.path))).toEqual(bytes);
    expect((await stat(bundle.path)).mode & 0o777).toBe(0o444);
    const other = await cache.checkout(ref);
    expect(other.path).not.toBe(bundle.path);
    expect(new Uint8Array(await readFile(other.path))).toEqual(bytes);

    await bundle.release();
    expect(existsSync(bundle.path)).toBe(false);
    expect(existsSync(other.path)).toBe(true);
  });

  it('keeps the cache writable by the agent only: directories 0755 at most, files 0644 at most', async () => {
    const { cache, ref, cacheDir } = await setup();
    const path = await cache.fetch(ref);
    const { path: copy } = await cache.checkout(ref);

    expect((await stat(cacheDir)).mode & 0o022).toBe(0);
    expect((await stat(path)).mode & 0o133).toBe(0);
    expect((await stat(dirname(copy))).mode & 0o777).toBe(0o711);
    expect((await stat(copy)).mode & 0o333).toBe(0);
  });
});

describe('confining bundle locations (issue 9, finding 7)', () => {
  async function confined() {
    const context = await setup();
    const cache = new BundleCache({ cacheDir: context.cacheDir, maxBytes: 1024 * 1024, storageRoots: StorageRoots.parse([pathToFileURL(context.storageDir).href]) });
    return { ...context, cache };
  }
  const passwd = readFileSync('/etc/passwd');
  const passwdRef = { sha256: sha256(passwd), size: passwd.byteLength };

  it.each([
    ['a file outside the root', () => 'file:///etc/passwd'],
    ['a device', () => 'file:///dev/zero'],
    ['procfs', () => 'file:///proc/self/environ'],
    ['a path climbing out with ..', (dir: string) => `${pathToFileURL(dir).href}/../../etc/passwd`],
    ['a percent-encoded ..', (dir: string) => `${pathToFileURL(dir).href}/%2e%2e/%2e%2e/etc/passwd`],
    ['a bare path', () => '/etc/passwd'],
    ['another scheme', () => 'https://example.com/bundle.mjs'],
    ['a gs:// location outside the roots', () => 'gs://fluxo-code/other-tenant/bundles/x.mjs#1'],
  ])('refuses %s with one generic message and reads nothing', async (_case, uriOf) => {
    const { cache, storageDir, cacheDir } = await confined();

    const attempt = cache.fetch({ storageUri: uriOf(storageDir), ...passwdRef });

    await expect(attempt).rejects.toMatchObject({ name: 'IntegrityError', reason: 'integrity', message: LOCATION_REFUSED });
    expect(await cached(cacheDir)).toEqual([]);
  });

  it.each([
    ['a symbolic link to /etc/passwd', async (dir: string) => (await symlink('/etc/passwd', join(dir, 'bundles', 'link.mjs')), 'bundles/link.mjs')],
    ['a file under a directory link to /etc', async (dir: string) => (await symlink('/etc', join(dir, 'etc')), 'etc/passwd')],
    ['a FIFO', async (dir: string) => (execFileSync('mkfifo', [join(dir, 'bundles', 'fifo.mjs')]), 'bundles/fifo.mjs')],
  ])('refuses %s inside the root with the same message', async (_case, plant) => {
    const { cache, storageDir } = await confined();
    const name = await plant(storageDir);

    const attempt = cache.fetch({ storageUri: `${pathToFileURL(storageDir).href}/${name}`, ...passwdRef });

    await expect(attempt).rejects.toMatchObject({ name: 'IntegrityError', message: LOCATION_REFUSED });
  });

  it('without roots, refuses a symbolic link, a FIFO or procfs, and answers every file:// failure with one message that tells nothing of the host', async () => {
    const { storageDir, cacheDir } = await setup();
    const cache = new BundleCache({ cacheDir, maxBytes: 1024 * 1024 });
    await symlink('/etc/passwd', join(storageDir, 'bundles', 'link.mjs'));
    execFileSync('mkfifo', [join(storageDir, 'bundles', 'fifo.mjs')]);
    const base = pathToFileURL(storageDir).href;

    for (const ref of [
      { storageUri: `${base}/bundles/link.mjs`, ...passwdRef },
      { storageUri: `${base}/bundles/fifo.mjs`, ...passwdRef },
      { storageUri: 'file:///etc/hostname', sha256: 'b'.repeat(64), size: 1 },
      { storageUri: 'file:///etc/no-such-file-here', sha256: 'b'.repeat(64), size: 1 },
    ]) {
      await expect(cache.fetch(ref), ref.storageUri).rejects.toMatchObject({ name: 'IntegrityError', message: UNCONFINED_FILE_FAILED });
    }
    // Refused by its name alone, before anything is opened: that tells nothing of the host either.
    await expect(cache.fetch({ storageUri: 'file:///proc/self/environ', sha256: 'b'.repeat(64), size: 1 })).rejects.toMatchObject({ message: LOCATION_REFUSED });
  });

  it("fills {tenant} in a root with the agent's tenant, and applies no template without one", async () => {
    const { ref, storageDir, cacheDir } = await setup();
    const roots = StorageRoots.parse([`${pathToFileURL(dirname(storageDir)).href}/{tenant}`]);
    const tenant = basename(storageDir);

    await expect(new BundleCache({ cacheDir, maxBytes: 1024, storageRoots: roots, tenant }).fetch(ref)).resolves.toMatch(/\.mjs$/);
    await expect(new BundleCache({ cacheDir, maxBytes: 1024, storageRoots: roots, tenant: 'another-tenant' }).fetch(ref)).rejects.toMatchObject({ message: LOCATION_REFUSED });
    await expect(new BundleCache({ cacheDir, maxBytes: 1024, storageRoots: roots }).fetch(ref)).rejects.toMatchObject({ message: LOCATION_REFUSED });
  });

  it('fetches a bundle inside the root', async () => {
    const { cache, ref, bytes } = await confined();

    expect(new Uint8Array(await readFile(await cache.fetch(ref)))).toEqual(bytes);
  });

  it('keys concurrent fetches by location and digest: a bad location of the same digest fails alone', async () => {
    const { cache, ref, storageDir } = await confined();

    const [good, bad] = await Promise.allSettled([cache.fetch(ref), cache.fetch({ ...ref, storageUri: `${pathToFileURL(storageDir).href}/bundles/missing.mjs` })]);

    expect(good.status).toBe('fulfilled');
    expect(bad).toMatchObject({ status: 'rejected', reason: { name: 'BundleUnavailableError' } });
  });

  it("never serves a digest cached from one location to a version registered at another", async () => {
    const { cache, ref, storageDir } = await confined();
    await cache.fetch(ref);

    await expect(cache.fetch({ ...ref, storageUri: `${pathToFileURL(storageDir).href}/bundles/elsewhere.mjs` })).rejects.toBeInstanceOf(BundleUnavailableError);
  });
});

describe('private copies left behind', () => {
  it('deletes copies older than an hour (an agent that died mid-run) at the first checkout, and keeps recent ones', async () => {
    const { cache, ref, cacheDir } = await setup();
    const checkouts = join(cacheDir, 'checkouts');
    await mkdir(checkouts, { recursive: true });
    const stale = join(checkouts, `${ref.sha256}-stale.mjs`);
    const recent = join(checkouts, `${ref.sha256}-recent.mjs`);
    await writeFile(stale, 'x');
    await writeFile(recent, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);

    await cache.checkout(ref);

    await waitFor(() => !existsSync(stale), { what: 'the stale copy to go' });
    expect(existsSync(recent)).toBe(true);
  });
});
