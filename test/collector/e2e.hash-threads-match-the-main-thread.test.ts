/**
 * `collect --hash-threads N` against the real catalog (embedded): sources read before are read
 * and hashed by threads started from the bundle file itself. A run with threads and one
 * without, from copies of the same spool over the same changed bytes, record the same sizes,
 * whole and chunk SHA-256s — and those are the bytes' own, computed here; the chunk that
 * changed is sent in both. A source that cannot be read in its thread fails alone: the
 * capture of the others is committed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVmfsDevice } from '../fixtures/vmfs-images.js';
import { spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { buildBundle, freePort, runJson } from './run-collector.js';

const TOKEN = 'collector-threads-bootstrap-token-0123456789';
const MiB = 1024 * 1024;
const SERVER_START_MS = 180_000;
const LUNS = 3;

/** Digests as the collector's memo records them, by source path. */
function memo(spool: string): Record<string, { size: number; sha256: string; chunks: string }> {
  const parsed = JSON.parse(readFileSync(join(spool, 'artifact-digests'), 'utf8')) as {
    entries: Record<string, { size: number; sha256: string; chunks: string }>;
  };
  return Object.fromEntries(Object.entries(parsed.entries).map(([k, v]) => [JSON.parse(k)[1] as string, v]));
}

/** What the collector must find in a file's first `size` bytes: whole and 1 MiB chunk SHA-256s. */
function digestOf(file: string, size: number): { size: number; sha256: string; chunks: string } {
  const bytes = readFileSync(file).subarray(0, size);
  let chunks = '';
  for (let off = 0; off < bytes.length; off += MiB)
    chunks += createHash('sha256')
      .update(bytes.subarray(off, off + MiB))
      .digest('hex');
  return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), chunks };
}

describe('hashing threads', { timeout: 180_000 }, () => {
  let dir: string;
  let dataDir: string;
  let server: ServerProcess;
  let port: string;
  const root = () => join(dir, 'root');

  const collect = (spool: string, extra: string[]) =>
    runJson(
      [
        'collect',
        '--json',
        '--root',
        root(),
        '--host',
        'threads-e2e',
        '--spool',
        spool,
        '--url',
        `http://127.0.0.1:${port}`,
        '--retries',
        '1',
        ...Array.from({ length: LUNS }, (_, i) => `--device=/dev/lun${i}`),
        '--file=vmfs-header:/dumps/saved.bin',
        ...extra,
      ],
      { ...process.env, CATALOG_TOKEN: TOKEN, VMFS_COLLECTOR_CONFIG: join(dir, 'none.json'), NODE_DEBUG: 'worker' },
    );

  beforeAll(async () => {
    buildBundle();
    dir = mkdtempSync(join(tmpdir(), 'collector-threads-'));
    dataDir = join(dir, 'data');
    mkdirSync(join(root(), 'dev'), { recursive: true });
    mkdirSync(join(root(), 'dumps'), { recursive: true });
    for (let i = 0; i < LUNS; i++) {
      await writeVmfsDevice(
        join(root(), 'dev', `lun${i}`),
        { lvmMajor: 5, deviceId: `naa.600144f0c0ffee00000000000000${(0x100 + i).toString(16)}`, lun: i, noiseSeed: i + 7 },
        12 * MiB,
      );
    }
    const saved = openSync(join(root(), 'dumps', 'saved.bin'), 'w');
    writeSync(saved, randomBytes(2 * MiB + 12345));
    closeSync(saved);
    port = String(await freePort());
    server = await spawnServer({ DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: TOKEN, PORT: port }, SERVER_START_MS);
  }, SERVER_START_MS + 60_000);

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('record what the main thread records, and the bytes say, for unchanged and changed sources', async () => {
    const a = join(dir, 'spool-a');
    const first = await collect(a, []);
    expect(first.code, first.stderr).toBe(0);
    // The second spool starts where the first is now: both runs below have the same digests to go by.
    const b = join(dir, 'spool-b');
    cpSync(a, b, { recursive: true });
    const before = memo(a);
    // 4 KiB of new bytes in a chunk of lun1 that held zeros: one chunk the catalog lacks.
    const fd = openSync(join(root(), 'dev', 'lun1'), 'r+');
    writeSync(fd, randomBytes(4096), 0, 4096, 9 * MiB + 512);
    closeSync(fd);

    const threads = await collect(a, ['--hash-threads', '2']);
    const alone = await collect(b, ['--hash-threads', '0']);
    for (const r of [threads, alone]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.captures[0].state).toBe('committed');
      expect(r.json.artifactsFailed).toBe(0);
      // The changed chunk is new to both spools, so both declare and send it (or find it sent).
      expect(r.json.chunks).toBe(first.json.chunks);
    }
    // The thread's hashes named the changed chunk; it was read again here, checked and sent.
    expect(threads.json.chunksUploaded).toBe(1);
    // Threads ran only where asked for (Node's own debug lines for worker threads).
    expect(threads.stderr).toMatch(/WORKER \d+: .*created Worker/);
    expect(alone.stderr).not.toMatch(/WORKER/);

    const report = (r: typeof threads) => r.json.captures[0].artifacts.map((x: any) => [x.sourcePath, x.status, x.size, x.sha256, x.chunks]);
    expect(report(threads)).toEqual(report(alone));
    const m = memo(a);
    expect(m).toEqual(memo(b));
    // And what both recorded is what the bytes are.
    expect(Object.keys(m).sort()).toEqual([...Array.from({ length: LUNS }, (_, i) => `/dev/lun${i}`), '/dumps/saved.bin'].sort());
    for (const [path, d] of Object.entries(m)) expect(d, path).toEqual(digestOf(join(root(), path), d.size));
    expect(m['/dev/lun1'].sha256).not.toBe(before['/dev/lun1'].sha256);
    expect(m['/dev/lun0']).toEqual(before['/dev/lun0']);
  });

  it('fail an artifact alone when its thread cannot read it', async () => {
    const a = join(dir, 'spool-a');
    // Read before (its digest is in the memo), so a thread is asked to read it: now a directory.
    rmSync(join(root(), 'dumps', 'saved.bin'));
    mkdirSync(join(root(), 'dumps', 'saved.bin'));
    const r = await collect(a, ['--hash-threads', '2']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/WORKER \d+: .*created Worker/);
    const [c] = r.json.captures;
    expect(c.state).toBe('committed');
    const byPath = new Map(c.artifacts.map((x: any) => [x.sourcePath, x]));
    expect(byPath.get('/dumps/saved.bin')).toMatchObject({ status: 'error', error: expect.stringMatching(/EISDIR/) });
    for (let i = 0; i < LUNS; i++) expect(byPath.get(`/dev/lun${i}`)).toMatchObject({ status: 'ok', parseStatus: 'ok' });
  });
});
