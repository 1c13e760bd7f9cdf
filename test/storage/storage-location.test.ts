// Which storage URIs name a place a tenant's bundle may be (issue 9, finding 7): canonical
// file:/// and gs:// URIs only, inside the tenant's root when roots are configured.
import { describe, expect, it } from 'vitest';
import { parseStorageLocation, StorageRoots } from '../../storage/storage-location.js';

const roots = StorageRoots.parse(['file:///srv/fluxo/{tenant}', 'gs://fluxo-code/{tenant}', 'rj-smtr=gs://smtr-bundles'], { requireTenant: true });
const sha = 'a'.repeat(64);

describe('reading a storage URI', () => {
  it.each([
    ['file:///srv/fluxo/rj/bundles/ab.mjs', { scheme: 'file', path: '/srv/fluxo/rj/bundles/ab.mjs' }],
    ['file:///srv/fluxo/rj/with%20space.mjs', { scheme: 'file', path: '/srv/fluxo/rj/with space.mjs' }],
    ['gs://fluxo-code/rj/bundles/ab.mjs#1712345678901234', { scheme: 'gs', bucket: 'fluxo-code', name: 'rj/bundles/ab.mjs' }],
  ])('decodes the canonical %s', (uri, location) => {
    expect(parseStorageLocation(uri)).toEqual(location);
  });

  it.each([
    'file:///srv/../etc/hostname',
    'file:///srv/fluxo/rj/%2e%2e/other/bundles/x.mjs',
    'file:///srv/fluxo/rj/%2E%2E/other/bundles/x.mjs',
    'file:///srv/fluxo/rj/.%2e/other/bundles/x.mjs',
    'file:///srv/fluxo/rj/..%2Fother/bundles/x.mjs',
    'file:///srv/fluxo/rj/./bundles/x.mjs',
    'file:///srv/fluxo/rj//bundles/x.mjs',
    'file:///srv/fluxo/rj/bundles/',
    'file:///srv/fluxo/rj/bundles/x.mjs?v=1',
    'file:///srv/fluxo/rj/bundles/x.mjs#1',
    'file:///srv/fluxo/rj/bad%zz.mjs',
    'file:///srv/fluxo/rj/nul%00.mjs',
    'file:///srv/fluxo/rj/back%5Cslash.mjs',
    'file://localhost/srv/fluxo/rj/x.mjs',
    'file://evil.example/srv/fluxo/rj/x.mjs',
    'FILE:///srv/fluxo/rj/x.mjs',
    'file:///dev/zero',
    'file:///proc/self/environ',
    'file:///sys/kernel/notes',
    '/dev/zero',
    '/proc/self/environ',
    'srv/fluxo/rj/x.mjs',
    'gs://fluxo-code/rj/../other/x.mjs',
    'gs://fluxo-code/rj//x.mjs',
    'gs://fluxo-code/rj/%2e%2e/x.mjs',
    'gs://Fluxo-Code/rj/x.mjs',
    'GS://fluxo-code/rj/x.mjs',
    'http://example.com/x.mjs',
    's3://bucket/x.mjs',
    '',
  ])('refuses %j', (uri) => {
    expect(parseStorageLocation(uri)).toBeNull();
  });
});

describe('storage roots', () => {
  it.each([
    ['rj-escritorio', 'file:///srv/fluxo/rj-escritorio/bundles/x.mjs', true],
    ['rj-escritorio', 'gs://fluxo-code/rj-escritorio/bundles/x.mjs#7', true],
    ['rj-smtr', 'gs://smtr-bundles/rj-smtr/bundles/x.mjs#7', true],
    ['rj-escritorio', 'file:///srv/fluxo/rj-smtr/bundles/x.mjs', false],
    ['rj-escritorio', 'file:///srv/fluxo/rj-escritorio-2/bundles/x.mjs', false],
    ['rj-escritorio', 'file:///srv/fluxo/rj-escritorio', false],
    ['rj-escritorio', 'gs://fluxo-code/rj-smtr/bundles/x.mjs#7', false],
    ['rj-escritorio', 'gs://fluxo-code/rj-escritoriox/bundles/x.mjs', false],
    ['rj-escritorio', 'gs://smtr-bundles/rj-smtr/bundles/x.mjs', false],
    ['rj-escritorio', 'file:///etc/passwd', false],
  ])('tenant %s at %s: %s', (tenant, uri, allowed) => {
    expect(roots.allows(tenant, uri)).toBe(allowed);
  });

  it('accepts any canonical location when none is configured, and still refuses system paths', () => {
    const none = StorageRoots.parse([]);

    expect(none.configured).toBe(false);
    expect(none.allows('rj', `file:///tmp/${sha}.mjs`)).toBe(true);
    expect(none.allows('rj', 'file:///proc/self/environ')).toBe(false);
  });

  it.each([
    ['file:///srv/fluxo', { requireTenant: true }, /has no \{tenant\}/],
    ['file:///srv/../fluxo/{tenant}', {}, /not a canonical/],
    ['file:///dev/{tenant}', {}, /not a canonical/],
    ['https://example.com/{tenant}', {}, /not a canonical/],
    ['gs://fluxo-code/{tenant}#1', {}, /not a canonical/],
    ['rj=file:///srv/{tenant}', {}, /names a tenant and a \{tenant\} template/],
  ])('refuses the root %j with a TypeError', (entry, options, message) => {
    expect(() => StorageRoots.parse([entry], options)).toThrow(message);
  });
});
