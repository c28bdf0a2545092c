/**
 * Older dumps as a pure function (api/bundle/fallback.ts `olderDumps`): for each extent the
 * bundle restores from a dump older than the newest capture that saw its device, the dump
 * used, the newer capture, why it was passed over, and the LUN / partition entry the two
 * disagree on — as a table of cases.
 */
import { describe, expect, it } from 'vitest';
import { dumpInsteadOf, olderDumps } from '../../api/bundle/fallback.js';
import { composeSelection } from '../../api/bundle/select.js';
import type { ExtentRow } from '../../api/bundle/types.js';
import { header, hoursAfterT0, inventoryExtent, rows, wiped } from './rows-fixture.js';

const VOL = '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c';
const AT = new Date('2026-10-01T05:00:00Z');
const NOW = new Date('2026-10-02T00:00:00.000Z');

/** The selection made of `kept` (what the bundle may use) and olderDumps over `facts` (everything the catalog holds). */
function olderOf(facts: ExtentRow[], leftOut: ExtentRow[] = []) {
  const out = new Set(leftOut.map((r) => r.artifact.id));
  const kept = facts.filter((r) => !out.has(r.artifact.id));
  const sel = composeSelection(rows({ volumes: [VOL], extents: kept }), { vmfsUuid: VOL }, AT, NOW)!;
  return { sel, older: olderDumps(facts, sel.plan.extents, sel.files, out) };
}

describe('olderDumps', () => {
  it('is empty when the newest capture of the device is the dump used', () => {
    const newest = header({ artifact: { collectedAt: hoursAfterT0(2) } });
    const old = header({ artifact: { collectedAt: hoursAfterT0(0) } });
    expect(olderOf([newest, old]).older).toEqual([]);
  });

  const cases: Array<{ name: string; newer: ExtentRow; leftOut: boolean; reason: string; differences: unknown[] }> = [
    {
      name: 'a damaged newer dump, same facts',
      newer: header({ artifact: { collectedAt: hoursAfterT0(3), captureId: 'c-newer' } }),
      leftOut: true,
      reason: 'left-out',
      differences: [],
    },
    {
      name: 'a damaged newer dump at another LUN',
      newer: header({ lun: 9, artifact: { collectedAt: hoursAfterT0(3), captureId: 'c-newer' } }),
      leftOut: true,
      reason: 'left-out',
      differences: [{ fact: 'lun', dump: 3, newest: 9 }],
    },
    {
      name: 'a damaged newer dump with another partition entry',
      newer: header({ startLba: 2048, artifact: { collectedAt: hoursAfterT0(3), captureId: 'c-newer' } }),
      leftOut: true,
      reason: 'left-out',
      differences: [{ fact: 'partition', dump: 'MBR #1, LBA 128–209715199, type 0xfb', newest: 'MBR #1, LBA 2048–209715199, type 0xfb' }],
    },
    {
      name: 'a newer dump that lost the table: the wipe, not a difference',
      newer: wiped({ artifact: { collectedAt: hoursAfterT0(3), captureId: 'c-newer' } }),
      leftOut: false,
      reason: 'lost-table',
      differences: [],
    },
    {
      name: 'a newer inventory seeing the device at another LUN, no newer dump',
      newer: { ...inventoryExtent('esx01', 'naa.600144f0aabbccddeeff001122334455'), lun: 5 },
      leftOut: false,
      reason: 'no-dump',
      differences: [{ fact: 'lun', dump: 3, newest: 5 }],
    },
  ];
  it.each(cases)('$name', ({ newer, leftOut, reason, differences }) => {
    if (newer.source === 'inventory') newer.artifact.collectedAt = hoursAfterT0(3);
    const used = header({ artifact: { collectedAt: hoursAfterT0(0), captureId: 'c-used' } });
    const { sel, older } = olderOf([newer, used], leftOut ? [newer] : []);
    expect(older).toHaveLength(1);
    expect(older[0]).toMatchObject({
      extent: 1,
      used: { artifactId: used.artifact.id, captureId: 'c-used', host: 'esx01', collectedAt: hoursAfterT0(0), path: sel.plan.extents[0].headerFile },
      newest: { artifactId: newer.artifact.id, collectedAt: hoursAfterT0(3) },
      reason,
      differences,
    });
    if (differences.length) {
      expect(older[0].warning).toMatch(
        /^Extent 1 \(naa\.600144f0aabbccddeeff001122334455\) is restored from esx01's header dump of .* \(capture c-used, artifact /,
      );
      expect(older[0].warning).toContain('before running restore.sh --apply, check');
    } else {
      expect(older[0].warning).toBeNull();
    }
  });

  it("names another host's dump as what replaces a left-out one", () => {
    const newer = header({ artifact: { host: 'esx03', collectedAt: hoursAfterT0(3) } });
    const used = header({ artifact: { collectedAt: hoursAfterT0(0), captureId: 'c-used' } });
    const { sel } = olderOf([newer, used], [newer]);
    expect(dumpInsteadOf([newer, used], sel.plan.extents, sel.files, newer.artifact.id)).toMatchObject({
      artifactId: used.artifact.id,
      captureId: 'c-used',
      host: 'esx01',
    });
    // An artifact no extent row names (an inventory) has no dump standing in for it.
    expect(dumpInsteadOf([newer, used], sel.plan.extents, sel.files, 'not-a-dump')).toBeNull();
  });
});
