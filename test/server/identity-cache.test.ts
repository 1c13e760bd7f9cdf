// The identity header's fast paths: the server remembers headers it verified (only exact copies,
// only until their exp), and the proxy reuses a caller's signed header for a few seconds only.
import { describe, expect, it, vi } from 'vitest';
import { identitySigner } from '../../auth-proxy/identity-signer.js';
import { signIdentity, verifyIdentity, type Identity } from '../../common/identity.js';
import { identityVerifier } from '../../server/identity-cache.js';

const secret = new Uint8Array(32).fill(7);
const otherSecret = new Uint8Array(32).fill(8);
const developer: Identity = { subject: 'dev', tenant: 'rj-smtr', role: 'developer' };

/** The header with one character of its signature changed. */
const tampered = (header: string): string => `${header.slice(0, -2)}${header.at(-2) === 'A' ? 'B' : 'A'}${header.at(-1)}`;

describe('identity verification with a memory of verified headers', () => {
  it('answers a header it verified with the same identity, and refuses altered or foreign headers every time', async () => {
    const verify = identityVerifier(secret);
    const header = await signIdentity(developer, secret);
    expect(await verify(header)).toEqual(developer);
    expect(await verify(header)).toEqual(developer);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await expect(verify(tampered(header))).rejects.toMatchObject({ code: 'IDENTITY_MISSING' });
      await expect(verify(await signIdentity(developer, otherSecret))).rejects.toMatchObject({ code: 'IDENTITY_MISSING' });
      await expect(verify(undefined)).rejects.toMatchObject({ code: 'IDENTITY_MISSING' });
    }
  });

  it('stops answering a remembered header once its exp has passed, and refuses it then', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const verify = identityVerifier(secret);
      const header = await signIdentity(developer, secret);
      expect(await verify(header)).toEqual(developer);
      // Past the header's 60 s life and jose's 5 s tolerance: the memory no longer answers, and the real check refuses.
      vi.setSystemTime(Date.now() + 70_000);
      await expect(verifyIdentity(header, secret)).rejects.toMatchObject({ code: 'IDENTITY_MISSING' });
      await expect(verify(header)).rejects.toMatchObject({ code: 'IDENTITY_MISSING' });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the proxy reusing a signed identity header', () => {
  it('gives a caller the same header for 10 s, then a fresh one; another tenant or role never shares it', async () => {
    let now = Date.now();
    const sign = identitySigner(secret, () => now);
    const first = await sign(developer);
    expect(await verifyIdentity(first, secret)).toEqual(developer);
    now += 9_000;
    expect(await sign({ ...developer })).toBe(first);
    const otherTenant = await sign({ ...developer, tenant: 'rj-escritorio' });
    const otherRole = await sign({ ...developer, role: 'viewer' });
    expect(await verifyIdentity(otherTenant, secret)).toEqual({ ...developer, tenant: 'rj-escritorio' });
    expect(await verifyIdentity(otherRole, secret)).toEqual({ ...developer, role: 'viewer' });
    now += 2_000;
    const later = await sign(developer);
    expect(await verifyIdentity(later, secret)).toEqual(developer);
    expect(sign(developer)).toBe(sign(developer));
  });
});
