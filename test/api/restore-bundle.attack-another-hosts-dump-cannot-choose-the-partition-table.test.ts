/**
 * A hostile collector cannot choose the partition table restore.sh writes onto another
 * host's LUN. Hosts of a cluster share LUNs, so the catalog takes a header dump of device D
 * from any host's token; before, the bundle restored D from the newest intact dump of all
 * hosts, so an attacker's newer dump with the VMFS partition moved (start LBA 2048 instead
 * of 128) decided what `--apply` wrote, and the LVM header check did not see it (the real
 * device does carry D's id).
 *
 * Through the real API (each host with its own collector token, GET restore-bundle), and
 * restore.sh under the shells of restore-harness (`shellsFor`) against a device image whose sector 0
 * was wiped: D is disputed, --apply refuses it naming both hosts and their start LBAs and
 * leaves the image as it was; `--source 1=<victim>` writes the victim's saved sector;
 * `--source 1=<attacker>` is the operator's explicit choice, and then the ordinary header
 * check still applies (the moved table puts the LVM header where the device has none) until
 * --force-device; a host that is not a candidate, or an extent that is not disputed, stops
 * the script before anything runs. RESTORE.md lists each candidate, bundle.json and the DR
 * plan show the dispute. Two hosts whose dumps agree restore as before, unasked.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RestoreExtent } from '../../api/bundle/restore-script.js';
import { buildVmfsDisk, SHORT_DUMP_DATA_OFFSET, type VmfsImageOptions } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { collectorTokens, ingest } from '../helpers/ingest-client.js';
import { availableShells, runScriptAsync, type Shell, shellsFor } from './restore-harness.js';

const shells = availableShells();

const DISPUTED = {
  deviceId: 'naa.600144f0aabbccddeeff0011223344d1',
  vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1d01',
  segmentUuid: '5a1c3e7e-11223344-5566-0050569a1d01',
};
const AGREED = {
  deviceId: 'naa.600144f0aabbccddeeff0011223344d2',
  vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1d02',
  segmentUuid: '5a1c3e7e-11223344-5566-0050569a1d02',
};
const VICTIM = 'esx-victim';
const ATTACKER = 'esx-attacker';
const PEER = 'esx-peer';
const T_VICTIM = '2026-10-01T02:00:00.000Z';
const T_ATTACKER = '2026-10-02T02:00:00.000Z';

/**
 * Whether two byte strings are equal. The dumps and device images here are ~4 MiB: compared
 * byte for byte, not hashed (a dozen SHA-256s of them a test).
 */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

/**
 * An MBR header dump of a VMFS3 volume (LVM 3), as a host reads it off the LUN. What is disputed
 * is sector 0 and where it puts the LVM header; the dump's length is not the point. At the data
 * offset ESX writes (0x1100000) a dump through the FS descriptor is ~20 MB, which every
 * restore.sh run checks against SHA256SUMS and every device image copies: SHORT_DUMP_DATA_OFFSET
 * (0x200000) puts the descriptor near 4 MiB, past both tables' LVM headers (sectors 128 + 2048
 * and 2048 + 2048).
 */
const dump = (ids: typeof DISPUTED, over: VmfsImageOptions = {}) =>
  buildVmfsDisk({ lvmMajor: 3, scheme: 'mbr', ...ids, label: 'prod', lun: 3, dumpLength: 'descriptor', dataOffset: SHORT_DUMP_DATA_OFFSET, ...over });

describeEachFlavour('another host claiming the same LUN', (flavour) => {
  let catalog: TestCatalog;
  const temps: string[] = [];
  /**
   * Each volume's bundle, downloaded and unpacked once: the tests only read it, and each shell
   * writes its device images under names of its own, so the shells run side by side.
   */
  let disputedRoot: string;
  let agreedRoot: string;
  const victimDump = dump(DISPUTED);
  // The same device and volume, with the table moved: the partition (and so its LVM header) at LBA 2048.
  const attackerDump = dump(DISPUTED, { startLba: 2048 });
  const agreedDump = dump(AGREED);

  /** The bundle of `vmfsUuid`, unpacked: its root directory. */
  async function bundle(vmfsUuid: string): Promise<string> {
    const res = await catalog.request(`/v1/volumes/${vmfsUuid}/restore-bundle`);
    expect(res.status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'vrc-dispute-'));
    temps.push(dir);
    writeFileSync(join(dir, 'b.tar.gz'), new Uint8Array(await res.arrayBuffer()));
    execFileSync('tar', ['-xzf', join(dir, 'b.tar.gz'), '-C', dir]);
    return join(dir, readdirSync(dir).find((n) => n !== 'b.tar.gz')!);
  }

  /** A device image of the victim's LUN after the accident: sector 0 wiped. */
  function wipedDisk(dir: string, name: string, of: Uint8Array): { path: string; before: Uint8Array } {
    const path = join(dir, name);
    const wiped = new Uint8Array(of);
    wiped.fill(0, 0, 512);
    writeFileSync(path, wiped);
    return { path, before: wiped };
  }

  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const tokens = await collectorTokens(catalog, [VICTIM, ATTACKER, PEER]);
    const commitDump = (host: string, at: string, bytes: Uint8Array, ids: typeof DISPUTED) =>
      ingest(catalog, {
        host,
        hostKind: 'esx',
        token: tokens[host],
        collectedAt: new Date(at),
        artifacts: [{ kind: 'vmfs-header', fileName: `${ids.deviceId}.hex`, sourcePath: '/dev/sdc', device: '/dev/sdc', bytes }],
      });
    await commitDump(VICTIM, T_VICTIM, victimDump, DISPUTED);
    await commitDump(ATTACKER, T_ATTACKER, attackerDump, DISPUTED);
    await commitDump(VICTIM, T_VICTIM, agreedDump, AGREED);
    await commitDump(PEER, T_ATTACKER, agreedDump, AGREED);
    disputedRoot = await bundle(DISPUTED.vmfsUuid);
    agreedRoot = await bundle(AGREED.vmfsUuid);
  });
  afterAll(async () => {
    await catalog?.close();
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  it('the bundle carries both hosts dumps, and bundle.json, RESTORE.md and the DR plan show the dispute', async () => {
    const root = disputedRoot;
    const [extent] = (JSON.parse(readFileSync(join(root, 'bundle.json'), 'utf8')) as { extents: RestoreExtent[] }).extents;
    expect(extent.deviceId).toBe(DISPUTED.deviceId);
    expect(extent.dispute?.map((c) => [c.host, c.headerCollectedAt, c.partition.startLba])).toEqual([
      [ATTACKER, T_ATTACKER, 2048],
      [VICTIM, T_VICTIM, 128],
    ]);
    // Each candidate's dump is in the bundle, byte for byte what its host sent.
    const [attackerFile, victimFile] = extent.dispute!.map((c) => c.headerFile!);
    expect(same(readFileSync(join(root, attackerFile)), attackerDump), attackerFile).toBe(true);
    expect(same(readFileSync(join(root, victimFile)), victimDump), victimFile).toBe(true);

    const guide = readFileSync(join(root, 'RESTORE.md'), 'utf8');
    expect(guide).toContain(`### Extent 1 (${DISPUTED.deviceId}) is disputed`);
    expect(guide).toContain(`| ${ATTACKER} | 3 | ${T_ATTACKER} | MBR #1, LBA 2048–`);
    expect(guide).toContain(`| ${VICTIM} | 3 | ${T_VICTIM} | MBR #1, LBA 128–`);
    expect(guide).toContain(`# from ${VICTIM}: sh restore.sh --apply --source 1=${VICTIM}\n#   dd if=${victimFile} of=/dev/sdc bs=512 count=1 conv=notrunc`);
    expect(guide).toContain(
      `# from ${ATTACKER}: sh restore.sh --apply --source 1=${ATTACKER}\n#   dd if=${attackerFile} of=/dev/sdc bs=512 count=1 conv=notrunc`,
    );

    const plan = await catalog.request(`/v1/volumes/${DISPUTED.vmfsUuid}/dr-plan`);
    expect(plan.status).toBe(200);
    const { naaChecks } = (await plan.json()) as { naaChecks: Array<{ deviceId: string; message: string }> };
    expect(naaChecks.find((c) => c.deviceId === DISPUTED.deviceId)?.message).toContain(
      `header dumps of ${DISPUTED.deviceId} from ${ATTACKER}, ${VICTIM} disagree on its partition table`,
    );
  });

  /**
   * The shells' tests run side by side, each a dozen restore.sh runs over its dumps: on a machine
   * several times oversubscribed one test can take longer than the default bound while the others run.
   */
  const SHELL_TEST_TIMEOUT_MS = 180_000;

  /** A file name of the shell's own in a shared bundle directory. */
  const own = (shell: Shell, name: string) => `${shell.name.replace(/\W+/g, '-')}-${name}`;

  it.concurrent.for(shellsFor(flavour, shells))(
    '$name: --apply refuses the disputed extent and writes nothing; --source picks the host',
    { timeout: SHELL_TEST_TIMEOUT_MS },
    async (shell, { expect }) => {
      const root = disputedRoot;
      const script = join(root, 'restore.sh');
      const disk = wipedDisk(root, own(shell, 'disk.img'), victimDump);
      const again = wipedDisk(root, own(shell, 'disk2.img'), victimDump);

      const refused = await runScriptAsync(shell, script, ['--apply', '--device', disk.path]);
      expect(refused.code, refused.out).toBe(2);
      const line = refused.out.split('\n').find((l) => l.includes('REFUSED'));
      expect(line, refused.out).toContain(`${ATTACKER} (LUN 3, dump of ${T_ATTACKER}): MBR #1, LBA 2048–`);
      expect(line).toContain(`${VICTIM} (LUN 3, dump of ${T_VICTIM}): MBR #1, LBA 128–`);
      expect(line).toContain('--source 1=HOST');
      expect(refused.out).not.toContain('running:');
      expect(same(readFileSync(disk.path), disk.before), 'the device image was written').toBe(true);

      // Runs that read the disk but write nothing (or are stopped before anything runs) go
      // together, and with the first run of the attacker's table on the second image.
      // Not a candidate, or not a disputed extent: one line, exit 1, nothing run. Which words
      // --source takes is the script's parsing against the candidates the bundle names (both
      // hosts, checked above for this flavour's bundle): it is checked under every shell once,
      // with the embedded catalog's bundle.
      const badSources = flavour === 'embedded' ? [`1=esx-nobody`, `2=${VICTIM}`, '1=', VICTIM] : [];
      const [dry, unconfirmed, ...bad] = await Promise.all([
        runScriptAsync(shell, script, ['--device', disk.path]),
        // The attacker's table, picked: the operator's explicit choice, still under the LVM header check.
        runScriptAsync(shell, script, ['--apply', '--device', again.path, `--source=1=${ATTACKER}`]),
        ...badSources.map((b) => runScriptAsync(shell, script, ['--apply', '--device', disk.path, '--source', b])),
      ]);
      // The dry run shows what each candidate would run, and its header check: only the victim's table finds D's LVM header.
      expect(dry.code, dry.out).toBe(0);
      expect(dry.out).toContain(`extent 1, if picked (--source 1=${VICTIM})`);
      expect(dry.out).toContain(`LVM header at sector ${128 + 2048} carries ${DISPUTED.deviceId}: the right device`);
      expect(dry.out).toContain(`no LVM header at sector ${2048 + 2048}`);
      for (const [i, r] of bad.entries()) {
        expect(r.code, `${badSources[i]}: ${r.out}`).toBe(1);
        expect(r.out.trim().split('\n'), r.out).toHaveLength(1);
        expect(r.out).toMatch(/^restore\.sh: /);
      }
      expect(same(readFileSync(disk.path), disk.before), 'the device image was written').toBe(true);
      expect(unconfirmed.code, unconfirmed.out).toBe(2);
      expect(unconfirmed.out).toContain('REFUSED: cannot confirm');
      expect(same(readFileSync(again.path), again.before), 'the device image was written').toBe(true);

      const [victim, forced] = await Promise.all([
        runScriptAsync(shell, script, ['--apply', '--device', disk.path, '--source', `1=${VICTIM}`]),
        runScriptAsync(shell, script, ['--apply', '--device', again.path, '--source', `1=${ATTACKER}`, '--force-device', again.path]),
      ]);
      expect(victim.code, victim.out).toBe(0);
      expect(victim.out).toContain('sector 0 written and read back');
      expect(same(readFileSync(disk.path), victimDump), "the device image is not the victim's dump").toBe(true);
      expect(forced.code, forced.out).toBe(0);
      const written = readFileSync(again.path);
      expect(same(written.subarray(0, 512), attackerDump.subarray(0, 512)), "sector 0 is not the attacker's").toBe(true);
      expect(same(written.subarray(512), victimDump.subarray(512)), 'past sector 0 the image changed').toBe(true);
    },
  );

  it.concurrent.for(shellsFor(flavour, shells))(
    '$name: two hosts whose dumps agree restore as before, with no --source',
    { timeout: SHELL_TEST_TIMEOUT_MS },
    async (shell, { expect }) => {
      const root = agreedRoot;
      const [extent] = (JSON.parse(readFileSync(join(root, 'bundle.json'), 'utf8')) as { extents: RestoreExtent[] }).extents;
      expect(extent).toMatchObject({ deviceId: AGREED.deviceId, host: PEER, dispute: null });
      expect(readFileSync(join(root, 'RESTORE.md'), 'utf8')).not.toContain(') is disputed');
      const disk = wipedDisk(root, own(shell, 'disk.img'), agreedDump);
      const [applied, r] = await Promise.all([
        runScriptAsync(shell, join(root, 'restore.sh'), ['--apply', '--device', disk.path]),
        // --source has nothing to pick here.
        runScriptAsync(shell, join(root, 'restore.sh'), ['--source', `1=${PEER}`]),
      ]);
      expect(applied.code, applied.out).toBe(0);
      expect(applied.out).not.toContain('DISPUTED');
      expect(same(readFileSync(disk.path), agreedDump), 'the device image is not the dump').toBe(true);
      expect(r.code, r.out).toBe(1);
      expect(r.out).toContain('extent 1 is not disputed');
    },
  );
});
