/**
 * RESTORE.md's table of a disputed extent gives each host's LUN, as bundle.json's candidates
 * and the DR plan do: hosts whose dumps disagree on the partition table often disagree on
 * the LUN too (a LUN re-presented under another id), and the table had no LUN column.
 */
import { expect, it } from 'vitest';
import { renderBundleJson, renderRestoreGuide } from '../../api/bundle/render.js';
import { composeSelection } from '../../api/bundle/select.js';
import { descriptor, header, hoursAfterT0, rows } from './rows-fixture.js';

const VOL = '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c';

function selection() {
  const at = (host: string, h: number) => ({ host, collectedAt: hoursAfterT0(h) });
  return composeSelection(
    rows({
      volumes: [VOL],
      volume: { label: 'prod', version: 'VMFS-3.31' },
      extents: [
        header({ lun: 3, artifact: at('esx01', 1) }),
        header({ lun: 7, startLba: 2048, artifact: at('esx02', 2) }),
        header({ lun: null, startLba: 63, artifact: at('esx03', 3) }),
      ],
      descriptors: [descriptor(VOL)],
    }),
    { vmfsUuid: VOL },
    new Date(hoursAfterT0(4)),
    new Date(hoursAfterT0(5)),
  )!;
}

it("has a LUN column with each host's LUN, the same as bundle.json's candidates", () => {
  const sel = selection();
  const guide = renderRestoreGuide(sel);
  const lines = guide.split('\n');
  const head = lines.indexOf('| host | LUN | dump collected | partition table (from the dump) | saved dump | device path |');
  expect(head, guide).toBeGreaterThan(0);
  const hostRows = lines.slice(head + 2, lines.indexOf('', head));
  const lunOf = Object.fromEntries(hostRows.map((l) => l.split(' | ').slice(0, 2)).map(([h, lun]) => [h.slice(2), lun]));
  expect(lunOf).toEqual({ esx01: '3', esx02: '7', esx03: '—' });
  const candidates = (JSON.parse(renderBundleJson(sel)) as { extents: Array<{ dispute: Array<{ host: string; lun: number | null }> }> }).extents[0].dispute;
  expect(Object.fromEntries(candidates.map((c) => [c.host, c.lun ?? '—']))).toEqual({ esx01: 3, esx02: 7, esx03: '—' });
});
