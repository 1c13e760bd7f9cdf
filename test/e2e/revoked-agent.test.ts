// An agent running on a service token that a tenant-admin revokes stops with exit code 3 (the
// token is refused), instead of retrying forever: real server, proxy (with a 1 s service-token
// cache) and agent processes, and the CLI's `fluxo token revoke`.
import { describe, expect, it } from 'vitest';
import { startStack } from '../support/stack.js';

const CACHE_SECONDS = 1;
const HEARTBEAT_SECONDS = 1;

describe('an agent whose service token is revoked', () => {
  it('exits 3 within the proxy cache lifetime and one heartbeat, saying its token was revoked', async () => {
    const stack = await startStack({ proxyArgs: ['--service-token-cache-seconds', String(CACHE_SECONDS)] });
    const created = await stack.cli(['token', 'create', '--name', 'agent-to-revoke', '--role', 'agent', '--json'], { role: 'tenant-admin' });
    expect(created, created.stderr).toMatchObject({ exitCode: 0 });
    const { token, serviceToken } = JSON.parse(created.stdout) as { token: string; serviceToken: { id: string } };
    const agent = await stack.startAgent({ name: 'revoked-agent', extraArgs: ['--heartbeat-seconds', String(HEARTBEAT_SECONDS)], env: { FLUXO_TOKEN: token } });

    const revoked = await stack.cli(['token', 'revoke', serviceToken.id], { role: 'tenant-admin' });
    expect(revoked, revoked.stderr).toMatchObject({ exitCode: 0 });
    const revokedAt = Date.now();
    const result = await agent.child;
    const tookMs = Date.now() - revokedAt;

    expect(result.exitCode).toBe(3);
    expect(agent.output.join('\n')).toContain('error: [TOKEN_REVOKED]');
    // The proxy may accept the token for up to its cache lifetime; the agent's next call (a heartbeat
    // at most one interval later) is then refused. Three more seconds cover process exit and a busy
    // CI machine; without the fix the agent never exits (the test times out at 60 s).
    expect(tookMs).toBeLessThan((CACHE_SECONDS + HEARTBEAT_SECONDS + 3) * 1000);
  }, 60_000);
});
