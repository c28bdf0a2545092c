/**
 * A whole site against the real catalog: an OpenSolaris storage host (iscsitgt +
 * COMSTAR, zvol backing stores) and an agentless ESXi host reached through `ssh`
 * from a proxy. The storage host's backing-store dump and the ESXi host's dump join
 * the same VMFS volume; secrets never reach the catalog; legacy backups import.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVhSf, buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { iscsitgtExport, FIXTURE_SECRETS } from '../fixtures/text-fixtures.js';
import { spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import {
  fakeSsh,
  MiB,
  sshCalls,
  stageEsxiHost,
  stageFolder,
  stageSolarisHost,
  stagedIds,
  type EsxiHost,
  type SolarisHost,
  type StagedHost,
} from '../helpers/staged-hosts.js';
import { buildBundle, freePort, runJson } from './run-collector.js';

const TOKEN = 'collector-e2e-bootstrap-token-site-0123456789';
const SERVER_START_MS = 180_000;
const GUID = '600144F0C0FFEE000000000000000001';
const COMSTAR = { vendor: 'SUN', model: 'COMSTAR', revision: '1.0' };

describe('a storage host and an agentless ESXi host', { timeout: 120_000 }, () => {
  let dataDir: string;
  let server: ServerProcess;
  let url: string;
  let storage: SolarisHost;
  let esxi: EsxiHost;
  let proxy: StagedHost;

  /** The bytes the catalog stored for a one-chunk artifact. */
  const storedChunk = (sha: string): Buffer => {
    const raw = readFileSync(join(dataDir, 'blobs', 'chunks', sha.slice(0, 2), sha));
    return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  };

  beforeAll(async () => {
    buildBundle();
    dataDir = mkdtempSync(join(tmpdir(), 'collector-site-data-'));
    const port = await freePort();
    server = await spawnServer({ DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: TOKEN, PORT: String(port) }, SERVER_START_MS);
    url = server.url;
    storage = await stageSolarisHost([
      { guid: GUID, dataset: 'tank/iscsi/lun0', lun: 0, vmfs: { deviceId: '', index: 7, lun: 0 }, sizeBytes: 48 * MiB },
      { guid: '600144F0C0FFEE000000000000000002', dataset: 'tank/iscsi/lun1', lun: 1, vmfs: false, sizeBytes: 8 * MiB },
    ]);
    // The ESXi host sees the same LU: same bytes, same VMFS volume.
    esxi = await stageEsxiHost([{ deviceId: `naa.${GUID.toLowerCase()}`, index: 7, lun: 0, sizeBytes: 48 * MiB, options: COMSTAR }]);
    proxy = stageFolder('staged-proxy-');
    fakeSsh(proxy, esxi.root, esxi.bin);
  }, SERVER_START_MS + 60_000);

  afterAll(async () => {
    await server?.stop();
    for (const h of [storage, esxi, proxy]) h?.cleanup();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('captures the storage host: both stacks, every LU, the VMFS backing store linked to its GUID', async () => {
    const r = await runJson(['collect', '--json', '--root', storage.root, '--host', 'thumper', '--spool', join(storage.dir, 'spool'), '--url', url], {
      ...storage.env,
      CATALOG_TOKEN: TOKEN,
    });
    expect(r.code, r.stderr).toBe(0);
    const [c] = r.json.captures;
    expect(c.state).toBe('committed');
    expect(c.hostKind).toBe('solaris');
    const byKind = (k: string) => c.artifacts.filter((a: any) => a.kind === k);
    for (const k of ['iscsitgt-smf', 'stmf-smf', 'comstar-listing', 'zfs-snapshots']) {
      expect(byKind(k).map((a: any) => [a.status, a.parseStatus])).toEqual([['ok', 'ok']]);
    }
    const dumps = byKind('vmfs-header');
    expect(dumps.map((a: any) => [a.sourcePath, a.status])).toEqual([
      ['/dev/zvol/rdsk/tank/iscsi/lun0', 'ok'],
      ['/dev/zvol/rdsk/tank/iscsi/lun1', 'skipped'],
    ]);
    expect(dumps[0].device).toBe(`naa.${GUID.toLowerCase()}`);
    expect(dumps[0].parseStatus).toBe('ok');
    expect(dumps[0].found.vmfsUuid).toEqual([stagedIds(7).vmfsUuid]);
    expect(byKind('iscsitgt-smf')[0].found.backingStore).toContain('/dev/zvol/rdsk/tank/iscsi/lun0');

    // Secrets were redacted before hashing: the stored text holds none of them.
    for (const k of ['iscsitgt-smf', 'comstar-listing']) {
      const text = storedChunk(byKind(k)[0].sha256).toString('utf8');
      for (const secret of storage.secrets) expect(text).not.toContain(secret);
    }
  });

  it('captures an agentless ESXi host through ssh, joining the same volume', async () => {
    const r = await runJson(['collect', '--json', '--ssh', 'root@esxi01', '--spool', join(proxy.dir, 'spool'), '--url', url], {
      ...proxy.env,
      CATALOG_TOKEN: TOKEN,
    });
    expect(r.code, r.stderr).toBe(0);
    const [c] = r.json.captures;
    expect([c.host, c.hostKind, c.state]).toEqual(['esxi01', 'esxi', 'committed']);
    const dump = c.artifacts.find((a: any) => a.kind === 'vmfs-header');
    expect(dump.parseStatus).toBe('ok');
    expect(dump.found.vmfsUuid).toEqual([stagedIds(7).vmfsUuid]);
    expect(dump.found.deviceId).toEqual([`naa.${GUID.toLowerCase()}`]);
    expect(c.artifacts.find((a: any) => a.kind === 'vh-sf').found.label).toEqual(['datastore7']);
    // Every ssh call refused prompts and unknown host keys; reads were dd streams.
    const calls = sshCalls(proxy);
    expect(calls.length).toBeGreaterThan(3);
    for (const call of calls) expect(call.opts).toEqual(expect.arrayContaining(['BatchMode=yes', 'ConnectTimeout=10', 'StrictHostKeyChecking=yes']));
    expect(calls.some((x) => /^dd if=\/vmfs\/devices\/disks\/naa\.600144f0c0ffee000000000000000001 bs=1M skip=0 count=3/.test(x.remote))).toBe(true);
  });

  it('reports an unreachable ssh host as a failed run (exit 1: nothing was read), not a crash', async () => {
    const r = await runJson(['collect', '--json', '--ssh', 'root@unreachable-esxi', '--spool', join(proxy.dir, 'spool'), '--url', url], {
      ...proxy.env,
      CATALOG_TOKEN: TOKEN,
    });
    expect(r.code).toBe(1);
    expect(r.json.captures[0].state).toBe('empty');
    expect(r.json.captures[0]).toMatchObject({ hostKind: null, error: expect.stringMatching(/^could not be reached over ssh: ssh: connect to host/) });
  });

  it('imports legacy backups, one capture per distinct modification time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'legacy-'));
    try {
      const day1 = new Date('2024-03-01T02:15:00Z');
      const day1Later = new Date('2024-03-01T02:16:00Z');
      const day2 = new Date('2024-03-02T02:15:00Z');
      const files: Array<[string, Uint8Array | string, Date]> = [
        ['vmfs-header-backup-sdb.hex', buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 11 }), day1],
        ['vmfs-metadata-sdb-vh.sf.bu', buildVhSf({ lvmMajor: 3 }), day1Later],
        [
          'iscsitgt-export.xml',
          iscsitgtExport({
            targets: [
              { name: 't0', iqn: 'iqn.1986-03.com.sun:02:legacy', luns: [{ lun: 0, guid: GUID.toLowerCase(), backingStore: '/dev/zvol/rdsk/tank/old' }] },
            ],
            passwords: true,
          }),
          day2,
        ],
        ['notes.txt', 'nothing the catalog knows\n', day2],
      ];
      for (const [name, data, when] of files) {
        writeFileSync(join(dir, name), data);
        utimesSync(join(dir, name), when, when);
      }
      const r = await runJson(['import', '--json', '--host', 'oldesx', '--spool', join(dir, 'spool'), '--url', url, ...files.map(([n]) => join(dir, n))], {
        ...proxy.env,
        CATALOG_TOKEN: TOKEN,
      });
      expect(r.code, r.stderr).toBe(2);
      expect(r.json.captures.map((c: any) => [c.collectedAt, c.state])).toEqual([
        [day1.toISOString(), 'committed'],
        [day1Later.toISOString(), 'committed'],
        [day2.toISOString(), 'committed'],
      ]);
      const all = r.json.captures.flatMap((c: any) => c.artifacts);
      expect(all.map((a: any) => [a.fileName, a.kind, a.status, a.parseStatus])).toEqual([
        ['notes.txt', 'unknown', 'error', null],
        ['vmfs-header-backup-sdb.hex', 'vmfs-header', 'ok', 'ok'],
        ['vmfs-metadata-sdb-vh.sf.bu', 'vh-sf', 'ok', 'ok'],
        ['iscsitgt-export.xml', 'iscsitgt-smf', 'ok', 'ok'],
      ]);
      const xml = all.find((a: any) => a.kind === 'iscsitgt-smf');
      const stored = storedChunk(xml.sha256).toString('utf8');
      for (const secret of Object.values(FIXTURE_SECRETS)) expect(stored).not.toContain(secret);
      expect(existsSync(join(dir, 'spool', 'captures'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('restores the volume from the catalog: every file verified, the dumps byte-exact', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'restore-e2e-')), 'bundle');
    try {
      const r = await runJson(['restore', '--json', '--volume', stagedIds(7).vmfsUuid, '-o', out, '--url', url], { ...proxy.env, CATALOG_TOKEN: TOKEN });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.verified).toBe(true);
      const names = r.json.files.map((f: any) => f.path.split('/').pop());
      expect(names).toEqual(expect.arrayContaining(['RESTORE.md', 'restore.sh']));
      expect(names).not.toContain('SHA256SUMS');
      expect(r.json.sha256sums).toMatch(/\/SHA256SUMS$/);
      // The header dump in the bundle is the device's own first bytes.
      const device = readFileSync(join(storage.root, storage.lus[0].backingStore));
      const dumps = r.json.files.filter((f: any) => f.path.includes('vmfs-header'));
      expect(dumps.length).toBeGreaterThan(0);
      for (const d of dumps) {
        const bytes = readFileSync(join(out, d.path));
        expect(bytes.equals(device.subarray(0, bytes.length))).toBe(true);
      }
      const lun = await runJson(['restore', '--json', '--device', `naa.${GUID.toLowerCase()}`, '-o', `${out}-lun`, '--url', url], {
        ...proxy.env,
        CATALOG_TOKEN: TOKEN,
      });
      expect(lun.code, lun.stderr).toBe(0);
    } finally {
      rmSync(join(out, '..'), { recursive: true, force: true });
    }
  });
});
