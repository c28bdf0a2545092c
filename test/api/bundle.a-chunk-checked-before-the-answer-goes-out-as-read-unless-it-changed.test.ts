/**
 * A restore bundle checks every chunk before its answer starts (api/bundle/intact.ts), then
 * reads the chunks again to send them. A gzip object the check found whole, read again with
 * the same size and SHA-256, goes out as that object without a second inflate and hash; one
 * that changed in between (damaged, or replaced) is checked in full again, so damaged bytes
 * never go out. checkStoredChunk says which objects may go out as they are: gzip data and
 * nothing after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { checkStoredChunk, sha256Hex } from '../../api/pipeline/chunks.js';
import { ChunkIntegrityError, checkedChunks, type CheckedObject, type StoredChunk } from '../../api/read/content.js';
import { FsBlobStore } from '../../api/store/fs.js';
import { chunkKey } from '../../api/store/types.js';

const dir = mkdtempSync(join(tmpdir(), 'vrc-checked-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = new FsBlobStore({ dataDir: dir, publicBaseUrl: 'http://127.0.0.1:1' });

const bytes = new Uint8Array(256 * 1024).map((_, i) => (i % 4096 < 100 ? (i * 13) & 0xff : 0));
const sha = sha256Hex(bytes);
const gz = gzipSync(bytes);
const chunk: StoredChunk = { sha256: sha, size: bytes.length, encoding: 'gzip', storedSize: gz.length };
const checkedAs = (object: Uint8Array): Map<string, CheckedObject> => new Map([[sha, { storedSize: object.length, storedSha256: sha256Hex(object) }]]);

async function sent(checked?: Map<string, CheckedObject>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of checkedChunks(store, [chunk], checked)) out.push(c.gzipMember ?? c.bytes);
  return Buffer.concat(out);
}

describe('the tar pass after the check before the answer', () => {
  it('sends an object that reads as it was checked without checking its chunk again', async () => {
    // Stored bytes that do not inflate to the chunk, recorded as checked: only a pass that trusts
    // the record for the very bytes it holds sends them (a full check refuses them).
    const other = gzipSync(new Uint8Array(bytes.length));
    await store.put(chunkKey(sha), other);
    await expect(sent()).rejects.toBeInstanceOf(ChunkIntegrityError);
    expect((await sent(checkedAs(other))).equals(other)).toBe(true);
  });

  it('checks in full an object that changed since it was checked, and sends none of a damaged one', async () => {
    const damaged = Buffer.from(gz);
    damaged[damaged.length >> 1] ^= 0xff;
    await store.put(chunkKey(sha), damaged);
    await expect(sent(checkedAs(gz))).rejects.toThrow();
    // Replaced by another good encoding of the same chunk: checked again, and sent.
    const again = gzipSync(bytes, { level: 1 });
    expect(again.equals(gz)).toBe(false);
    await store.put(chunkKey(sha), again);
    expect((await sent(checkedAs(gz))).equals(again)).toBe(true);
  });
});

describe('checkStoredChunk', () => {
  it('says a gzip object may go out as it is only when it is gzip data and nothing after it', async () => {
    expect(await checkStoredChunk(sha, bytes.length, gz)).toEqual({ encoding: 'gzip', gzipOnly: true });
    expect(await checkStoredChunk(sha, bytes.length, Buffer.concat([gz, Buffer.alloc(8)]))).toEqual({ encoding: 'gzip', gzipOnly: false });
    expect(await checkStoredChunk(sha, bytes.length, bytes)).toEqual({ encoding: 'identity', gzipOnly: false });
    const halves = Buffer.concat([gzipSync(bytes.subarray(0, 1000)), gzipSync(bytes.subarray(1000))]);
    expect(await checkStoredChunk(sha, bytes.length, halves)).toEqual({ encoding: 'gzip', gzipOnly: true });
  });
});
