/**
 * The filesystem store publishes a staged upload that holds exactly the verified bytes by
 * linking its file to the chunk key: one file, no copy written. Anything else — a staged file
 * with other bytes, or none — gets the verified bytes written as before; a key already taken
 * stays as it is (write once). What is published outlives the staging area.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FsBlobStore } from '../../api/store/fs.js';
import { chunkKey, stagingKey } from '../../api/store/types.js';
import { sha256Hex } from '../helpers/ingest-client.js';

let dataDir: string;
let store: FsBlobStore;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'vrc-fs-link-'));
  store = new FsBlobStore({ dataDir, publicBaseUrl: 'http://127.0.0.1:1', secret: randomBytes(32) });
});
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** A capture's staging area holding `bytes` under the chunk's staging key. */
async function staged(bytes: Uint8Array): Promise<{ captureId: string; sha: string; key: string }> {
  const captureId = randomUUID();
  const sha = sha256Hex(bytes);
  await store.openStaging(captureId);
  await store.put(stagingKey(captureId, sha), bytes);
  return { captureId, sha, key: stagingKey(captureId, sha) };
}

const fileOf = (key: string) => statSync(join(store.root, ...key.split('/')));

it('links the staged file that holds the bytes, and the chunk outlives the staging area', async () => {
  const bytes = randomBytes(3000);
  const s = await staged(bytes);
  expect(await store.putIfAbsent(chunkKey(s.sha), bytes, { staged: s.key })).toBe('created');
  expect(fileOf(chunkKey(s.sha)).ino).toBe(fileOf(s.key).ino);
  await store.closeStaging(s.captureId);
  expect(await store.head(s.key)).toBeNull();
  expect(Buffer.from((await store.getBytes(chunkKey(s.sha)))!).equals(bytes)).toBe(true);
});

it('writes the verified bytes when the staged file holds others or is gone', async () => {
  const bytes = randomBytes(3000);
  const s = await staged(bytes);
  const other = randomBytes(3000);
  await store.put(s.key, other);
  expect(await store.putIfAbsent(chunkKey(s.sha), bytes, { staged: s.key })).toBe('created');
  expect(fileOf(chunkKey(s.sha)).ino).not.toBe(fileOf(s.key).ino);
  expect(Buffer.from((await store.getBytes(chunkKey(s.sha)))!).equals(bytes)).toBe(true);

  const more = randomBytes(2000);
  const gone = await staged(more);
  await store.closeStaging(gone.captureId);
  expect(await store.putIfAbsent(chunkKey(gone.sha), more, { staged: gone.key })).toBe('created');
  expect(Buffer.from((await store.getBytes(chunkKey(gone.sha)))!).equals(more)).toBe(true);
});

it('leaves a key already taken as it is', async () => {
  const bytes = randomBytes(3000);
  const s = await staged(bytes);
  await store.put(chunkKey(s.sha), bytes);
  const before = fileOf(chunkKey(s.sha)).ino;
  expect(await store.putIfAbsent(chunkKey(s.sha), bytes, { staged: s.key })).toBe('exists');
  expect(fileOf(chunkKey(s.sha)).ino).toBe(before);
  expect(fileOf(s.key).nlink).toBe(1);
});
