/**
 * Through the real API (each host with its own collector token, a listening server): two
 * hosts' newest dumps of one device disagree on the partition table and report different
 * LUNs. The DR plan (JSON, text, and DR-PLAN.txt and RESTORE.md in the bundle) names each
 * host's LUN, says whose dump the check's LUN is, and gives each host's restore.sh line with
 * the extent's number in the bundle; the victim's line from DR-PLAN.txt, pasted in the unpacked
 * bundle under every shell of restore-harness, restores the victim's saved sector onto the
 * wiped device.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PICK_ONE, type DrPlan } from '../../api/dr/plan.js';
import { buildVmfsDisk, SHORT_DUMP_DATA_OFFSET } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { collectorTokens, ingest } from '../helpers/ingest-client.js';
import { availableShells, sha256 } from './restore-harness.js';

const shells = availableShells();

const IDS = {
  deviceId: 'naa.600144f0aabbccddeeff0011223344d7',
  vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1d07',
  segmentUuid: '5a1c3e7e-11223344-5566-0050569a1d07',
};
const VICTIM = 'esx-victim';
const ATTACKER = 'esx-attacker';

describeEachFlavour('a disputed extent in the DR plan', (flavour) => {
  let catalog: TestCatalog;
  const work = mkdtempSync(join(tmpdir(), 'vrc-dr-dispute-'));
  // The device both hosts say they read: an image here, so the pasted line can write it.
  const device = join(work, 'lun.img');
  // What the hosts dispute is the table and the LUN, not the dumps' length: ~4–5 MiB at
  // SHORT_DUMP_DATA_OFFSET, not ~20 MiB (each shell's run checks them, the device image copies one).
  const short = { dumpLength: 'descriptor', dataOffset: SHORT_DUMP_DATA_OFFSET } as const;
  const victimDump = buildVmfsDisk({ lvmMajor: 3, scheme: 'mbr', ...IDS, label: 'prod', lun: 3, ...short });
  const attackerDump = buildVmfsDisk({ lvmMajor: 3, scheme: 'mbr', ...IDS, label: 'prod', lun: 7, startLba: 2048, ...short });

  /** The unpacked restore bundle (fetched once: the shells' runs below block this process, the server's too). */
  let root: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    const tokens = await collectorTokens(catalog, [VICTIM, ATTACKER]);
    for (const [host, at, bytes] of [
      [VICTIM, '2026-10-01T02:00:00.000Z', victimDump],
      [ATTACKER, '2026-10-02T02:00:00.000Z', attackerDump],
    ] as const) {
      await ingest(catalog, {
        host,
        hostKind: 'esx',
        token: tokens[host],
        collectedAt: new Date(at),
        artifacts: [{ kind: 'vmfs-header', fileName: `${IDS.deviceId}.hex`, sourcePath: device, device, bytes }],
      });
    }
    const res = await catalog.request(`/v1/volumes/${IDS.vmfsUuid}/restore-bundle`);
    expect(res.status).toBe(200);
    const dir = mkdtempSync(join(work, 'bundle-'));
    writeFileSync(join(dir, 'b.tar.gz'), new Uint8Array(await res.arrayBuffer()));
    execFileSync('tar', ['-xzf', join(dir, 'b.tar.gz'), '-C', dir]);
    root = join(dir, readdirSync(dir).find((n) => n !== 'b.tar.gz')!);
  });
  afterAll(async () => {
    await catalog?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const line = (host: string) => `sh restore.sh --apply --source 1=${host}`;

  it('names each host with its LUN and its restore.sh line, in JSON and text', async () => {
    const res = await catalog.request(`/v1/volumes/${IDS.vmfsUuid}/dr-plan`);
    expect(res.status).toBe(200);
    const plan = (await res.json()) as DrPlan;
    const [check] = plan.naaChecks;
    expect(check).toMatchObject({ deviceId: IDS.deviceId, headerLun: 7 });
    expect(check.dispute).toEqual({
      extent: 1,
      candidates: [
        { host: ATTACKER, lun: 7, command: line(ATTACKER) },
        { host: VICTIM, lun: 3, command: line(VICTIM) },
      ],
    });
    expect(check.message).toContain(
      `Their dumps report different LUNs (${ATTACKER}: LUN 7, ${VICTIM}: LUN 3); the LUN above is from ${ATTACKER}'s dump, the newest.`,
    );
    const text = await (await catalog.request(`/v1/volumes/${IDS.vmfsUuid}/dr-plan?format=text`)).text();
    expect(text).toContain(`\n#   ${line(ATTACKER)}\n#   ${line(VICTIM)}\n`);
    expect(text).not.toContain('N=HOST');
  });

  it.each(shells)("$name: the victim's line from DR-PLAN.txt, pasted in the bundle, restores the victim's table", (shell) => {
    const guide = readFileSync(join(root, 'RESTORE.md'), 'utf8');
    expect(guide).toContain(`  \`\`\`\n  ${PICK_ONE}\n  #   ${line(ATTACKER)}\n  #   ${line(VICTIM)}\n  \`\`\``);
    // The whole plan pasted runs neither line: each is a comment, the operator's pick is to run one without its '#'.
    const plan = readFileSync(join(root, 'DR-PLAN.txt'), 'utf8');
    const whole = spawnSync(
      shell.argv[0],
      [
        ...shell.argv.slice(1),
        '-c',
        plan
          .split('\n')
          .filter((l) => l.includes('--source'))
          .join('\n'),
      ],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );
    expect(whole.status).toBe(0);
    expect(whole.stdout + whole.stderr).toBe('');
    const pasted = plan
      .split('\n')
      .find((l) => l.includes(`--source 1=${VICTIM}`))!
      .replace(/^#/, '')
      .trim();
    expect(pasted).toBe(line(VICTIM));

    const wiped = new Uint8Array(victimDump);
    wiped.fill(0, 0, 512);
    writeFileSync(device, wiped);
    const r = spawnSync(shell.argv[0], [...shell.argv.slice(1), '-c', pasted], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('sector 0 written and read back');
    expect(sha256(readFileSync(device))).toBe(sha256(victimDump));
  });
});
