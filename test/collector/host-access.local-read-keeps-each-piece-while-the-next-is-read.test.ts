/**
 * A local read asks for the next piece before it yields the current one, so reading and
 * hashing overlap. The piece a consumer holds must stay intact while the next one is read
 * (two buffers, used in turn), memory must not grow with the length read, the pieces (up to
 * 4 MiB) must still end on 1 MiB boundaries (the chunker takes them without copying), and a read left
 * early must close its file once the piece in flight has landed.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalAccess } from '../../collector/host-access.js';

const MiB = 1024 * 1024;

describe('local reads with one piece read ahead', () => {
  const root = mkdtempSync(join(tmpdir(), 'access-read-ahead-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'dev'));
  const bytes = randomBytes(9 * MiB + 300_000);
  writeFileSync(join(root, 'dev', 'disk'), bytes);

  it('yields each piece intact while the next is read, cut at 1 MiB boundaries', async () => {
    const access = new LocalAccess(root);
    const offset = MiB / 2;
    let pos = offset;
    const lengths: number[] = [];
    for await (const piece of access.read('/dev/disk', offset, 8 * MiB + 100)) {
      // Time for the read ahead to land: had it gone into this piece's buffer, the bytes would differ.
      await sleep(20);
      expect(piece.equals(bytes.subarray(pos, pos + piece.length))).toBe(true);
      lengths.push(piece.length);
      pos += piece.length;
    }
    // To the first 1 MiB boundary at most 4 MiB on, then up to 4 MiB again, then the rest.
    expect(lengths).toEqual([3.5 * MiB, 4 * MiB, MiB / 2 + 100]);
  });

  it('stops at the end of the file and keeps to two buffers however much is read', async () => {
    const access = new LocalAccess(root);
    const buffers = new Set<ArrayBufferLike>();
    const pieces: Buffer[] = [];
    for (let round = 0; round < 3; round++) {
      for await (const piece of access.read('/dev/disk', 0, 100 * MiB)) {
        buffers.add(piece.buffer);
        if (round === 2) pieces.push(Buffer.from(piece));
      }
    }
    expect(Buffer.concat(pieces).equals(bytes)).toBe(true);
    expect(buffers.size).toBe(2);
  });

  it('closes the file when the reader stops early, and the next read starts clean', async () => {
    const access = new LocalAccess(root);
    // This disk file's descriptors only: the test process's own count moves with whatever the
    // test files run before this one in the same worker are still closing.
    const disk = join(root, 'dev', 'disk');
    const openFiles = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === disk;
        } catch {
          return false; // closed while listed
        }
      }).length;
    const before = openFiles();
    expect(before).toBe(0);
    for await (const piece of access.read('/dev/disk', 0, bytes.length)) {
      expect(piece.equals(bytes.subarray(0, 4 * MiB))).toBe(true);
      expect(openFiles()).toBe(1); // open while it reads: what the count below must see closed
      break;
    }
    expect(openFiles()).toBe(before);
    const again: Buffer[] = [];
    for await (const piece of access.read('/dev/disk', 2 * MiB, 2 * MiB)) again.push(Buffer.from(piece));
    expect(Buffer.concat(again).equals(bytes.subarray(2 * MiB, 4 * MiB))).toBe(true);
  });
});
