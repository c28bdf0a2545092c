/**
 * A put is all or nothing: a writer killed with SIGKILL halfway through leaves the
 * previous object intact (readers see it during and after), and a new key absent.
 * Both stores; the writer is a real child process.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../api/store/s3.js';
import { FsBlobStore } from '../../api/store/fs.js';
import { startStore, storeKinds, type StoreUnderTest } from './blob-server.js';

const ROOT = join(import.meta.dirname, '..', '..');
const LENGTH = 4 * 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Starts a writer child that stalls halfway through `key` and resolves once half is sent. */
async function stalledWriter(t: StoreUnderTest, key: string): Promise<{ kill(): Promise<void> }> {
  const env: NodeJS.ProcessEnv = { ...process.env, STORE: t.kind, STALL_KEY: key, STALL_LENGTH: String(LENGTH) };
  if (t.store instanceof FsBlobStore) env.DATA_DIR = join(t.store.root, '..');
  if (t.store instanceof S3BlobStore) env.STALL_BUCKET = t.store.bucket;
  // node --import tsx runs the child in this very process (the tsx CLI would fork
  // another, which SIGKILL would not reach).
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/store/stalled-put.child.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('half-sent')) resolve();
      if (out.includes('put-')) reject(new Error(`writer did not stall: ${out}`));
    });
    child.once('exit', (code) => reject(new Error(`writer exited (${code}) before stalling: ${out}${err}`)));
  });
  return {
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Waits until the writer's temp file holds the half it was given: the kill then hits a real half-written object. */
async function halfWrittenTempFile(dir: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    for (const name of await readdir(dir).catch(() => [])) {
      if (name.startsWith('.tmp-') && (await stat(join(dir, name))).size === LENGTH / 2) return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no half-written temp file in ${dir}`);
}

for (const kind of storeKinds()) {
  describe(`put under kill -9 [${kind}]`, () => {
    let t: StoreUnderTest;
    beforeAll(async () => {
      t = await startStore(kind);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('keeps the old object whole while a replacement is half written and after its writer dies', async () => {
      const old = randomBytes(LENGTH / 4);
      await t.store.put('bundles/replaced', old);
      const writer = await stalledWriter(t, 'bundles/replaced');
      expect(sha((await t.store.getBytes('bundles/replaced'))!)).toBe(sha(old));
      await writer.kill();
      expect(await t.store.head('bundles/replaced')).toEqual({ key: 'bundles/replaced', size: old.length });
      expect(sha((await t.store.getBytes('bundles/replaced'))!)).toBe(sha(old));
    });

    it('leaves no object under a new key whose writer dies halfway', async () => {
      const writer = await stalledWriter(t, 'chunks/4e/half-written');
      if (t.store instanceof FsBlobStore) await halfWrittenTempFile(join(t.store.root, 'chunks', '4e'));
      expect(await t.store.head('chunks/4e/half-written')).toBeNull();
      await writer.kill();
      expect(await t.store.head('chunks/4e/half-written')).toBeNull();
      const listed = [];
      for await (const o of t.store.list('chunks/4e/')) listed.push(o.key);
      expect(listed).toEqual([]);
      if (t.store instanceof FsBlobStore) {
        // The half-written bytes sit in a dot-named temp file that no key can name.
        const dir = join(t.store.root, 'chunks', '4e');
        const left = await readdir(dir);
        expect(left.length).toBeGreaterThan(0);
        expect(left.every((name) => name.startsWith('.tmp-'))).toBe(true);
        // Too young to be swept (it could be a live upload), then swept once stale.
        expect(await t.store.removeStaleTemp()).toBe(0);
        expect(await t.store.removeStaleTemp(0)).toBeGreaterThanOrEqual(left.length);
        expect(await readdir(dir)).toEqual([]);
      }
    });
  });
}
