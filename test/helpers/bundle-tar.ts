/**
 * A restore bundle as an admin meets it: downloaded, unpacked with the system's tar, checked
 * with sha256sum; and a stored chunk damaged in place, as a failing disk or a bad copy would.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { chunkKey } from '../../api/store/types.js';
import type { TestCatalog } from './catalog.js';

const run = promisify(execFile);

/** Overwrites a stored chunk with other bytes of the same length (one flipped byte). */
export async function damageChunk(catalog: TestCatalog, sha: string): Promise<void> {
  const { store } = catalog.services;
  const bad = Buffer.from((await store.getBytes(chunkKey(sha)))!);
  bad[bad.length >> 1] ^= 0xff;
  await store.put(chunkKey(sha), bad);
}

/** Unpacks a 200 bundle answer into a new directory (pushed on `temps` to remove) and returns its top directory. */
export async function unpackBundle(res: Response, temps: string[]): Promise<string> {
  expect(res.status).toBe(200);
  const dir = mkdtempSync(join(tmpdir(), 'vrc-bundle-'));
  temps.push(dir);
  writeFileSync(join(dir, 'b.tar.gz'), new Uint8Array(await res.arrayBuffer()));
  await run('tar', ['-xzf', join(dir, 'b.tar.gz'), '-C', dir]);
  const [name] = readdirSync(dir).filter((n) => n !== 'b.tar.gz');
  return join(dir, name);
}

/** The bundle's bundle.json and RESTORE.md, after `sha256sum -c SHA256SUMS` passed in it. */
export async function readVerifiedBundle(root: string): Promise<{ json: any; guide: string }> {
  await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: root });
  return { json: JSON.parse(readFileSync(join(root, 'bundle.json'), 'utf8')), guide: readFileSync(join(root, 'RESTORE.md'), 'utf8') };
}
