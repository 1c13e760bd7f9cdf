import { describe, expect, it } from 'vitest';
import { LeaseBinding, leaseKeyFrom } from '../../server/core/lease-binding.js';

describe('lease binding', () => {
  const key = leaseKeyFrom(new Uint8Array(32).fill(7));

  it('opens a token only for the subject it was handed to', () => {
    const binding = new LeaseBinding(key);
    const handed = binding.bind('agent-a@rj-smtr', 'store-token_1');
    expect(handed).not.toBe('store-token_1');
    expect(binding.open('agent-a@rj-smtr', handed)).toBe('store-token_1');
    expect(binding.open('agent-b@rj-smtr', handed)).toBeNull();
  });

  it('refuses the bare store token, a changed store token and a changed MAC', () => {
    const binding = new LeaseBinding(key);
    const handed = binding.bind('agent-a', 'abc');
    expect(binding.open('agent-a', 'abc')).toBeNull();
    expect(binding.open('agent-a', handed.replace(/^abc/, 'abd'))).toBeNull();
    const mac = handed.slice(handed.lastIndexOf('.') + 1);
    const flipped = `abc.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    expect(binding.open('agent-a', flipped)).toBeNull();
    expect(binding.open('agent-a', 'abc.')).toBeNull();
  });

  it('agrees across instances with the same identity secret (replicas, restarts) and not with another', () => {
    const handed = new LeaseBinding(key).bind('agent-a', 'abc');
    expect(new LeaseBinding(leaseKeyFrom(new Uint8Array(32).fill(7))).open('agent-a', handed)).toBe('abc');
    expect(new LeaseBinding(leaseKeyFrom(new Uint8Array(32).fill(8))).open('agent-a', handed)).toBeNull();
  });

  it('refuses a short key', () => {
    expect(() => new LeaseBinding(new Uint8Array(16))).toThrow(/32 bytes/);
  });
});
