// Identifiers: UUIDv7 (RFC 9562), so ids sort by creation time and index locality stays good.
// Within one millisecond the 12-bit `rand_a` field is a counter (RFC 9562 §6.2, method 1), so ids
// made by one process are strictly increasing: rows created in one batch keep their order.
import { randomBytes } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/** A new UUIDv7 string, strictly greater than the previous one this process made. */
export function newId(): string {
  let now = Date.now();
  if (now <= lastMs) {
    sequence += 1;
    if (sequence > 0xfff) {
      lastMs += 1;
      sequence = 0;
    }
    now = lastMs;
  } else {
    lastMs = now;
    sequence = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** An unguessable token (leases). */
export function newToken(): string {
  return randomBytes(18).toString('base64url');
}
