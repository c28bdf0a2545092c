/**
 * Property-based fuzzing of every text parser and of redactSecrets: random
 * strings and bytes, token soups, and fixtures mutated by deletion, insertion,
 * duplication and truncation. Only FormatError may come out, and every input
 * must finish (a per-input hang guard; vitest's timeout bounds the file).
 */
import fc from 'fast-check';
import { describe, expect, it, test } from 'vitest';
import { parseComstarListing } from '../../formats/comstar.js';
import { isFormatError } from '../../formats/errors.js';
import { parseEsxInventory } from '../../formats/esx.js';
import { redactSecrets } from '../../formats/redact.js';
import { parseIscsitgtSmf, parseStmfSmf } from '../../formats/smf.js';
import type { ArtifactKind, ParsedArtifact } from '../../formats/types.js';
import { parseZfsSnapshots } from '../../formats/zfs.js';
import * as F from '../fixtures/text-fixtures.js';
import { assertGuarded, hangGuard } from '../helpers/hang-guard.js';

const RUNS = 10_000;

// A few seconds each on an idle machine; the margin is for a loaded CI box, not for slow parsers.
const FUZZ_TIMEOUT_MS = 180_000;
const GUID = '600144F0C6E7D3B400004F9A2C4E0001';
const VMFS = '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c';

const SEEDS: Record<string, string[]> = {
  iscsitgt: [
    F.iscsitgtExport({
      targets: [
        {
          name: 'a.b:c',
          iqn: 'iqn.1986-03.com.sun:02:x',
          alias: 'x',
          acl: ['h1'],
          tpgts: ['1'],
          luns: [
            { lun: 0, guid: GUID, backingStore: '/dev/zvol/rdsk/p/l0', blocks: 2048 },
            { lun: 1, guid: '0' },
          ],
        },
      ],
      initiators: [{ name: 'h1', iqn: 'iqn.1998-01.com.vmware:h1' }],
      tpgts: [{ tag: '1', addresses: ['192.0.2.1', '192.0.2.2'] }],
      passwords: true,
    }),
  ],
  stmf: [
    F.stmfExport({
      hostGroups: [{ name: 'hg', members: ['iqn.1998-01.com.vmware:h1', 'iqn.1998-01.com.vmware:h2'] }],
      targetGroups: [{ name: 'tg', members: ['iqn.2010-08.org.illumos:02:t'] }],
      lus: [
        {
          guid: GUID,
          views: [
            { entry: 0, hostGroup: 'hg', targetGroup: 'tg', lun: 1 },
            { entry: 1, lun: 2 },
          ],
        },
      ],
      iscsitSecret: true,
    }),
  ],
  comstar: [
    F.collectorFile([
      { command: 'stmfadm list-lu -v', output: F.stmfadmListLu([{ guid: GUID, dataFile: '/dev/zvol/rdsk/p/l0', sizeBytes: 1073741824 }]) },
      { command: `stmfadm list-view -l ${GUID}`, output: F.stmfadmListView([{ entry: 0, hostGroup: 'hg', targetGroup: 'tg', lun: 3 }]) },
      { command: 'sbdadm list-lu', output: F.sbdadmListLu([{ guid: GUID, sizeBytes: 1073741824, source: '/dev/zvol/rdsk/p/l0' }]) },
      {
        command: 'itadm list-target -v',
        output: F.itadmListTarget([{ iqn: 'iqn.2010-08.org.illumos:02:t', chapSecret: 'clear-secret-value', tpgTags: [{ tpg: 'tp', tag: 2 }] }]),
      },
      { command: 'itadm list-tpg -v', output: F.itadmListTpg([{ name: 'tp', portals: ['192.0.2.1:3260'] }]) },
      { command: 'stmfadm list-tg -v', output: F.stmfadmListGroups('target', [{ name: 'tg', members: ['iqn.2010-08.org.illumos:02:t'] }]) },
    ]),
  ],
  esx: [
    F.collectorFile([
      {
        command: 'esxcli storage core device list',
        output: F.esxcliDeviceList([{ id: 'naa.600144f0c6e7d3b400004f9a2c4e0001', vml: 'vml.0200000000600144f0c6e7d3b400004f9a2c4e0001434f4d535441' }]),
      },
      {
        command: 'esxcli storage vmfs extent list',
        output: F.esxcliExtentList([
          { volumeName: 'My DS', vmfsUuid: VMFS, extentNumber: 0, deviceName: 'naa.600144f0c6e7d3b400004f9a2c4e0001', partition: 1 },
        ]),
      },
      { command: 'grep /system/uuid /etc/vmware/esx.conf', output: F.esxConf(VMFS) },
      {
        command: 'partedUtil getptbl /vmfs/devices/disks/naa.600144f0c6e7d3b400004f9a2c4e0001',
        output: F.partedUtilGetptbl({ scheme: 'gpt', geometry: [1, 2, 3, 4], partitions: [{ num: 1, start: 2048, end: 4096 }] }),
      },
      { command: 'esxcfg-vmhbadevs -m', output: F.esxcfgVmhbadevs([{ vmhba: 'vmhba1:0:1:1', devicePath: '/dev/sdb1', vmfsUuid: VMFS }]) },
      {
        command: 'esxcfg-scsidevs -m',
        output: F.esxcfgScsidevsM([{ device: 'naa.600144f0c6e7d3b400004f9a2c4e0001', partition: 1, vmfsUuid: VMFS, extentNumber: 0, volumeName: 'My DS' }]),
      },
    ]),
  ],
  zfs: [
    F.zfsListSnapshots([
      { name: 'tank/a@s1', creation: 1704067200, used: 10 },
      { name: 'tank/b@s 2', creation: 1, used: 0 },
    ]),
  ],
};
const ALL_SEEDS = Object.values(SEEDS).flat();

const TOKENS = [
  '<',
  '>',
  '/>',
  '</',
  '<!--',
  '-->',
  '<![CDATA[',
  ']]>',
  '<!ENTITY x "y">',
  '<!DOCTYPE service_bundle [',
  ']>',
  '<!DOCTYPE x SYSTEM "a">',
  '&amp;',
  '&#x41;',
  '&#1114112;',
  '&x;',
  "'",
  '"',
  '=',
  '__2',
  '__1',
  '_',
  '\t',
  '\r\n',
  '\n',
  '\r',
  ' ',
  '\u0000',
  '\ufeff',
  '<service_bundle>',
  '<service name="x">',
  '<property_group name="passwords">',
  '<property_group name="param_a_1">',
  '<propval name="guid" value="0"/>',
  '<property name="acl-list"><astring_list><value_node value="h"/></astring_list></property>',
  '<value_node value="x"/>',
  "<propval name='lu_nbr' type='opaque' value='ffffffffffffffff'/>",
  'provider_data_pg_',
  'view_entry-1-',
  'lu-',
  '# vmfs-collector: ',
  '# vmfs-collector: stmfadm list-view -l ',
  GUID,
  GUID.toLowerCase(),
  'LU Name: ',
  'View Entry: ',
  '    Size              : ',
  'Found 1 LU(s)',
  '--------',
  'TARGET NAME  STATE SESSIONS',
  'TARGET PORTAL GROUP  PORTAL COUNT',
  '\ttargetchapsecret:\t',
  '\ttpg-tags:\t',
  ' = ',
  'Volume Name  VMFS UUID',
  VMFS,
  'vmhba1:0:1:1 /dev/sdb1 ',
  '/system/uuid = "',
  'gpt\n1 2 3 4\n',
  '1 2 3 ',
  'tank/a@b\t',
  '\t-\t',
  '99999999999999999999',
];

type Op =
  | { op: 'delete'; at: number; len: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'duplicate'; at: number; len: number; to: number }
  | { op: 'truncate'; at: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 12 })) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 200 }), to: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(seed: string, ops: Op[]): string {
  let s = seed;
  for (const o of ops) {
    const n = s.length + 1;
    const at = o.at % n;
    if (o.op === 'delete') s = s.slice(0, at) + s.slice(at + o.len);
    else if (o.op === 'insert') s = s.slice(0, at) + o.text + s.slice(at);
    else if (o.op === 'duplicate') {
      const piece = s.slice(at, at + o.len);
      const to = o.to % n;
      s = s.slice(0, to) + piece + s.slice(to);
    } else s = s.slice(0, at);
  }
  return s;
}

function inputs(seeds: string[]): fc.Arbitrary<string | Uint8Array> {
  const mutated = fc
    .record({ seed: fc.constantFrom(...seeds), ops: fc.array(opArb, { minLength: 1, maxLength: 6 }) })
    .map(({ seed, ops }) => mutate(seed, ops));
  return fc.oneof(
    { weight: 5, arbitrary: mutated },
    { weight: 1, arbitrary: mutated.map((s) => new TextEncoder().encode(s)) },
    {
      weight: 1,
      arbitrary: fc.record({ seed: fc.constantFrom(...ALL_SEEDS), ops: fc.array(opArb, { maxLength: 4 }) }).map(({ seed, ops }) => mutate(seed, ops)),
    },
    { weight: 2, arbitrary: fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((t) => t.join('')) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 120 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  );
}

function onlyFormatErrors(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    if (!isFormatError(e)) throw e;
  }
}

const PARSERS: [string, (input: Uint8Array | string) => ParsedArtifact, string[]][] = [
  ['parseIscsitgtSmf', parseIscsitgtSmf, SEEDS.iscsitgt],
  ['parseStmfSmf', parseStmfSmf, SEEDS.stmf],
  ['parseComstarListing', parseComstarListing, SEEDS.comstar],
  ['parseEsxInventory', parseEsxInventory, SEEDS.esx],
  ['parseZfsSnapshots', parseZfsSnapshots, SEEDS.zfs],
];

describe('text parsers under fuzzing', () => {
  test.each(PARSERS)(
    '%s throws nothing but FormatError',
    (name, parse, seeds) => {
      assertGuarded(name, inputs(seeds), (input) => onlyFormatErrors(() => parse(input)), RUNS);
    },
    FUZZ_TIMEOUT_MS,
  );

  const KINDS: [ArtifactKind, string[]][] = [
    ['iscsitgt-smf', SEEDS.iscsitgt],
    ['stmf-smf', SEEDS.stmf],
    ['comstar-listing', SEEDS.comstar],
  ];
  test.each(KINDS)(
    'redactSecrets(%s) throws nothing but FormatError and is idempotent',
    (kind, seeds) => {
      assertGuarded(
        `redactSecrets(${kind})`,
        inputs(seeds),
        (input) => {
          const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
          onlyFormatErrors(() => {
            const once = redactSecrets(kind, bytes);
            const twice = redactSecrets(kind, once.bytes);
            if (Buffer.compare(Buffer.from(once.bytes), Buffer.from(twice.bytes)) !== 0) throw new Error('redaction is not idempotent');
          });
        },
        RUNS,
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe('the per-input hang guard (text)', () => {
  it('fails an input that runs past the limit and names the parser', () => {
    // A limit of 1 ms and an input that spins for 30 ms: the guard, not the test timeout, fails it.
    const guard = hangGuard('spin', 1);
    const spin = () => {
      const end = performance.now() + 30;
      while (performance.now() < end) {
        /* spin */
      }
      return 'done';
    };
    expect(() => guard.check(spin)).toThrow(/spin: an input took \d+ ms, over the 1 ms hang limit/);
    expect(hangGuard('quick').check(() => 'ok')).toBe('ok');
  });
});
