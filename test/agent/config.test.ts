import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_DEFAULTS, resolveAgentConfig, type AgentOptions } from '../../agent/config.js';

const base: AgentOptions = { apiUrl: 'http://127.0.0.1:4000/graphql', token: 'jwt' };

describe('agent settings', () => {
  it('applies defaults that work on a laptop', () => {
    const config = resolveAgentConfig(base);

    expect(config).toMatchObject({
      name: hostname(),
      labels: [],
      concurrency: 1,
      heartbeatSeconds: 10,
      cancelGraceSeconds: 10,
      claimWaitMs: 20_000,
      maxBundleBytes: 50 * 1024 * 1024,
      passEnv: [],
      runsDir: join(tmpdir(), 'fluxo-runs'),
    });
    expect(config.cacheDir).toMatch(/fluxo\/bundles$/);
    expect(AGENT_DEFAULTS.stopTimeoutSeconds).toBe(config.stopTimeoutSeconds);
  });

  it('parses flag and environment strings, trims and de-duplicates labels', () => {
    const config = resolveAgentConfig({ ...base, labels: ' smtr, gpu ,smtr,', concurrency: '4', heartbeatSeconds: '2.5', workDir: '/var/lib/fluxo-agent' });

    expect(config).toMatchObject({
      labels: ['smtr', 'gpu'],
      concurrency: 4,
      heartbeatSeconds: 2.5,
      cacheDir: '/var/lib/fluxo-agent/bundles',
      runsDir: '/var/lib/fluxo-agent/runs',
    });
  });

  it('confines bundle fetches to the storage roots given, comma-separated or repeated', () => {
    const config = resolveAgentConfig({ ...base, storageRoots: 'gs://fluxo-code/rj, file:///srv/fluxo/rj/' });

    expect(config.storageRoots.describe()).toEqual(['gs://fluxo-code/rj', 'file:///srv/fluxo/rj']);
    expect(config.storageRoots.needsTenant).toBe(false);
    expect(resolveAgentConfig(base).storageRoots.configured).toBe(false);
    // The server's templates work too: {tenant} is the tenant of the agent's token.
    expect(resolveAgentConfig({ ...base, storageRoots: ['gs://fluxo-code/{tenant}'] }).storageRoots.needsTenant).toBe(true);
  });

  it('refuses a missing token with TOKEN_MISSING', () => {
    expect(() => resolveAgentConfig({ ...base, token: '' })).toThrow(expect.objectContaining({ code: 'TOKEN_MISSING', message: expect.stringContaining('--token') }));
  });

  it.each([
    ['apiUrl', { apiUrl: undefined }, /no API URL/],
    ['apiUrl', { apiUrl: 'not a url' }, /"not a url" is not a URL/],
    ['apiUrl', { apiUrl: 'ftp://example.org/graphql' }, /must be an http:\/\/ or https:\/\/ URL/],
    ['name', { name: 'agent one' }, /"agent one" is not a valid agent name/],
    ['labels', { labels: ['ok', 'not ok'] }, /"not ok" is not a valid label/],
    ['concurrency', { concurrency: 0 }, /concurrency must be a number from 1 to 1000, got "0"/],
    ['concurrency', { concurrency: '2.5' }, /concurrency must be a whole number/],
    ['concurrency', { concurrency: 'many' }, /concurrency must be a number/],
    ['heartbeatSeconds', { heartbeatSeconds: -1 }, /heartbeatSeconds must be a number/],
    ['claimWaitMs', { claimWaitMs: 60_000 }, /claimWaitMs must be a number from 0 to 30000/],
    ['maxBundleBytes', { maxBundleBytes: 0 }, /maxBundleBytes must be a number from 1/],
    ['passEnv', { passEnv: 'FLUXO_TOKEN' }, /FLUXO_TOKEN carries the agent's own credentials/],
    ['passEnv', { passEnv: 'NOT-A-NAME' }, /"NOT-A-NAME" is not an environment variable name/],
    ['childEntry', { childEntry: 'relative/child.js' }, /must be an absolute path/],
    ['storageRoots', { storageRoots: 'file:///srv/../etc' }, /is not a canonical file:\/\/\/absolute\/dir/],
    ['storageRoots', { storageRoots: 'https://example.com/code' }, /is not a canonical/],
  ])('refuses a bad %s with BAD_USER_INPUT naming it (%o)', (setting, change, message) => {
    expect(() => resolveAgentConfig({ ...base, ...change })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message), details: { setting } }),
    );
  });
});
