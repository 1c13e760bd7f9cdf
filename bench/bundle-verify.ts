// Bundle verification at every spawn: what `BundleCache.checkout` costs a run whose bundle is
// already cached (issue 9, finding 4). The agent re-reads the cached file, re-hashes it (sha256)
// and writes the verified bytes to a private read-only copy the child imports, then deletes it.
//
//   npm run build && node dist/bench/bundle-verify.js [--sizes 1,10] [--rounds 50]
//
// For each size (MiB) of a real bundle-like file (JavaScript text, not zeros): p50/p99/max of
// - checkout: the whole per-run cost on a warm cache (read + sha256 + write copy + release);
// - hash only: sha256 of the bytes already in memory, the part that is pure CPU;
// - the old shortcut (stat of the cached file, compared with remembered size and mtime), for scale.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BundleCache } from '../agent/bundle-cache.js';
import { codeStorageFor } from '../storage/code-storage.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1,10' }, rounds: { type: 'string', default: '50' } } });
const SIZES = values.sizes.split(',').map(Number);
const ROUNDS = Number(values.rounds);

/** JavaScript-looking text of `bytes` bytes (a bundle is mostly minified source). */
function bundleOf(bytes: number): Uint8Array {
  const line = 'export const value_0123456789 = { name: "fluxo", items: [1, 2, 3], run: (x) => x * 2 };\n';
  return new TextEncoder().encode(line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes));
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`;
}

async function time(work: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

const dir = await mkdtemp(join(tmpdir(), 'fluxo-bench-verify-'));
try {
  for (const mib of SIZES) {
    const bytes = bundleOf(mib * 1024 * 1024);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const storage = codeStorageFor(pathToFileURL(join(dir, `storage-${mib}`)).href);
    const { uri } = await storage.put(`bundles/${sha256}.mjs`, bytes);
    const cache = new BundleCache({ cacheDir: join(dir, `cache-${mib}`), maxBytes: 64 * 1024 * 1024 });
    const ref = { storageUri: uri, sha256, size: bytes.byteLength };
    const cached = await cache.fetch(ref);

    const checkout: number[] = [];
    const hash: number[] = [];
    const statOnly: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      checkout.push(await time(async () => (await cache.checkout(ref)).release()));
      hash.push(await time(() => createHash('sha256').update(bytes).digest('hex')));
      statOnly.push(await time(() => stat(cached)));
    }
    process.stdout.write(`${mib} MiB bundle, ${ROUNDS} rounds\n`);
    process.stdout.write(`  checkout (read + sha256 + private copy + release): ${summary(checkout)}\n`);
    process.stdout.write(`  sha256 of bytes in memory:                         ${summary(hash)}\n`);
    process.stdout.write(`  old shortcut (stat only):                          ${summary(statOnly)}\n`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
