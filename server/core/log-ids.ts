// Log line ids as the API shows them. The store numbers lines with one autoincrement shared by every
// tenant (cheap to write, and the order a follower pages by); shown as they are, the gaps between a
// run's ids would tell a tenant how many lines other tenants wrote meanwhile. So the API shows each
// id encrypted: one AES block of (8 zero bytes, the id), base64url. AES is a permutation, so the
// shown ids are unique and reveal neither order nor distance; the zero half refuses ids this server
// did not issue. The ids stay cursors: `logs(after:)` and `flowRunLogs(after:)` take them back.
// The key derives from the lease-binding key, which every replica shares and which survives restarts,
// so an id read from one replica resumes on another and after a restart (`fluxo logs --follow`).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type Cipher, type Decipher } from 'node:crypto';
import { FluxoError } from '../../common/errors.js';

// Services in one process share this key when none is configured (tests, benchmarks), as lease binding does.
const processKey = randomBytes(32);

/** Encodes store log ids for the API and back. One per service; encoding costs about 2 µs. */
export class LogIds {
  // ECB over exactly one block with padding off: update() maps 16 bytes to 16 bytes and keeps no state.
  readonly #encrypt: Cipher;
  readonly #decrypt: Decipher;

  /** @param secret at least 32 bytes, shared by every replica (the lease-binding key). */
  constructor(secret: Uint8Array = processKey) {
    const key = new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), 'fluxo log ids v1', 16));
    this.#encrypt = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
    this.#decrypt = createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  }

  /** The id the API shows for store id `id`: 22 base64url characters. */
  encode(id: number): string {
    const block = Buffer.alloc(16);
    block.writeBigUInt64BE(BigInt(id), 8);
    return this.#encrypt.update(block).toString('base64url');
  }

  /**
   * The store id behind an id (or page cursor) the API showed, as the store's `after` wants it;
   * null for no cursor. Anything else is BAD_USER_INPUT.
   */
  after(shown: string | null | undefined): string | null {
    if (shown == null || shown === '') return null;
    const block = /^[A-Za-z0-9_-]{22}$/.test(shown) ? Buffer.from(shown, 'base64url') : null;
    const plain = block?.length === 16 ? this.#decrypt.update(block) : null;
    if (!plain || plain.readBigUInt64BE(0) !== 0n) {
      throw new FluxoError('BAD_USER_INPUT', `"after" must be a log line id or cursor this API returned, got "${shown.slice(0, 40)}"`);
    }
    return String(plain.readBigUInt64BE(8));
  }
}
