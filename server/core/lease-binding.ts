// Lease tokens bound to the token subject that claimed them. The store's lease token proves a
// caller holds the run's current lease; the agent must also be the one it was granted to, not
// another agent of the same tenant that learned the token. Looking the holder up costs two reads
// before every state, task-state and log write; instead the token handed out carries an HMAC over
// (subject, store token), checked in memory on every write.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of the MAC kept in the token (128 bits). */
const MAC_BYTES = 16;

// Services in one process share this key when none is configured, so two services over one
// database (tests, benchmarks) accept each other's tokens. Real servers derive theirs from the
// identity secret, which every replica has, so tokens survive restarts and cross replicas.
const processKey = randomBytes(32);

/** The lease-binding key of a server, derived from its identity secret (never the secret itself). */
export function leaseKeyFrom(identitySecret: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', identitySecret, new Uint8Array(0), 'fluxo lease binding v1', 32));
}

/** Binds and opens lease tokens with one key. */
export class LeaseBinding {
  readonly #key: Uint8Array;

  constructor(key: Uint8Array = processKey) {
    if (key.byteLength < 32) throw new TypeError('the lease-binding key must be at least 32 bytes');
    this.#key = key;
  }

  /** The token handed to `subject` for the store's lease token: `<store token>.<mac>`. */
  bind(subject: string, storeToken: string): string {
    return `${storeToken}.${this.#mac(subject, storeToken).toString('base64url')}`;
  }

  /** The store's lease token when `presented` was handed to `subject`, else null. */
  open(subject: string, presented: string): string | null {
    const dot = presented.lastIndexOf('.');
    if (dot <= 0) return null;
    const storeToken = presented.slice(0, dot);
    const given = Buffer.from(presented.slice(dot + 1), 'base64url');
    const expected = this.#mac(subject, storeToken);
    return given.length === expected.length && timingSafeEqual(given, expected) ? storeToken : null;
  }

  #mac(subject: string, storeToken: string): Buffer {
    return createHmac('sha256', this.#key).update(subject).update('\0').update(storeToken).digest().subarray(0, MAC_BYTES);
  }
}
