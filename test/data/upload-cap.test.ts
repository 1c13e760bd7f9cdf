// The cap on a run's streamed files at the agent (agent/data-requests.ts): a hostile flow cannot
// fill the agent's disk. A real child runtime streams a file over a small cap; the agent's side is
// also fed chunks by hand to watch the partial file go.
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveAgentConfig } from '../../agent/config.js';
import { ChildDataRequests } from '../../agent/data-requests.js';
import { defaultChildEntry, spawnFlowRun } from '../../agent/spawn-flow-run.js';
import { bundleFlowModule } from '../../cli/bundle.js';
import type { DataResponseMessage, LogEvent } from '../../sdk/runtime/protocol.js';
import { repoRoot, tempDir, waitFor } from '../support/harness.js';

const MIB = 1024 * 1024;
const CAP_MESSAGE = "the flow's file is too large: a run may keep at most 1 MiB of streamed files at the agent at once (the agent's --data-max-upload-mib, FLUXO_DATA_MAX_UPLOAD_MIB); land it in smaller files, or ask the agent's operator to raise the cap";

let bundlePath: string;

beforeAll(async () => {
  if (!existsSync(defaultChildEntry())) throw new Error(`build first (npx tsc -p tsconfig.json): ${defaultChildEntry()} is missing`);
  const { bytes } = await bundleFlowModule(join(repoRoot, 'test', 'fixtures', 'flows', 'data-ipc.ts'));
  bundlePath = join(await tempDir('fluxo-upload-cap-'), 'flow.mjs');
  await writeFile(bundlePath, bytes);
}, 60_000);

/** Every file under `dir`, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

describe('a run over its upload cap', () => {
  it('fails the request DATA_INVALID_ARGUMENT naming the cap, never calls the data service, and leaves no temp file', async () => {
    const tempRoot = await tempDir('fluxo-upload-root-');
    const logs: LogEvent[] = [];
    const calls: string[] = [];
    const child = spawnFlowRun({
      flowRunId: 'run-cap',
      attempt: 1,
      bundlePath,
      entrypoint: 'tooBig',
      parameters: {},
      cwd: await tempDir('fluxo-upload-run-'),
      timeoutMs: null,
      cancelGraceMs: 1_000,
      dataMaxUploadBytes: 1 * MIB,
      dataTempRoot: tempRoot,
      onLog: (event) => logs.push(event),
      data: async (operation, args) => {
        calls.push(`${operation} ${String(args.tableId)}`);
        return { rows: 1 };
      },
    });
    expect(await child.outcome).toMatchObject({ exitCode: 0, result: { ok: true } });
    const said = (prefix: string): unknown => JSON.parse(logs.find((event) => event.message.startsWith(prefix))!.message.slice(prefix.length));
    expect(said('refused ')).toEqual({ name: 'DataError', code: 'DATA_INVALID_ARGUMENT', message: CAP_MESSAGE });
    // The refused bytes no longer count: the next, small file fits.
    expect(said('small ')).toEqual({ rows: 1 });
    expect(calls).toEqual(['writeToLake small']);
    expect(await readdir(tempRoot)).toEqual([]);
  });

  it('deletes the partial file as soon as the cap is passed, before any request, and the run\'s folder when it ends', async () => {
    const tempRoot = await tempDir('fluxo-upload-root-');
    const answers: DataResponseMessage[] = [];
    let called = false;
    const requests = new ChildDataRequests(
      async () => {
        called = true;
        return null;
      },
      async (answer) => void answers.push(answer),
      new AbortController().signal,
      { maxUploadBytes: 1 * MIB, tempRoot },
    );
    const chunk = Buffer.alloc(600 * 1024, 7).toString('base64');
    requests.file({ type: 'data-file', upload: 1, chunk, last: false });
    await waitFor(async () => ((await filesUnder(tempRoot)).length === 1 ? true : undefined), { what: 'the first chunk on disk' });
    expect(requests.heldBytes).toBe(600 * 1024);

    requests.file({ type: 'data-file', upload: 1, chunk, last: false });
    await waitFor(async () => ((await filesUnder(tempRoot)).length === 0 ? true : undefined), { what: 'the partial file to be deleted' });
    expect(requests.heldBytes).toBe(0);
    // Later chunks of the refused upload are dropped.
    requests.file({ type: 'data-file', upload: 1, chunk, last: true });

    requests.request({ type: 'data-request', requestId: 1, operation: 'writeToLake', args: { datasetId: 'ds', tableId: 't', source: { csv: { upload: 1 } } }, taskKey: null });
    await waitFor(async () => answers[0], { what: 'the answer' });
    expect(answers).toEqual([{ type: 'data-response', requestId: 1, ok: false, error: { code: 'DATA_INVALID_ARGUMENT', message: CAP_MESSAGE } }]);
    expect(called).toBe(false);

    // An upload no request used stays until the run ends; then the run's folder goes.
    requests.file({ type: 'data-file', upload: 2, chunk, last: true });
    await waitFor(async () => ((await filesUnder(tempRoot)).length === 1 ? true : undefined), { what: 'the unused upload on disk' });
    await requests.close();
    expect(await readdir(tempRoot)).toEqual([]);
  });
});

describe('the agent setting', () => {
  const base = { apiUrl: 'http://127.0.0.1:4000/graphql', token: 'jwt', name: 'cap-1' };

  it('defaults to 4096 MiB and reads a flag or variable string', () => {
    expect(resolveAgentConfig(base).dataMaxUploadMib).toBe(4096);
    expect(resolveAgentConfig({ ...base, dataMaxUploadMib: '64' }).dataMaxUploadMib).toBe(64);
  });

  it.each([['0'], ['1.5'], ['4GiB']])('refuses %s with BAD_USER_INPUT naming the setting', (value) => {
    expect(() => resolveAgentConfig({ ...base, dataMaxUploadMib: value })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/dataMaxUploadMib must be a (whole )?number from 1 to 1048576/), details: { setting: 'dataMaxUploadMib' } }),
    );
  });
});
