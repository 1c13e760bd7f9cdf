// The settings of the offline-resilience parts: spool, metrics port, CA file, child heap limit.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAgentConfig, type AgentOptions } from '../../agent/config.js';

const base: AgentOptions = { apiUrl: 'http://127.0.0.1:4000/graphql', token: 'jwt', name: 'smtr-1' };

describe('resilience settings', () => {
  it('defaults: 256 MiB of spool, no metrics port, no extra CA, 1024 MiB of heap per flow', () => {
    expect(resolveAgentConfig(base)).toMatchObject({
      spoolDir: join(tmpdir(), 'fluxo-spool', 'smtr-1'),
      spoolMaxBytes: 256 * 1024 * 1024,
      metricsPort: null,
      metricsHost: '127.0.0.1',
      caFile: undefined,
      childMemoryMb: 1024,
    });
  });

  it('parses flag and environment strings; the spool lives in the work dir; 0 MiB means no heap limit', () => {
    const config = resolveAgentConfig({
      ...base,
      workDir: '/var/lib/fluxo-agent',
      spoolMaxBytes: '1048576',
      metricsPort: '9464',
      metricsHost: '0.0.0.0',
      caFile: 'certs/agency-ca.pem',
      childMemoryMb: '0',
    });

    expect(config).toMatchObject({
      spoolDir: '/var/lib/fluxo-agent/spool',
      spoolMaxBytes: 1_048_576,
      metricsPort: 9464,
      metricsHost: '0.0.0.0',
      caFile: join(process.cwd(), 'certs/agency-ca.pem'),
      childMemoryMb: null,
    });
  });

  it.each([
    ['spoolMaxBytes', { spoolMaxBytes: '-1' }, /spoolMaxBytes must be a number from 0/],
    ['spoolMaxBytes', { spoolMaxBytes: '256MiB' }, /spoolMaxBytes must be a number/],
    ['metricsPort', { metricsPort: '70000' }, /metricsPort must be a number from 0 to 65535/],
    ['childMemoryMb', { childMemoryMb: '8' }, /childMemoryMb must be 0 \(no limit\) or at least 16, got "8"/],
    ['childMemoryMb', { childMemoryMb: '1.5' }, /childMemoryMb must be a whole number/],
  ])('refuses a bad %s with BAD_USER_INPUT naming it (%o)', (setting, change, message) => {
    expect(() => resolveAgentConfig({ ...base, ...change })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message), details: { setting } }),
    );
  });
});
