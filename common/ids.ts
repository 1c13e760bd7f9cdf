// Identifiers: UUIDv7 (RFC 9562), so ids sort by creation time and index locality stays good.
import { randomBytes } from 'node:crypto';

/** A new UUIDv7 string. */
export function newId(): string {
  const bytes = randomBytes(16);
  const now = Date.now();
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** An unguessable token (leases). */
export function newToken(): string {
  return randomBytes(18).toString('base64url');
}
