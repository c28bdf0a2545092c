/**
 * One damaged chunk in any artifact of a volume never cuts a restore bundle short: every
 * chunk is checked before the answer starts. An artifact restore.sh does not need is left
 * out (the bundle still unpacks and verifies, RESTORE.md and bundle.json say what is missing),
 * a header dump falls back to an earlier capture's intact copy, and when restore.sh would
 * lose a device's only intact dump the bundle is refused up front with a JSON 502 naming it.
 * Each damaged chunk is recorded as the scrub would (set aside, chunk-corrupt raised).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { damageChunk, unpackBundle } from '../helpers/bundle-tar.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { EXTENT1, EXTENT2, HOUR, PROD, T0, extent1Dump, extent2Dump, seedDatacenter, type Seeded } from './read-side-seed.js';

const run = promisify(execFile);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeEachFlavour('restore bundle with a damaged artifact', (flavour) => {
  let catalog: TestCatalog;
  let seeded: Seeded;
  const temps: string[] = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    seeded = await seedDatacenter(catalog);
  });
  afterAll(async () => {
    await catalog?.close();
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  const damage = (sha: string) => damageChunk(catalog, sha);
  const unpack = (res: Response) => unpackBundle(res, temps);
  const bundle = () => catalog.request(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle`);
  const inventory = () => seeded.esx01.artifacts.find((a) => a.fileName === 'inventory.txt')!;

  it('leaves out a damaged file restore.sh does not need, and says so', async () => {
    const inv = (await (await catalog.request(`/v1/artifacts/${inventory().id}`)).json()) as { sha256: string; chunks?: unknown };
    const bytes = new Uint8Array(await (await catalog.request(`/v1/artifacts/${inventory().id}/content`)).arrayBuffer());
    expect(sha256(bytes)).toBe(inv.sha256);
    const chunk = sha256(bytes); // one chunk: its name is the file's hash
    await damage(chunk);
    const root = await unpack(await bundle());
    await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: root });
    expect(readdirSync(join(root, 'esx01'))).not.toContain('esx-inventory');
    // The header dumps restore.sh needs are all there.
    expect(sha256(readFileSync(join(root, `esx01/vmfs-header/${EXTENT1.deviceId}.hex`)))).toBe(sha256(extent1Dump()));
    const guide = readFileSync(join(root, 'RESTORE.md'), 'utf8');
    expect(guide).toContain('## Left out: damaged in the catalog');
    expect(guide).toContain(chunk);
    const json = JSON.parse(readFileSync(join(root, 'bundle.json'), 'utf8'));
    expect(json.leftOut).toMatchObject([{ artifactId: inventory().id, chunk, replacedBy: null }]);
    // Recorded as the scrub would.
    expect(await catalog.services.store.head(`quarantine/${chunk}`)).not.toBeNull();
    const events = await (await catalog.request('/v1/events?type=chunk-corrupt')).json();
    expect((events.events ?? events.items ?? events).some((e: { artifactId: string }) => e.artifactId === inventory().id)).toBe(true);
  });

  it("carries an earlier capture's intact dump in place of a damaged newer one", async () => {
    const newer = new Uint8Array(extent2Dump());
    newer[newer.length - 1] ^= 1;
    const later = await ingest(catalog, {
      host: 'esx01',
      hostKind: 'esxi',
      collectedAt: new Date(T0.getTime() + 3 * HOUR),
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: `${EXTENT2.deviceId}.hex`,
          sourcePath: `/vmfs/devices/disks/${EXTENT2.deviceId}`,
          device: EXTENT2.deviceId,
          bytes: newer,
        },
      ],
    });
    const lastStart = Math.floor((newer.length - 1) / CHUNK_SIZE) * CHUNK_SIZE;
    await damage(sha256(newer.subarray(lastStart)));
    const root = await unpack(await bundle());
    await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: root });
    expect(sha256(readFileSync(join(root, `esx01/vmfs-header/${EXTENT2.deviceId}.hex`)))).toBe(sha256(extent2Dump()));
    const json = JSON.parse(readFileSync(join(root, 'bundle.json'), 'utf8'));
    const older = seeded.esx01.artifacts.find((a) => a.fileName === `${EXTENT2.deviceId}.hex`)!;
    expect(json.leftOut.find((l: { artifactId: string }) => l.artifactId === later.artifacts[0].id)).toMatchObject({
      replacedBy: { artifactId: older.id, path: `esx01/vmfs-header/${EXTENT2.deviceId}.hex` },
    });
    expect(readFileSync(join(root, 'RESTORE.md'), 'utf8')).toContain(
      `esx01/vmfs-header/${EXTENT2.deviceId}.hex (esx01, captured ${T0.toISOString()}, capture ${seeded.esx01.captureId}, artifact ${older.id})`,
    );
  });

  it("refuses up front, naming the artifact, when a device's only dump is damaged", async () => {
    const dump = extent1Dump();
    await damage(sha256(dump.subarray(0, Math.min(dump.length, CHUNK_SIZE))));
    const res = await bundle();
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = await res.json();
    expect(body.error.code).toBe('chunk_corrupt');
    const id = seeded.esx01.artifacts.find((a) => a.fileName === `${EXTENT1.deviceId}.hex`)!.id;
    expect(body.error.message).toContain(id);
    expect(body.error.message).toContain(`restore.sh needs a header dump of ${EXTENT1.deviceId}`);
  });
});
