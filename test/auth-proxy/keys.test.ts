import { describe, expect, it } from 'vitest';
import { readFile, stat, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { initKeys, keyPaths, loadIdentitySecret, loadPrivateSigningKey, loadPublicKeySet } from '../../common/keys.js';
import { tempDir } from '../support/harness.js';

describe('initialising a keys directory', () => {
  it('creates the identity secret and a matching Ed25519 signing pair, secrets readable by the owner only', async () => {
    const dir = join(await tempDir(), 'keys');
    const { paths, created } = await initKeys(dir);
    expect(created).toEqual([paths.identitySecret, paths.privateSigningKey, paths.publicKeySet, paths.secretsKey]);
    expect((await stat(paths.identitySecret)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.privateSigningKey)).mode & 0o777).toBe(0o600);

    expect((await loadIdentitySecret(paths.identitySecret)).byteLength).toBe(32);
    const privateJwk = await loadPrivateSigningKey(paths.privateSigningKey);
    const publicKeys = await loadPublicKeySet(paths.publicKeySet);
    expect(privateJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: expect.any(String), d: expect.any(String) });
    expect(publicKeys.keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: privateJwk.kid, x: privateJwk.x }]);
  });

  it('keeps existing files when run again', async () => {
    const dir = await tempDir();
    const { paths } = await initKeys(dir);
    const before = await Promise.all(Object.values(paths).map((path) => readFile(path, 'utf8')));
    const again = await initKeys(dir);
    expect(again.created).toEqual([]);
    expect(await Promise.all(Object.values(paths).map((path) => readFile(path, 'utf8')))).toEqual(before);
  });

  it('refuses to regenerate half of a signing pair', async () => {
    const dir = await tempDir();
    const { paths } = await initKeys(dir);
    await rm(paths.publicKeySet);
    await expect(initKeys(dir)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringMatching(/token-signing.private.jwk.json exists but .*token-signing.public.jwks.json does not/),
    });
  });
});

describe('loading key files', () => {
  type Loader = (path: string) => Promise<unknown>;
  const cases: { name: string; loader: Loader; content: string | undefined; message: RegExp }[] = [
    { name: 'a missing identity secret', loader: loadIdentitySecret, content: undefined, message: /identity secret .*: it does not exist; create the keys with `fluxo keys init/ },
    { name: 'a short identity secret', loader: loadIdentitySecret, content: Buffer.alloc(16).toString('base64url'), message: /holds 16 bytes; at least 32/ },
    { name: 'an identity secret that is not base64url', loader: loadIdentitySecret, content: 'not base64!', message: /is not base64url text/ },
    { name: 'a private key that is not JSON', loader: loadPrivateSigningKey, content: '{oops', message: /private signing key .* is not valid JSON/ },
    { name: 'a public JWK where a private one is expected', loader: loadPrivateSigningKey, content: '{"kty":"OKP","crv":"Ed25519","x":"abc","kid":"k"}', message: /is not a private JWK/ },
    { name: 'a symmetric private key', loader: loadPrivateSigningKey, content: '{"kty":"oct","k":"abc","d":"x","kid":"k"}', message: /is a symmetric key/ },
    { name: 'a private key without kid', loader: loadPrivateSigningKey, content: '{"kty":"OKP","crv":"Ed25519","x":"a","d":"b"}', message: /has no "kid"/ },
    { name: 'a key set without keys', loader: loadPublicKeySet, content: '{"keys":[]}', message: /is not a JWKS/ },
    { name: 'a key set holding a private key', loader: loadPublicKeySet, content: '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"a","d":"b"}]}', message: /key 0 is private or symmetric/ },
  ];

  it.each(cases)('refuses $name with BAD_USER_INPUT naming the file', async ({ loader, content, message }) => {
    const path = join(await tempDir(), 'key-file');
    if (content !== undefined) await writeFile(path, content);
    const failure = await loader(path).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
    expect((failure as Error).message).toContain(path);
  });

  it('names the files of a keys directory', () => {
    expect(keyPaths('/etc/fluxo/keys')).toEqual({
      identitySecret: '/etc/fluxo/keys/identity.secret',
      privateSigningKey: '/etc/fluxo/keys/token-signing.private.jwk.json',
      publicKeySet: '/etc/fluxo/keys/token-signing.public.jwks.json',
      secretsKey: '/etc/fluxo/keys/secrets.key',
    });
  });
});
