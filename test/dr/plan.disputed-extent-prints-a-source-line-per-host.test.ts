/**
 * On a disputed extent the DR plan prints, under its NAA check, one restore.sh line per
 * candidate host — `sh restore.sh --apply --source N=HOST`, with the extent's number in the
 * bundle and the host as restore.sh prints and matches it — where it printed `--source N=HOST`
 * as a placeholder; and when the hosts' dumps report different LUNs it names each, and whose
 * dump the check's LUN is. A host name is a collector's word: pasted alone under every shell
 * of restore-harness, each printed line runs restore.sh with exactly that host picked and
 * nothing else, whatever the name holds (spaces, quotes, `$(…)`, a newline).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RestoreCandidate, RestoreExtent, RestorePlan } from '../../api/bundle/restore-script.js';
import { buildDrPlan, PICK_ONE, renderDrPlanText, type DrPlanInput, type PlanSource } from '../../api/dr/plan.js';
import { availableShells, writeBundle } from '../api/restore-harness.js';

const shells = availableShells();
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

const QUOTE = "esx'; touch pwned-quote #";
const DOLLAR = 'esx$(touch pwned-dollar) "and" `touch pwned-tick`';
const SPACE = 'esx 01';
const NEWLINE = 'esx\ntouch pwned-newline';
const HOSTS = [QUOTE, DOLLAR, SPACE, NEWLINE];
/** What restore.sh prints for each (control characters escaped). */
const PRINTED = [QUOTE, DOLLAR, SPACE, 'esx\\x0atouch pwned-newline'];

const DEVICE = 'naa.600144f0aabbccddeeff0011223344f2';
const candidate = (host: string, i: number): RestoreCandidate => ({
  host,
  lun: i === 1 ? 9 : 4,
  devicePath: '/nonexistent/vrc-test-device',
  headerFile: `h${i}.hex`,
  headerCollectedAt: `2026-10-0${9 - i}T02:00:00.000Z`,
  partition: { scheme: 'mbr', index: 1, startLba: 128 + i, endLba: 209715199, type: '0xfb', missing: false },
});
const dispute = HOSTS.map(candidate);
const partition = { scheme: 'mbr' as const, index: 1, startLba: 128, endLba: 209715199, type: '0xfb', missing: false };
/** Extent 1 is another device; the disputed one is extent 2, as restore.sh numbers them. */
const extents: RestoreExtent[] = [
  {
    number: 1,
    host: 'esx-a',
    deviceId: 'naa.600144f0aabbccddeeff0011223344f1',
    vml: null,
    lun: 2,
    devicePath: '/nonexistent/vrc-test-other',
    headerFile: 'other.hex',
    headerCollectedAt: '2026-10-01T02:00:00.000Z',
    partition,
    expectedIdHex: '600144f0aabbccddeeff0011223344f1',
    dispute: null,
  },
  { number: 2, deviceId: DEVICE, vml: null, expectedIdHex: DEVICE.slice(4), ...dispute[0], dispute },
];
const restorePlan: RestorePlan = {
  vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1f01',
  label: 'prod',
  at: '2026-10-10T00:00:00.000Z',
  generatedAt: 'now',
  extents,
};

const source = (host: string, fileName: string): PlanSource => ({
  artifactId: fileName,
  kind: 'vmfs-header',
  host,
  fileName,
  collectedAt: '2026-10-08T02:00:00.000Z',
  bundlePath: fileName,
});
/** The plan's input as api/dr/gather.ts makes it from these restore extents. */
const input: DrPlanInput = {
  vmfsUuid: restorePlan.vmfsUuid!,
  label: 'prod',
  at: null,
  extents: extents.map((e) => ({
    deviceId: e.deviceId!,
    lun: e.lun,
    vml: e.vml,
    host: e.host,
    source: source(e.host, e.headerFile!),
    dispute: e.dispute ? { extent: e.number, candidates: e.dispute.map((c) => ({ host: c.host, lun: c.lun })) } : null,
  })),
  lus: [],
  snapshots: [],
};

describe('a disputed extent in the DR plan', () => {
  const plan = buildDrPlan(input);
  const check = plan.naaChecks.find((c) => c.deviceId === DEVICE)!;
  const text = renderDrPlanText(plan);

  it('lists each candidate with its LUN and its restore.sh line, and says whose LUN the check uses', () => {
    expect(plan.naaChecks.find((c) => c.deviceId !== DEVICE)?.dispute).toBeNull();
    expect(check.dispute?.extent).toBe(2);
    expect(check.dispute?.candidates.map((c) => [c.host, c.lun])).toEqual(HOSTS.map((h, i) => [h, i === 1 ? 9 : 4]));
    expect(check.dispute?.candidates[2].command).toBe("sh restore.sh --apply --source '2=esx 01'");
    expect(check.dispute?.candidates[0].command).toBe(`sh restore.sh --apply --source '2=esx'\\''; touch pwned-quote #'`);
    expect(check.headerLun).toBe(4);
    expect(check.message).toContain('until --source 2=HOST picks the host whose dump is right');
    expect(check.message).toContain(`Their dumps report different LUNs (${QUOTE}: LUN 4, ${DOLLAR}: LUN 9, ${SPACE}: LUN 4, ${NEWLINE}: LUN 4)`);
    expect(check.message).toContain(`the LUN above is from ${QUOTE}'s dump, the newest.`);
    // Dumps that agree on the LUN are not said to differ.
    const sameLun = buildDrPlan({ ...input, extents: [{ ...input.extents[1], dispute: { extent: 2, candidates: HOSTS.map((host) => ({ host, lun: 4 })) } }] });
    expect(sameLun.naaChecks[0].message).not.toContain('different LUNs');
  });

  it('prints each line alone, after the check, as a comment (pasted whole, the plan applies no candidate), with no control character', () => {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith(`# NAA check (no-lu): no captured LU presents ${DEVICE}`));
    expect(lines[at + 1]).toBe(PICK_ONE);
    expect(lines.slice(at + 2, at + 2 + HOSTS.length)).toEqual(check.dispute!.candidates.map((c) => `#   ${c.command}`));
    expect(text).not.toContain('--source N=HOST');
    expect(/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)).toBe(false);
  });

  describe.each(shells)('$name', (shell) => {
    it.each(PRINTED.map((printed, i) => [printed, i] as const))('the line for %s, pasted, picks that host and runs nothing else', (printed, i) => {
      const dir = mkdtempSync(join(tmpdir(), 'vrc-dr-source-'));
      temps.push(dir);
      writeBundle(dir, restorePlan, Object.fromEntries(['other.hex', ...dispute.map((c) => c.headerFile!)].map((f) => [f, new Uint8Array(512)])));
      const line = check.dispute!.candidates[i].command;
      const r = spawnSync(shell.argv[0], [...shell.argv.slice(1), '-c', line], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      const out = r.stdout + r.stderr;
      // Picked: that host's dump (each has its own time) is the one restore.sh works on; the device is not there, so nothing is written.
      expect(out, out).toContain(`extent 2, from ${printed}'s dump of ${dispute[i].headerCollectedAt}, picked with --source: `);
      expect(out).not.toContain('DISPUTED');
      expect(r.status, out).toBe(2);
      expect(readdirSync(dir).filter((f) => f.startsWith('pwned'))).toEqual([]);
    });
  });
});
