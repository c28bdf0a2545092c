/**
 * The generated files of a bundle (api/bundle/render.ts) as pure functions of a
 * selection, as tables: which files, in which order and mode; SHA256SUMS last, in the
 * `<hex>  <path>` form `sha256sum -c` reads (GNU coreutils, "sha256sum invocation":
 * two spaces, text mode), listing every other file with the hash of its bytes;
 * bundle.json without chunk lists; RESTORE.md's sections following what the selection holds.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generatedFiles, renderBundleJson, renderRestoreGuide, renderSha256Sums } from '../../api/bundle/render.js';
import { composeSelection } from '../../api/bundle/select.js';
import type { BundleSelection } from '../../api/bundle/types.js';
import type { DrPlan } from '../../api/dr/plan.js';
import { artifact, descriptor, header, rows, snapshot, target } from './rows-fixture.js';

const VOL = '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c';
const AT = new Date('2026-10-01T05:00:00Z');
const NOW = new Date('2026-10-02T00:00:00Z');
const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function selection(over: Partial<Parameters<typeof rows>[0]> = {}): BundleSelection {
  const chunks = [{ sha256: 'cd'.repeat(32), size: 5, encoding: 'identity' as const, storedSize: 5 }];
  const chunked = artifact({ kind: 'esx-inventory', fileName: 'inventory.txt', chunks });
  return composeSelection(
    rows({
      volumes: [VOL],
      volume: { label: 'prod', version: 'VMFS-3.31' },
      extents: [header()],
      descriptors: [descriptor(VOL)],
      inventories: [chunked],
      targets: [target()],
      snapshots: [snapshot()],
      ...over,
    }),
    { vmfsUuid: VOL },
    AT,
    NOW,
  )!;
}

const DR_PLAN: DrPlan = { vmfsUuid: VOL, label: 'prod', at: null, complete: true, naaChecks: [], missing: [], storageFactsFrom: [], steps: [] };

describe('renderSha256Sums', () => {
  it.each([
    { entries: [], text: '' },
    { entries: [{ path: 'RESTORE.md', sha256: 'a'.repeat(64) }], text: `${'a'.repeat(64)}  RESTORE.md\n` },
    {
      entries: [
        { path: 'b', sha256: '1'.repeat(64) },
        { path: 'esx01/vh-sf/x.vh.sf', sha256: '2'.repeat(64) },
      ],
      text: `${'1'.repeat(64)}  b\n${'2'.repeat(64)}  esx01/vh-sf/x.vh.sf\n`,
    },
  ])('$entries.length entries', ({ entries, text }) => expect(renderSha256Sums(entries)).toBe(text));
});

describe('generatedFiles', () => {
  const table: Array<{ name: string; drPlan?: DrPlan; paths: string[] }> = [
    { name: 'without a DR plan', paths: ['RESTORE.md', 'restore.sh', 'bundle.json', 'SHA256SUMS'] },
    { name: 'with a DR plan', drPlan: DR_PLAN, paths: ['RESTORE.md', 'restore.sh', 'bundle.json', 'DR-PLAN.txt', 'SHA256SUMS'] },
  ];
  it.each(table)('$name: files, modes, and SHA256SUMS over everything else', ({ drPlan, paths }) => {
    const sel = { ...selection(), drPlan };
    const files = generatedFiles(sel);
    expect(files.map((f) => f.path)).toEqual(paths);
    expect(files.map((f) => f.mode)).toEqual(paths.map((p) => (p === 'restore.sh' ? 0o755 : 0o644)));
    const sums = new TextDecoder().decode(files.at(-1)!.bytes);
    expect(sums).toBe(
      renderSha256Sums([
        ...files.slice(0, -1).map((f) => ({ path: f.path, sha256: hex(f.bytes) })),
        ...sel.files.map((f) => ({ path: f.path, sha256: f.sha256 })),
      ]),
    );
    expect(sums.trim().split('\n')).toHaveLength(paths.length - 1 + sel.files.length);
  });
  it('the same selection renders the same bytes (a copy of it too)', () => {
    const sel = { ...selection(), drPlan: DR_PLAN };
    const a = generatedFiles(sel);
    const b = generatedFiles(structuredClone(sel));
    expect(b.map((f) => [f.path, hex(f.bytes)])).toEqual(a.map((f) => [f.path, hex(f.bytes)]));
  });
});

describe('renderBundleJson', () => {
  it('the selection without chunk lists, and the DR plan or null', () => {
    const sel = selection();
    for (const [drPlan, expected] of [
      [undefined, null],
      [DR_PLAN, DR_PLAN],
    ] as const) {
      const json = JSON.parse(renderBundleJson({ ...sel, drPlan }));
      expect(Object.keys(json)).toEqual([
        'format',
        'vmfsUuid',
        'deviceId',
        'label',
        'version',
        'at',
        'generatedAt',
        'volumes',
        'files',
        'extents',
        'targets',
        'snapshots',
        'drPlan',
        'leftOut',
        'olderDumps',
      ]);
      expect(json).toMatchObject({
        format: 'vmfs-catalog-bundle/1',
        vmfsUuid: VOL,
        deviceId: null,
        label: 'prod',
        version: 'VMFS-3.31',
        at: sel.at,
        drPlan: expected,
        // Nothing left out of an intact selection (api/bundle/intact.ts fills it when a file is damaged).
        leftOut: [],
        // No extent restored from a dump older than its device's newest capture (api/bundle/fallback.ts).
        olderDumps: [],
      });
      expect(json.files).toHaveLength(sel.files.length);
      for (const f of json.files) expect(f).not.toHaveProperty('chunks');
      expect(json.extents).toEqual(sel.plan.extents);
    }
  });
});

describe('renderRestoreGuide', () => {
  const many = Array.from({ length: 53 }, (_, i) => snapshot({ name: `tank/vmfs/lun3@s${i}` }));
  const table: Array<{ name: string; over: Partial<Parameters<typeof rows>[0]>; has: string[]; hasNot: string[] }> = [
    {
      name: 'a full bundle',
      over: {},
      has: [
        '# Restore bundle: VMFS volume 5a1c3e7f-2b4d6e80-91a2-0050569a1b2c ("prod")',
        '## Extents',
        '## iSCSI LUs presenting these devices',
        '## ZFS snapshots of the backing stores',
        '| 1 | naa.600144f0aabbccddeeff001122334455 | 3 | esx01 |',
      ],
      hasNot: ['No header dump', '## DR plan'],
    },
    { name: 'no header dump', over: { extents: [] }, has: ["No header dump of this volume's devices was captured by then"], hasNot: ['| 1 | naa.'] },
    { name: 'no LUs, no snapshots', over: { targets: [], snapshots: [] }, has: ['## Files'], hasNot: ['## iSCSI LUs', '## ZFS snapshots'] },
    {
      name: 'more than 50 snapshots: the first 50 and a count',
      over: { snapshots: many },
      has: ['`tank/vmfs/lun3@s49`', '- … 3 more in the zfs-snapshots list'],
      hasNot: ['`tank/vmfs/lun3@s50`'],
    },
  ];
  it.each(table)('$name', ({ over, has, hasNot }) => {
    const md = renderRestoreGuide(selection(over));
    for (const s of has) expect(md).toContain(s);
    for (const s of hasNot) expect(md).not.toContain(s);
  });
  it('a DR plan adds its section and its file row', () => {
    const md = renderRestoreGuide({ ...selection(), drPlan: DR_PLAN });
    expect(md).toContain('## DR plan');
    expect(md).toContain('| DR-PLAN.txt |');
  });
  it('a LUN bundle is titled by its device', () => {
    const sel = composeSelection(rows({ volumes: [VOL], extents: [header()] }), { deviceId: 'naa.600144f0aabbccddeeff001122334455' }, AT, NOW)!;
    expect(renderRestoreGuide({ ...sel, vmfsUuid: null })).toContain('# Restore bundle: LUN naa.600144f0aabbccddeeff001122334455');
    expect(renderRestoreGuide(sel)).toContain(`Volumes on this device: ${VOL}.`);
  });
});
