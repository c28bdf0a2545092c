/**
 * A restore bundle is a streamed .tar.gz that GNU tar unpacks, whose SHA256SUMS
 * `sha256sum -c` verifies, holding — as of `at` — the volume's header dumps, .vh.sf,
 * the ESX host's inventory and the storage host's target export and snapshot list,
 * with a RESTORE.md and a restore.sh whose dry run prints the right dd line and whose
 * --apply restores a wiped table. Also: the LUN bundle, `at` in the past, a dump
 * taken after the accident, and ?redirect=1.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { EXTENT1, EXTENT2, HOUR, IQN, PROD, T0, extent1Dump, extent2Dump, prodVhSf, seedDatacenter } from './read-side-seed.js';

const run = promisify(execFile);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Every file under dir, relative, sorted. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

describeEachFlavour('restore bundles', (flavour) => {
  let catalog: TestCatalog;
  const temps: string[] = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    await seedDatacenter(catalog);
  });
  afterAll(async () => {
    await catalog?.close();
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  /** Downloads a bundle and unpacks it with GNU tar; returns the bundle root directory. */
  async function unpack(res: Response): Promise<{ root: string; name: string }> {
    expect(res.status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'vrc-bundle-'));
    temps.push(dir);
    const file = join(dir, 'bundle.tar.gz');
    writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
    await run('tar', ['-xzf', file, '-C', dir]);
    const [name] = readdirSync(dir).filter((n) => n !== 'bundle.tar.gz');
    return { root: join(dir, name), name };
  }

  const bundleFor = (path: string) => catalog.request(path).then(unpack);

  /**
   * The volume's bundle as seeded, downloaded and unpacked once for the tests that only read it
   * (the first three; a later test adds a capture): its answer's headers and its root directory.
   */
  let seededBundle: Promise<{ headers: Headers; root: string }> | undefined;
  const seededProdBundle = () => {
    seededBundle ??= catalog.request(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle`).then(async (res) => ({ headers: res.headers, ...(await unpack(res)) }));
    return seededBundle;
  };

  it('streams a .tar.gz whose SHA256SUMS verifies with sha256sum -c', async () => {
    const { headers, root } = await seededProdBundle();
    expect(headers.get('content-type')).toBe('application/gzip');
    expect(headers.get('content-disposition')).toMatch(/attachment; filename="vmfs-restore-5a1c3e7f-2b4d6e80-91a2-0050569a1b2c-\d{8}T\d{6}Z\.tar\.gz"/);
    const check = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: root });
    expect(check.stdout).not.toContain('FAILED');
    const listed = readFileSync(join(root, 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.slice(66))
      .sort();
    expect(listed).toEqual(listFiles(root).filter((f) => f !== 'SHA256SUMS'));
  });

  it('holds every artifact of the volume, its ESX host and its storage host, and nothing else', async () => {
    const { root } = await seededProdBundle();
    expect(listFiles(root)).toEqual(
      [
        'DR-PLAN.txt',
        'RESTORE.md',
        'SHA256SUMS',
        'bundle.json',
        'esx01/esx-inventory/inventory.txt',
        'esx01/vh-sf/prod-datastore-01.vh.sf',
        `esx01/vmfs-header/${EXTENT1.deviceId}.hex`,
        `esx01/vmfs-header/${EXTENT2.deviceId}.hex`,
        'restore.sh',
        'sol01/iscsitgt-smf/iscsitgt.xml',
        'sol01/zfs-snapshots/zfs-snapshots.txt',
      ].sort(),
    );
    expect(sha256(readFileSync(join(root, `esx01/vmfs-header/${EXTENT1.deviceId}.hex`)))).toBe(sha256(extent1Dump()));
    expect(sha256(readFileSync(join(root, `esx01/vmfs-header/${EXTENT2.deviceId}.hex`)))).toBe(sha256(extent2Dump()));
    expect(sha256(readFileSync(join(root, 'esx01/vh-sf/prod-datastore-01.vh.sf')))).toBe(sha256(prodVhSf()));
    expect(statSync(join(root, 'restore.sh')).mode & 0o111).not.toBe(0);
    const guide = readFileSync(join(root, 'RESTORE.md'), 'utf8');
    for (const s of [
      PROD.vmfsUuid,
      PROD.label,
      EXTENT1.deviceId,
      EXTENT2.deviceId,
      IQN,
      EXTENT1.zvol,
      'MBR #1, LBA 128',
      'Wiped partition table',
      'resignature',
      'LU GUID (NAA) differs',
      '.vh.sf',
      'Lost iSCSI target configuration',
    ]) {
      expect(guide, s).toContain(s);
    }
    const manifest = JSON.parse(readFileSync(join(root, 'bundle.json'), 'utf8'));
    expect(manifest.extents.map((e: { deviceId: string }) => e.deviceId)).toEqual([EXTENT1.deviceId, EXTENT2.deviceId]);
  });

  it('restore.sh verifies the bundle, prints the right dd line per extent, and its --apply restores a wiped table', async () => {
    const { root } = await seededProdBundle();
    // The accident: extent 1's first sector zeroed. The bundle's script puts it back (below); the dry run and --plan only read.
    const disk = join(mkdtempSync(join(tmpdir(), 'vrc-disk-')), 'lun3');
    temps.push(disk);
    const wiped = new Uint8Array(extent1Dump());
    wiped.fill(0, 0, 512);
    writeFileSync(disk, wiped);
    const [dry, plan, applied] = await Promise.all([
      run('sh', [join(root, 'restore.sh')]),
      // --plan prints the DR plan the bundle carries (after the same verification), and RESTORE.md holds it too.
      run('sh', [join(root, 'restore.sh'), '--plan']),
      run('sh', [join(root, 'restore.sh'), '--apply', '--extent', '1', '--device', `1=${disk}`]),
    ]);
    expect(dry.stdout).toContain('SHA256SUMS: 10 files verified');
    expect(plan.stdout).toContain('SHA256SUMS: 10 files verified');
    expect(plan.stdout).toContain('   svccfg import sol01/iscsitgt-smf/iscsitgt.xml\n');
    expect(plan.stdout).toContain(`NAA check (match): the VMFS header expects ${EXTENT1.deviceId} at LUN ${EXTENT1.lun}`);
    expect(plan.stdout).toContain(readFileSync(join(root, 'DR-PLAN.txt'), 'utf8'));
    const guide = readFileSync(join(root, 'RESTORE.md'), 'utf8');
    expect(guide).toContain('## DR plan');
    expect(guide).toContain(`   svccfg -s iscsitgt setprop param_prod_${EXTENT1.lun}/backing-store = astring: ${EXTENT1.zvol}\n`);
    for (const d of [EXTENT1.deviceId, EXTENT2.deviceId]) {
      expect(dry.stdout).toContain(`would run: dd if=esx01/vmfs-header/${d}.hex of=/vmfs/devices/disks/${d} bs=512 count=1 conv=notrunc`);
    }
    expect(applied.stdout).toContain('sector 0 written and read back');
    expect(sha256(readFileSync(disk))).toBe(sha256(extent1Dump()));
  });

  it("the LUN bundle holds that device's dumps and the rest of its volume's context", async () => {
    const { root, name } = await bundleFor(`/v1/luns/${EXTENT2.deviceId.slice(4).toUpperCase()}/restore-bundle`);
    expect(name).toMatch(new RegExp(`^vmfs-restore-${EXTENT2.deviceId}-`));
    const files = listFiles(root);
    expect(files).toContain(`esx01/vmfs-header/${EXTENT2.deviceId}.hex`);
    expect(files).not.toContain(`esx01/vmfs-header/${EXTENT1.deviceId}.hex`);
    expect(files).toContain('esx01/vh-sf/prod-datastore-01.vh.sf');
    expect(files).toContain('sol01/iscsitgt-smf/iscsitgt.xml');
    await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: root });
  });

  it('as of a time: only captures at or before it; nothing yet is 404; a bad time is 400', async () => {
    const before = new Date(T0.getTime() + HOUR / 2).toISOString();
    const { root } = await bundleFor(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle?at=${encodeURIComponent(before)}`);
    const files = listFiles(root);
    expect(files.some((f) => f.startsWith('sol01/'))).toBe(false);
    expect(files).toContain(`esx01/vmfs-header/${EXTENT1.deviceId}.hex`);
    const tooEarly = await catalog.request(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle?at=2020-01-01T00:00:00Z`);
    expect(tooEarly.status).toBe(404);
    expect(((await tooEarly.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await catalog.request(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle?at=yesterday`)).status).toBe(400);
    expect((await catalog.request('/v1/volumes/00000000-00000000-0000-000000000000/restore-bundle')).status).toBe(404);
  });

  it('with ?redirect=1 answers 302 to a presigned GET of the assembled bundle', async () => {
    const res = await catalog.request(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle?redirect=1`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const direct = await fetch(res.headers.get('location')!);
    const { root } = await unpack(direct);
    await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: root });
    expect(listFiles(root)).toContain('restore.sh');
  });

  it('after the accident, the bundle also keeps the newest dump that still had the table, and restore.sh uses it', async () => {
    // A later capture of extent 1 whose partition table is gone (the wiped datastore).
    await ingest(catalog, {
      host: 'esx01',
      hostKind: 'esxi',
      collectedAt: new Date(T0.getTime() + 3 * HOUR),
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: `${EXTENT1.deviceId}.hex`,
          sourcePath: `/vmfs/devices/disks/${EXTENT1.deviceId}`,
          device: EXTENT1.deviceId,
          bytes: extent1Dump({ scheme: 'none', startLba: 128 }),
        },
      ],
    });
    const { root } = await bundleFor(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle`);
    const dumps = listFiles(root).filter((f) => f.startsWith('esx01/vmfs-header/') && f.includes(EXTENT1.deviceId));
    expect(dumps).toHaveLength(2);
    const intact = dumps.find((f) => sha256(readFileSync(join(root, f))) === sha256(extent1Dump()))!;
    expect(intact).toBeTruthy();
    const dry = await run('sh', [join(root, 'restore.sh')]);
    expect(dry.stdout).toContain(`would run: dd if=${intact} of=/vmfs/devices/disks/${EXTENT1.deviceId} bs=512 count=1 conv=notrunc`);
  });
});
