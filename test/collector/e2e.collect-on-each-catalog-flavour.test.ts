/**
 * The collector bundle against each catalog flavour this machine can run (embedded
 * always; Postgres + S3 when TEST_DATABASE_URL / S3_ENDPOINT are set, where upload
 * URLs are bound to each chunk's Content-MD5): a storage host and an ESXi host that
 * see the same LU are joined into one volume, unchanged hosts upload nothing, and
 * 4 KiB changed uploads one chunk.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { MiB, stageEsxiHost, stageSolarisHost, stagedIds, type EsxiHost, type SolarisHost } from '../helpers/staged-hosts.js';
import { buildBundle, runJson } from './run-collector.js';

const GUID = '600144F0C0FFEE000000000000000051';
const COMSTAR = { vendor: 'SUN', model: 'COMSTAR', revision: '1.0' };

describeEachFlavour('collector end to end', (flavour) => {
  let catalog: TestCatalog;
  let esxi: EsxiHost;
  let storage: SolarisHost;

  const collect = (h: { root: string; env: NodeJS.ProcessEnv; dir: string }, name: string) =>
    runJson(['collect', '--json', '--root', h.root, '--host', name, '--spool', join(h.dir, 'spool'), '--url', catalog.url, '--retries', '2'], {
      ...h.env,
      CATALOG_TOKEN: catalog.adminToken,
    });

  beforeAll(async () => {
    buildBundle();
    catalog = await startTestCatalog(flavour, { listen: true });
    esxi = await stageEsxiHost([{ deviceId: `naa.${GUID.toLowerCase()}`, index: 51, lun: 3, sizeBytes: 40 * MiB, options: COMSTAR }]);
    storage = await stageSolarisHost([{ guid: GUID, dataset: 'tank/esx/lun3', lun: 3, vmfs: { deviceId: '', index: 51, lun: 3 }, sizeBytes: 40 * MiB }], {
      comstar: true,
    });
  }, 300_000);

  afterAll(async () => {
    await catalog?.close();
    esxi?.cleanup();
    storage?.cleanup();
  });

  it("joins the storage host's backing store and the ESXi host's device into one volume", { timeout: 180_000 }, async () => {
    for (const [h, name] of [
      [esxi, 'esxi-a'],
      [storage, 'san-a'],
    ] as const) {
      const r = await collect(h, name);
      expect(r.code, r.stderr).toBe(0);
      for (const a of r.json.captures[0].artifacts) expect([a.kind, a.parseStatus]).toEqual([a.kind, 'ok']);
    }
    const res = await catalog.request(`/v1/volumes/${stagedIds(51).vmfsUuid}`);
    expect(res.status).toBe(200);
    const volume = (await res.json()) as { label: string; extents: Array<{ host: string; deviceId: string | null }>; targets: Array<{ host?: string }> };
    expect(volume.label).toBe('datastore51');
    const hosts = new Set(volume.extents.filter((e) => e.deviceId === `naa.${GUID.toLowerCase()}`).map((e) => e.host));
    expect(hosts).toEqual(new Set(['esxi-a', 'san-a']));
    expect(volume.targets.length).toBeGreaterThan(0);
  });

  it('uploads nothing for unchanged hosts, in one request, and one chunk for 4 KiB changed', { timeout: 180_000 }, async () => {
    // The catalog's request log (every request, whatever the level) while the unchanged run goes.
    const requests: string[] = [];
    const { logger } = catalog.services;
    const debug = logger.debug;
    logger.debug = (msg: string, fields?: Record<string, unknown>) => {
      if (msg === 'request') requests.push(`${fields?.method} ${fields?.path} ${fields?.status}`);
      return debug.call(logger, msg, fields);
    };
    let again: Awaited<ReturnType<typeof collect>>;
    try {
      again = await collect(esxi, 'esxi-a');
    } finally {
      logger.debug = debug;
    }
    expect([again.code, again.json.bytesUploaded, again.json.putRequests], again.stderr + JSON.stringify(again.json.captures[0]?.error)).toEqual([0, 0, 0]);
    // Every artifact unchanged: the begin commits the capture, and the run sends nothing else.
    expect(requests).toEqual(['POST /v1/captures 200']);
    expect(again.json.captures[0].state).toBe('committed');
    expect(
      again.json.captures[0].artifacts.filter((a: { status: string }) => a.status === 'ok').every((a: { artifactId: string | null }) => a.artifactId),
    ).toBe(true);
    const fd = openSync(join(esxi.root, esxi.devices[0].path), 'r+');
    writeSync(fd, randomBytes(4096), 0, 4096, 10 * MiB + 4096);
    closeSync(fd);
    const changed = await collect(esxi, 'esxi-a');
    expect(changed.code, changed.stderr).toBe(0);
    expect([changed.json.chunksUploaded, changed.json.putRequests]).toEqual([1, 1]);
  });
});
