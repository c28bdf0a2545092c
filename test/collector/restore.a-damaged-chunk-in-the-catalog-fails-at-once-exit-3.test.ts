/**
 * The catalog refuses a restore bundle whose header dump restore.sh needs has a damaged chunk
 * with no intact copy elsewhere: a JSON 502 `chunk_corrupt` naming the artifact and what to do.
 * Asking again cannot mend a damaged chunk, so `collector restore` prints that message and
 * exits 3 after the one request, where it took the 502 for "busy" and retried (~15 s) before
 * exit 75. Any other 502 is still "try again". Against the real catalog, over a socket.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chunkKey } from '../../api/store/types.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { EXTENT1, PROD, extent1Dump, seedDatacenter, type Seeded } from '../api/read-side-seed.js';
import { buildBundle, isolatedEnv, runCollector, serveApp } from './run-collector.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'restore-corrupt-'));
let catalog: TestCatalog;
let seeded: Seeded;
let served: Awaited<ReturnType<typeof serveApp>>;
let url: string;
/** Restore-bundle requests that reached the catalog. */
let bundleRequests = 0;

beforeAll(async () => {
  buildBundle();
  catalog = await startTestCatalog('embedded');
  seeded = await seedDatacenter(catalog);
  served = await serveApp(catalog.app, (req) => new URL(req.url).pathname.endsWith('/restore-bundle') && bundleRequests++);
  url = served.url;
});
afterAll(async () => {
  await served?.close();
  await catalog?.close();
  rmSync(dir, { recursive: true, force: true });
});

const restore = (extra: string[] = []) =>
  runCollector(
    ['restore', '--volume', PROD.vmfsUuid, '-o', join(dir, 'out'), '--url', url, '--token', catalog.adminToken, '--retries', '4', ...extra],
    isolatedEnv(join(dir, 'absent.json')),
  );

it('prints the catalog message naming the damaged artifact and exits 3 after one request, leaving nothing behind', async () => {
  const dump = extent1Dump();
  const chunk = sha256(dump.subarray(0, Math.min(dump.length, CHUNK_SIZE)));
  const { store } = catalog.services;
  const bad = Buffer.from((await store.getBytes(chunkKey(chunk)))!);
  bad[bad.length >> 1] ^= 0xff;
  await store.put(chunkKey(chunk), bad);

  bundleRequests = 0;
  const r = await restore();
  expect(r.code, r.stderr).toBe(3);
  expect(bundleRequests).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  const artifact = seeded.esx01.artifacts.find((a) => a.fileName === `${EXTENT1.deviceId}.hex`)!;
  expect(lines[0]).toMatch(/^collector restore: restore bundle: HTTP 502 chunk_corrupt: restore bundle for volume .* refused: /);
  expect(lines[0]).toContain(artifact.id);
  expect(lines[0]).toContain(`restore.sh needs a header dump of ${EXTENT1.deviceId}`);
  expect(existsSync(join(dir, 'out'))).toBe(false);
  expect(readdirSync(dir).filter((n) => n.startsWith('out.partial-'))).toEqual([]);

  bundleRequests = 0;
  const json = await restore(['--json']);
  expect(json.code).toBe(3);
  expect(bundleRequests).toBe(1);
  // The chunk is set aside by now: this answer says "gone from the store", and still names the artifact.
  expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'chunk_corrupt', message: json.stderr.trim().replace(/^collector restore: /, '') } });
  expect(json.stderr).toContain(artifact.id);
});

it('documents exit 3 in restore --help', async () => {
  expect((await runCollector(['restore', '--help'])).stdout).toMatch(/· 3 the catalog's\s+copy of a file the bundle needs is damaged \(chunk_corrupt/);
});
