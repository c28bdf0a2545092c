/**
 * The bundle's files and their paths (api/bundle/files.ts), as tables: `safeName` keeps
 * every path one plain component per level (no separator, no leading dot, nothing a
 * shell or a `sha256sum -c` line trips on); two artifacts on one path never collide;
 * an artifact named twice travels once; the order is headers, descriptor copies,
 * inventories, undelete archives, storage configuration.
 */
import { describe, expect, it } from 'vitest';
import { bundleFiles, bundleRoot, compactTime, safeName } from '../../api/bundle/files.js';
import { artifact, descriptor, header, hoursAfterT0, wiped } from './rows-fixture.js';

describe('safeName', () => {
  const table: Array<[string, string]> = [
    ['naa.600144f0aabbccddeeff001122334455.hex', 'naa.600144f0aabbccddeeff001122334455.hex'],
    ['prod-datastore-01.vh.sf', 'prod-datastore-01.vh.sf'],
    ['user@host+x=1,2', 'user@host+x=1,2'],
    ['../../etc/passwd', '__.._etc_passwd'],
    ['..', '_'],
    ['.hidden', '_hidden'],
    ['...vh.sf', '_vh.sf'],
    ['', '_'],
    ['/', '_'],
    ['a/b\\c', 'a_b_c'],
    ['vmhba1:0:3:1', 'vmhba1_0_3_1'],
    ['x; rm -rf / #', 'x__rm_-rf____'],
    ['$(touch pwned)', '__touch_pwned_'],
    ['`id`', '_id_'],
    ["it's", 'it_s'],
    ['two  spaces\tand tab', 'two__spaces_and_tab'],
    ['line\nbreak\r', 'line_break_'],
    ['esc\u001b[31m', 'esc__31m'],
    ['datastore-ü', 'datastore-_'],
    ['rtl\u202eexe.txt', 'rtl_exe.txt'],
    ['*?[]', '____'],
    ['-rf', '-rf'],
    ['a'.repeat(200), 'a'.repeat(120)],
  ];
  it.each(table)('%j → %j', (input, out) => {
    expect(safeName(input)).toBe(out);
    expect(out).toMatch(/^[A-Za-z0-9_@+=,-][A-Za-z0-9._@+=,-]{0,119}$/);
  });
});

describe('bundle root and compact times', () => {
  it.each([
    ['5a1c3e7f-2b4d6e80-91a2-0050569a1b2c', '2026-10-01T02:00:00.000Z', 'vmfs-restore-5a1c3e7f-2b4d6e80-91a2-0050569a1b2c-20261001T020000Z'],
    ['naa.600144f0aabbccddeeff001122334455', '2026-10-01T02:03:04.567Z', 'vmfs-restore-naa.600144f0aabbccddeeff001122334455-20261001T020304Z'],
    ['../x y', '2026-10-01T02:00:00.000Z', 'vmfs-restore-__x_y-20261001T020000Z'],
  ])('%s at %s → %s', (subject, at, root) => {
    expect(bundleRoot(subject, at)).toBe(root);
  });
  it('drops separators and fractions', () => expect(compactTime('2026-12-31T23:59:59.999Z')).toBe('20261231T235959Z'));
});

describe('bundleFiles', () => {
  const none = { headers: [], descriptors: [], inventories: [], undelete: [], storageConfig: [] };

  it('nothing chosen: no files', () => expect(bundleFiles(none)).toEqual([]));

  it('paths are <host>/<kind>/<file name>, each part through safeName', () => {
    const a = artifact({ host: 'esx 01', kind: 'esx-inventory', fileName: '../inventory.txt' });
    expect(bundleFiles({ ...none, inventories: [a] }).map((f) => f.path)).toEqual(['esx_01/esx-inventory/__inventory.txt']);
  });

  it('hostile host, kind and file names never leave their directory', () => {
    const hostile = ['..', '../..', '/etc', '.', '', 'a/../../b', '$(id)', 'x\ny'];
    const files = bundleFiles({ ...none, inventories: hostile.map((s, i) => artifact({ host: s, kind: hostile[(i + 1) % hostile.length], fileName: s })) });
    expect(files).toHaveLength(hostile.length);
    for (const f of files) {
      const parts = f.path.split('/');
      expect(parts).toHaveLength(3);
      for (const p of parts) expect(p).toMatch(/^[A-Za-z0-9_@+=,-][A-Za-z0-9._@+=,-]*$/);
    }
  });

  const dupCases = [
    { name: 'same host, kind and file name from two source paths', other: { sourcePath: '/dev/disks/other' } },
    { name: 'file names that differ only where safeName flattens them', first: { fileName: 'vmhba1 0 3.txt' }, other: { fileName: 'vmhba1:0:3.txt' } },
    { name: 'hosts that differ only where safeName flattens them', first: { host: 'esx 01' }, other: { host: 'esx/01' } },
  ];
  it.each(dupCases)('a second artifact on a taken path gets its capture time and id in front: $name', ({ first, other }) => {
    const a = artifact({ kind: 'esx-inventory', fileName: 'inventory.txt', collectedAt: hoursAfterT0(0), ...first });
    const b = artifact({ kind: 'esx-inventory', fileName: 'inventory.txt', collectedAt: hoursAfterT0(1.5), ...first, ...other });
    const files = bundleFiles({ ...none, inventories: [a, b] });
    const dir = files[0].path.slice(0, files[0].path.lastIndexOf('/') + 1);
    expect(files[1].path).toBe(`${dir}20261001T033000Z-${b.id.slice(0, 8)}-${files[0].path.slice(dir.length)}`);
    expect(new Set(files.map((f) => f.path)).size).toBe(2);
  });

  it('a header dump and its wiped successor of the same device both travel, under distinct paths', () => {
    const before = header({ artifact: { collectedAt: hoursAfterT0(0) } });
    const after = wiped({ artifact: { collectedAt: hoursAfterT0(3) } });
    const files = bundleFiles({ ...none, headers: [after, before] });
    expect(files.map((f) => f.path)).toEqual([
      'esx01/vmfs-header/naa.600144f0aabbccddeeff001122334455.hex',
      `esx01/vmfs-header/20261001T020000Z-${before.artifact.id.slice(0, 8)}-naa.600144f0aabbccddeeff001122334455.hex`,
    ]);
    expect(files[0].describes).toContain('no partition table entry (VMFS found at LBA 128)');
    expect(files[1].describes).toContain('MBR partition 1 (LBA 128–209715199, type 0xfb)');
  });

  it('an artifact named twice travels once, described the first way', () => {
    const h = header();
    const files = bundleFiles({ ...none, headers: [h, h], inventories: [h.artifact] });
    expect(files).toHaveLength(1);
    expect(files[0].describes).toMatch(/^header dump of /);
  });

  it('order: header dumps, descriptor copies, inventories, undelete archives, storage configuration', () => {
    const files = bundleFiles({
      headers: [header()],
      descriptors: [descriptor('5a1c3e7f-2b4d6e80-91a2-0050569a1b2c')],
      inventories: [artifact({ kind: 'esx-inventory', fileName: 'inventory.txt' })],
      undelete: [artifact({ kind: 'vmfs-undelete', fileName: 'undelete.tgz' })],
      storageConfig: ['iscsitgt-smf', 'stmf-smf', 'comstar-listing', 'zfs-snapshots'].map((kind) =>
        artifact({ kind, host: 'sol01', fileName: `${kind}.txt`, sourcePath: 'cmd' }),
      ),
    });
    expect(files.map((f) => [f.kind, f.describes.split(' (')[0].split(' of ')[0]])).toEqual([
      ['vmfs-header', 'header dump'],
      ['vh-sf', '.vh.sf copy'],
      ['esx-inventory', 'ESX inventory'],
      ['vmfs-undelete', 'vmfs-undelete archive from esx01'],
      ['iscsitgt-smf', 'iscsitgt SMF export'],
      ['stmf-smf', 'COMSTAR stmf SMF export'],
      ['comstar-listing', 'COMSTAR listing'],
      ['zfs-snapshots', 'zfs snapshot list'],
    ]);
  });

  it('a header dump line names device, LUN, host and where it was read', () => {
    const table: Array<[Parameters<typeof header>[0], string]> = [
      [{ lun: 3, devicePath: '/dev/sdb' }, 'header dump of naa.600144f0aabbccddeeff001122334455 LUN 3 read on esx01 from /dev/sdb; MBR partition 1'],
      [{ lun: null }, 'header dump of naa.600144f0aabbccddeeff001122334455 read on esx01 from naa.600144f0aabbccddeeff001122334455; MBR'],
      [{ deviceId: null, lun: null, artifact: { device: null, sourcePath: 'dd of sdc' } }, 'header dump of a device read on esx01 from dd of sdc; MBR'],
      [
        { scheme: 'gpt', index: 1, startLba: 2048, endLba: 4096, type: 'AA31E02A400F11DB9590000C2911D1B8' },
        'GPT partition 1 (LBA 2048–4096, type AA31E02A400F11DB9590000C2911D1B8)',
      ],
    ];
    for (const [over, text] of table) expect(bundleFiles({ ...none, headers: [header(over)] })[0].describes).toContain(text);
  });

  it('every field of the artifact is carried over', () => {
    const a = artifact({ kind: 'esx-inventory', chunks: [{ sha256: 'cd'.repeat(32), size: 10, encoding: 'gzip', storedSize: 7 }] });
    const [f] = bundleFiles({ ...none, inventories: [a] });
    expect(f).toMatchObject({
      artifactId: a.id,
      captureId: a.captureId,
      kind: a.kind,
      host: a.host,
      fileName: a.fileName,
      sourcePath: a.sourcePath,
      device: a.device,
      collectedAt: a.collectedAt,
      size: a.size,
      sha256: a.sha256,
      chunks: a.chunks,
    });
  });
});
