// The on-disk queue behind a run's relay: real files in a temporary directory.
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findSpooledRuns } from '../../agent/late-delivery.js';
import { RunSpool, SpoolBudget, type RunSpoolOptions } from '../../agent/spool.js';
import { tempDir, waitFor } from '../support/harness.js';

type Entry = { n: number; text?: string };

async function spoolIn(options: Partial<RunSpoolOptions<Entry>> = {}) {
  const dir = await tempDir('fluxo-spool-');
  const events: string[] = [];
  const budget = options.budget ?? new SpoolBudget(1024 * 1024);
  const spool = new RunSpool<Entry>({
    dir,
    name: 'run-1',
    budget,
    memoryEntries: 10,
    chunkBytes: 256,
    onSpill: (path) => events.push(`spill ${path}`),
    onDrained: (bytes) => events.push(`drained ${bytes}`),
    ...options,
  });
  return { dir, spool, budget, events };
}

const takeAll = (spool: RunSpool<Entry>, batch: number): number[] => {
  const out: number[] = [];
  for (let entries = spool.take(batch); entries.length > 0; entries = spool.take(batch)) out.push(...entries.map((entry) => entry.n));
  return out;
};

describe('ordering', () => {
  it('keeps the first entries in memory and writes no file while the queue is short', async () => {
    const { dir, spool, events } = await spoolIn();
    for (let n = 0; n < 10; n++) spool.push({ n });

    expect(spool.paths).toEqual([]);
    expect(takeAll(spool, 4)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(events).toEqual([]);
    expect(existsSync(dir) ? await readdir(dir) : []).toEqual([]);
  });

  it('spills past memory to a JSONL file, hands entries back oldest first, and removes the file once read', async () => {
    const { dir, spool, budget, events } = await spoolIn();
    for (let n = 0; n < 500; n++) spool.push({ n });

    const [path] = spool.paths;
    expect(path).toBe(join(dir, 'run-1.1.jsonl'));
    const firstLine = (await readFile(path!, 'utf8')).split('\n')[0];
    expect(JSON.parse(firstLine!)).toEqual({ n: 10 });
    expect(budget.usedBytes).toBe(spool.bytes);
    expect(spool.length).toBe(500);

    expect(takeAll(spool, 64)).toEqual(Array.from({ length: 500 }, (_, n) => n));
    expect(spool.length).toBe(0);
    expect(await readdir(dir)).toEqual([]);
    expect(budget.usedBytes).toBe(0);
    expect(events).toEqual([`spill ${path}`, expect.stringMatching(/^drained \d+$/)]);
  });

  it('keeps order when entries keep arriving while it drains, across several segment files', async () => {
    const { dir, spool } = await spoolIn({ segmentBytes: 500 });
    const seen: number[] = [];
    let next = 0;
    for (; next < 300; next++) spool.push({ n: next });
    expect(spool.paths.length).toBeGreaterThan(3);
    // Interleave: read some, write some, until everything is read.
    while (spool.length > 0 || next < 1_000) {
      seen.push(...spool.take(37).map((entry) => entry.n));
      for (let i = 0; i < 25 && next < 1_000; i++) spool.push({ n: next++ });
    }

    expect(seen).toEqual(Array.from({ length: 1_000 }, (_, n) => n));
    expect(await readdir(dir)).toEqual([]);
  });

  it('reads back lines longer than its read chunk, with any characters', async () => {
    const { spool } = await spoolIn({ memoryEntries: 0, budget: new SpoolBudget(64 * 1024 * 1024) });
    const long = `${'ção\n"\t'.repeat(400_000)}🙂`;
    spool.push({ n: 1, text: long });
    spool.push({ n: 2, text: 'short' });

    expect(spool.take(10)).toEqual([{ n: 1, text: long }, { n: 2, text: 'short' }]);
  });
});

describe('bounds', () => {
  it('refuses entries past the byte budget shared by every spool of the agent, except required ones', async () => {
    const budget = new SpoolBudget(2_000);
    const a = await spoolIn({ budget, memoryEntries: 0 });
    const b = await spoolIn({ budget, memoryEntries: 0 });
    let accepted = 0;
    for (let n = 0; n < 500; n++) if ((n % 2 === 0 ? a : b).spool.push({ n })) accepted++;

    expect(accepted).toBeLessThan(500);
    expect(budget.usedBytes).toBeLessThanOrEqual(2_000);
    expect(a.spool.fits({ n: 1 })).toBe(false);
    expect(a.spool.push({ n: -1 }, true)).toBe(true);
    expect(budget.usedBytes).toBeGreaterThan(2_000);

    a.spool.take(1_000);
    b.spool.take(1_000);
    expect(budget.usedBytes).toBe(0);
  });

  it('discard drops everything, removes its files and refuses later entries', async () => {
    const { dir, spool, budget } = await spoolIn();
    for (let n = 0; n < 200; n++) spool.push({ n });
    expect((await readdir(dir)).length).toBe(1);

    spool.discard();

    expect(await readdir(dir)).toEqual([]);
    expect(budget.usedBytes).toBe(0);
    expect(spool.push({ n: 1 })).toBe(false);
    expect(spool.take(10)).toEqual([]);
  });

  it('counts the entries it loses when its directory cannot be written', async () => {
    const parent = await tempDir();
    const blocked = join(parent, 'not-a-dir');
    await writeFile(blocked, 'a file where the spool directory should go');
    const lost: number[] = [];
    const { spool, budget } = await spoolIn({ dir: blocked, onError: (_error, entries) => lost.push(...entries.map((entry) => entry.n)) });
    for (let n = 0; n < 100; n++) spool.push({ n });

    expect(lost.length).toBeGreaterThan(0);
    expect(takeAll(spool, 1_000)).toEqual(Array.from({ length: 100 }, (_, n) => n).filter((n) => !lost.includes(n)));
    expect(spool.length).toBe(0);
    expect(budget.usedBytes).toBe(0);
  });
});

it('findSpooledRuns tells runs with a header from files nothing can deliver', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'old-run.1.jsonl'), '{"n":1}\n');
  await writeFile(join(dir, 'keep.txt'), 'not a spool file');
  await writeFile(join(dir, 'r1.a2.run.json'), JSON.stringify({ v: 1, flowRunId: 'r1', attempt: 2, agentName: 'a' }));
  await writeFile(join(dir, 'r1.a2.2.jsonl'), '{"n":2}\n');
  await writeFile(join(dir, 'r1.a2.10.jsonl'), '{"n":3}\n');
  await writeFile(join(dir, 'r1.a2.ack'), JSON.stringify({ segment: 2, offset: 8 }));

  const found = findSpooledRuns(dir);
  expect(found.orphans).toEqual([join(dir, 'old-run.1.jsonl')]);
  expect(found.runs).toEqual([{
    stem: 'r1.a2',
    header: { v: 1, flowRunId: 'r1', attempt: 2, agentName: 'a' },
    segments: [{ sequence: 2, path: join(dir, 'r1.a2.2.jsonl') }, { sequence: 10, path: join(dir, 'r1.a2.10.jsonl') }],
    mark: { segment: 2, offset: 8 },
  }]);
  expect(findSpooledRuns(join(dir, 'missing'))).toEqual({ runs: [], orphans: [] });
});

describe('with a header (deliverable after a crash)', () => {
  const header = { v: 1 as const, flowRunId: 'run-1', attempt: 1, agentName: 'a' };

  it('writes the header with the first file, memory included, and a short tail within moments', async () => {
    const { dir, spool } = await spoolIn({ header, chunkBytes: 1024 * 1024 });
    for (let n = 0; n < 25; n++) spool.push({ n });

    // Nothing waits in memory once the queue spills; the chunk short of chunkBytes is written soon.
    const lines = await waitFor(async () => {
      const text = existsSync(join(dir, 'run-1.1.jsonl')) ? await readFile(join(dir, 'run-1.1.jsonl'), 'utf8') : '';
      return text.split('\n').length === 26 ? text : undefined;
    }, { what: 'the tail on disk' });
    expect(lines.trim().split('\n').map((l) => (JSON.parse(l) as Entry).n)).toEqual(Array.from({ length: 25 }, (_, n) => n));
    expect(JSON.parse(await readFile(join(dir, 'run-1.run.json'), 'utf8'))).toEqual(header);
    expect(findSpooledRuns(dir).runs.map((r) => [r.stem, r.mark])).toEqual([['run-1', null]]);
  });

  it('records the acknowledged position, and removes header and mark when the queue drains', async () => {
    const { dir, spool } = await spoolIn({ header });
    for (let n = 0; n < 100; n++) spool.push({ n });

    expect(spool.take(30).map((e) => e.n)).toEqual(Array.from({ length: 30 }, (_, n) => n));
    const mark = spool.takenMark;
    expect(mark).toMatchObject({ segment: 1 });
    spool.acknowledge(mark);
    expect(findSpooledRuns(dir).runs[0]!.mark).toEqual(mark);

    expect(takeAll(spool, 30)).toEqual(Array.from({ length: 70 }, (_, n) => n + 30));
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('retain (the lease is lost)', () => {
  it('writes what waits in memory, keeps files, header and mark for late delivery, and frees the budget', async () => {
    const header = { v: 1 as const, flowRunId: 'run-1', attempt: 1, agentName: 'a' };
    const { dir, spool, budget } = await spoolIn({ header, chunkBytes: 1024 * 1024 });
    for (let n = 0; n < 5; n++) spool.push({ n });

    expect(spool.retain()).toBe(true);
    spool.discard();
    expect(spool.push({ n: 99 })).toBe(false);
    expect(budget.usedBytes).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['run-1.1.jsonl', 'run-1.run.json']);
    expect((await readFile(join(dir, 'run-1.1.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as Entry).n)).toEqual([0, 1, 2, 3, 4]);
  });

  it('discards instead without a header, or with nothing queued', async () => {
    const plain = await spoolIn({ memoryEntries: 0 });
    for (let n = 0; n < 50; n++) plain.spool.push({ n });
    expect(plain.spool.retain()).toBe(false);
    expect(await readdir(plain.dir)).toEqual([]);

    const empty = await spoolIn({ header: { v: 1, flowRunId: 'run-1', attempt: 1, agentName: 'a' } });
    expect(empty.spool.retain()).toBe(false);
    expect(existsSync(empty.dir) ? await readdir(empty.dir) : []).toEqual([]);
  });
});
