/**
 * The whole path an operator walks on the worst day, with the real pieces: the collector
 * bundle imports legacy backups into a catalog started as `npm start` does; the volume is
 * found by UUID, upper-case NAA and `vml.`; its view joins the extent and the iSCSI LU;
 * a download's SHA-256 matches; the restore bundle verifies with `sha256sum -c` and its
 * restore.sh dry run prints the dd line.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVhSf, buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { iscsitgtExport } from '../fixtures/text-fixtures.js';
import { ROOT, spawnServer, type ServerProcess } from '../helpers/spawn-server.js';

const run = promisify(execFile);
const TOKEN = `e2e-admin-${randomBytes(16).toString('hex')}`;
const NAA_HEX = DEFAULTS.deviceId.slice(4);
const VML = `vml.02000c0000${NAA_HEX}565241494420`; // LUN 12, model "VRAID "
const IQN = 'iqn.1986-03.com.sun:02:e2e-lun12';

describe('import → search → download → restore bundle, with the collector bundle and a real server', () => {
  const work = mkdtempSync(join(tmpdir(), 'vrc-e2e-'));
  let server: ServerProcess;
  const header = buildVmfsDisk({ scheme: 'mbr', startLba: 128, lvmMajor: 3, dumpLength: 'legacy' });
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const get = (path: string) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });

  beforeAll(async () => {
    server = await spawnServer({ DATA_DIR: join(work, 'data'), CATALOG_BOOTSTRAP_TOKEN: TOKEN });
    const files = join(work, 'backups');
    mkdirSync(files);
    writeFileSync(join(files, 'vmfs-header-backup-sdb.hex'), header);
    writeFileSync(join(files, 'vmfs-metadata-sdb-vh.sf.bu'), buildVhSf({}));
    writeFileSync(
      join(files, 'iscsitgt.xml'),
      iscsitgtExport({
        targets: [{ name: 'lun12', iqn: IQN, luns: [{ lun: 0, guid: NAA_HEX, backingStore: '/dev/zvol/rdsk/tank/iscsi/lun12', blocks: 0x6400000 }] }],
      }),
    );
    const env = { ...process.env, CATALOG_URL: server.url, CATALOG_TOKEN: TOKEN };
    for (const [host, names] of [
      ['esx01', ['vmfs-header-backup-sdb.hex', 'vmfs-metadata-sdb-vh.sf.bu']],
      ['san01', ['iscsitgt.xml']],
    ] as const) {
      const { stdout } = await run(
        process.execPath,
        [join(ROOT, 'dist/collector.cjs'), 'import', '--json', '--host', host, '--spool', join(work, `spool-${host}`), ...names.map((n) => join(files, n))],
        { env },
      );
      expect(JSON.stringify(JSON.parse(stdout))).not.toContain(TOKEN);
    }
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it.each([
    ['the VMFS UUID', DEFAULTS.vmfsUuid],
    ['the UUID without dashes', DEFAULTS.vmfsUuid.replaceAll('-', '')],
    ['an upper-case NAA', `NAA.${NAA_HEX.toUpperCase()}`],
    ['a vml id', VML],
  ])('search finds the volume by %s', async (_what, q) => {
    const res = await get(`/v1/search?q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { hits: Array<{ type: string; vmfsUuid?: string; deviceId?: string }> };
    const found = body.hits.some((h) => h.vmfsUuid === DEFAULTS.vmfsUuid || h.deviceId === DEFAULTS.deviceId);
    expect(found).toBe(true);
  });

  it('the volume view joins the header dump, the .vh.sf and the LU of the storage host', async () => {
    const res = await get(`/v1/volumes/${DEFAULTS.vmfsUuid}`);
    expect(res.status).toBe(200);
    const v = (await res.json()) as {
      label: string;
      extents: Array<{ deviceId: string; lun: number; host: string }>;
      targets: Array<{ iqn: string; deviceId: string; storageHost: string }>;
      artifacts: Array<{ id: string; fileName: string; sha256: string }>;
    };
    expect(v.label).toBe(DEFAULTS.label);
    expect(v.extents).toContainEqual(expect.objectContaining({ deviceId: DEFAULTS.deviceId, lun: 12, host: 'esx01' }));
    expect(v.targets).toContainEqual(expect.objectContaining({ iqn: IQN, deviceId: DEFAULTS.deviceId, storageHost: 'san01' }));
    const dump = v.artifacts.find((a) => a.fileName === 'vmfs-header-backup-sdb.hex');
    expect(dump?.sha256).toBe(sha(header));

    const content = await get(`/v1/artifacts/${dump!.id}/content`);
    expect(content.status).toBe(200);
    expect(sha(new Uint8Array(await content.arrayBuffer()))).toBe(sha(header));
  });

  it('the restore bundle verifies with sha256sum -c and the restore.sh dry run prints the dd line', async () => {
    const res = await get(`/v1/volumes/${DEFAULTS.vmfsUuid}/restore-bundle`);
    expect(res.status).toBe(200);
    const tgz = join(work, 'bundle.tar.gz');
    writeFileSync(tgz, new Uint8Array(await res.arrayBuffer()));
    const out = join(work, 'restore');
    mkdirSync(out);
    await run('tar', ['xzf', tgz, '-C', out]);
    const top = readdirSync(out).includes('SHA256SUMS') ? out : join(out, readdirSync(out)[0]);
    const check = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: top });
    expect(check.stdout).not.toMatch(/FAILED/);
    const dry = await run('sh', ['restore.sh'], { cwd: top });
    expect(dry.stdout).toMatch(/dd if=\S+ of=\S+ bs=512 count=1/);
  });
});
