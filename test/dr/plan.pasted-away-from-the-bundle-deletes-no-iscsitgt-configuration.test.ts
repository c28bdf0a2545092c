/**
 * The DR plan as text (`GET /v1/volumes/{uuid}/dr-plan?format=text`, DR-PLAN.txt) pasted whole
 * into each shell, with the storage commands (svcadm, svccfg, iscsitadm, esxcli) logging what
 * they are asked: in the restore bundle's directory, where the saved export is, the iscsitgt
 * step deletes the configuration, imports the copy renamed to the header's LUN and trades the
 * lun-list; pasted anywhere else (the plan read from the API on the storage host) it deletes
 * nothing and trades nothing — a bare `svccfg delete iscsitgt` removed the whole target
 * configuration there, and the import after it found no file to bring it back.
 *
 * svccfg(8) (illumos-gate usr/src/man/man8/svccfg.8): `delete` removes the service and its
 * whole configuration from the repository; `import` reads the file named. The storage host's grep
 * is Solaris 10's /usr/bin/grep, which takes only -b -c -h -i -l -n -s -v -w (grep(1), Solaris 10
 * Reference Manual; -q is /usr/xpg4/bin/grep's): the paste runs with a grep that refuses any other.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDrPlan, renderDrPlanText, type DrPlanInput, type PlanSource } from '../../api/dr/plan.js';
import { availableShells } from '../api/restore-harness.js';
import { iscsitgtExport } from '../fixtures/text-fixtures.js';

const GUID = '600144F0C0FFEE00000049A1B2C3D4E5';
const NAA = `naa.${GUID.toLowerCase()}`;

function src(kind: string, fileName: string, host: string): PlanSource {
  return { artifactId: `${kind}-${host}`, kind, host, fileName, collectedAt: '2026-11-28T02:00:00.000Z', bundlePath: `${host}/${kind}/${fileName}` };
}

/** The saved LU is LUN 3; the VMFS header expects LUN 4, so the plan also moves it. */
const input = (headerLun: number): DrPlanInput => ({
  vmfsUuid: '49a1b2c3-5d2e1f00-1a2b-001b21c0ffee',
  label: null,
  at: null,
  extents: [{ deviceId: NAA, lun: headerLun, vml: null, host: 'esx01', source: src('vmfs-header', 'vmfs-header.bin', 'esx01') }],
  lus: [
    {
      stack: 'iscsitgt',
      storageHost: 'thumper',
      deviceId: NAA,
      lun: 3,
      iqn: 'iqn.1986-03.com.sun:02:prod',
      alias: null,
      backingStore: '/dev/zvol/rdsk/tank/iscsi/lun3',
      sizeBytes: 1 << 30,
      targetName: 'prod',
      portalGroups: [],
      initiators: [],
      chap: false,
      source: src('iscsitgt-smf', 'iscsitgt.xml', 'thumper'),
    },
  ],
  snapshots: [],
});

describe('the iscsitgt step of a DR plan pasted whole', () => {
  const temps: string[] = [];
  afterAll(() => {
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  /** Runs the plan text as a shell reads a paste (each line, whatever the last one did); returns the commands called. */
  function paste(shell: string[], text: string, withBundle: boolean): string[] {
    const dir = mkdtempSync(join(tmpdir(), 'vrc-plan-paste-'));
    temps.push(dir);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const log = join(dir, 'calls.log');
    for (const name of ['svcadm', 'svccfg', 'iscsitadm', 'esxcli']) {
      // svccfg import fails as the real one does when the file is not there.
      const script = `#!/bin/sh\necho "${name} $*" >> '${log}'\n[ "${name} $1" != 'svccfg import' ] || [ -s "$2" ] || { echo "svccfg: $2: No such file" >&2; exit 1; }\n`;
      writeFileSync(join(bin, name), script);
      chmodSync(join(bin, name), 0o755);
    }
    writeFileSync(
      join(bin, 'grep'),
      `#!/bin/sh\nfor a in "$@"; do case $a in -*[!bchilnsvw]*) echo "grep: illegal option -- \${a#-}" >&2; echo 'Usage: grep -hblcnsviw pattern file . . .' >&2; exit 2 ;; esac; done\nexec /bin/grep "$@"\n`,
    );
    chmodSync(join(bin, 'grep'), 0o755);
    const work = join(dir, 'work');
    mkdirSync(work);
    if (withBundle) {
      mkdirSync(join(work, 'thumper/iscsitgt-smf'), { recursive: true });
      writeFileSync(
        join(work, 'thumper/iscsitgt-smf/iscsitgt.xml'),
        iscsitgtExport({ targets: [{ name: 'prod', iqn: 'iqn.1986-03.com.sun:02:prod', luns: [{ lun: 3, guid: GUID }] }] }),
      );
    }
    const run = spawnSync(shell[0], shell.slice(1), { cwd: work, input: text, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    expect(run.error).toBeUndefined();
    try {
      return readFileSync(log, 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  }

  const shells = [...availableShells().map((s) => s.argv), ['bash']];

  it('in the bundle directory deletes, imports the LUN-renamed copy and trades the lun-list', () => {
    const text = renderDrPlanText(buildDrPlan(input(4)));
    for (const shell of shells) {
      const calls = paste(shell, text, true);
      expect(calls, shell.join(' ')).toEqual(
        expect.arrayContaining([
          'svccfg delete iscsitgt',
          'svccfg import thumper/iscsitgt-smf/iscsitgt.lun4.xml',
          'svccfg -s iscsitgt delpropvalue target_prod/lun-list 3',
          'svccfg -s iscsitgt addpropvalue target_prod/lun-list 4',
        ]),
      );
      expect(calls.indexOf('svccfg delete iscsitgt')).toBeLessThan(calls.indexOf('svccfg import thumper/iscsitgt-smf/iscsitgt.lun4.xml'));
    }
  });

  it('anywhere else deletes no configuration and changes no lun-list', () => {
    for (const lun of [3, 4]) {
      const text = renderDrPlanText(buildDrPlan(input(lun)));
      for (const shell of shells) {
        const calls = paste(shell, text, false);
        const label = `${shell.join(' ')}, header LUN ${lun}`;
        expect(calls, label).not.toContain('svccfg delete iscsitgt');
        expect(
          calls.filter((c) => / (del|add)propvalue /.test(c)),
          label,
        ).toEqual([]);
        // The import was tried and failed: the shell said so, and nothing was lost.
        expect(
          calls.some((c) => c.startsWith('svccfg import ')),
          label,
        ).toBe(true);
      }
    }
  });
});
