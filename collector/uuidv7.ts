import { randomBytes } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, 74 random bits.
 * Capture ids sort by creation time, so a spool directory replays in order.
 */
export function uuidv7(now: number = Date.now()): string {
  const b = randomBytes(16);
  // 48-bit big-endian timestamp; split because bitwise ops are 32-bit.
  const hi = Math.floor(now / 0x100000000);
  b.writeUInt16BE(hi & 0xffff, 0);
  b.writeUInt32BE(now >>> 0, 2);
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The Unix milliseconds encoded in a UUIDv7. */
export function uuidv7Time(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}
