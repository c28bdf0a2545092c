/**
 * The text rule (docs/formats.md, "Text leaving the parsers"): whatever bytes a
 * parser is fed, every string it returns (object keys included) and every
 * FormatError message is well-formed Unicode with no C0/C1 control character
 * and no U+FFFD made up from garbage; JSON of a result never holds `\u0000`
 * (PostgreSQL refuses that escape in jsonb). Text fields are filled with NUL,
 * 0xFF, invalid UTF-8, encoded surrogates and control bytes, in fixed places
 * and at random places.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanText, decodeUtf8, fieldText } from '../../formats/text-rule.js';
import { parseArtifact } from '../../formats/parse.js';
import { parsePartitionTable } from '../../formats/partition.js';
import { parseVhSf, parseVmfsHeader, planHeaderDump } from '../../formats/vmfs.js';
import { parseComstarListing } from '../../formats/comstar.js';
import { parseEsxInventory } from '../../formats/esx.js';
import { parseIscsitgtSmf, parseStmfSmf } from '../../formats/smf.js';
import { parseZfsSnapshots } from '../../formats/zfs.js';
import { parseQuery } from '../../formats/ids.js';
import { isFormatError } from '../../formats/errors.js';
import type { ArtifactKind } from '../../formats/types.js';
import * as F from '../fixtures/text-fixtures.js';
import { buildVhSf, buildVmfsDisk } from '../fixtures/vmfs-images.js';

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Every string in a value, with where it was found. */
function* strings(v: unknown, path = '$'): Generator<[string, string]> {
  if (typeof v === 'string') yield [path, v];
  else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) yield* strings(v[i], `${path}[${i}]`);
  else if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    for (const [k, x] of Object.entries(v)) {
      yield [`${path} key`, k];
      yield* strings(x, `${path}.${k}`);
    }
  }
}

function expectClean(v: unknown): void {
  for (const [path, s] of strings(v)) {
    if (CONTROL.test(s) || LONE_SURROGATE.test(s) || s.includes('\ufffd')) {
      throw new Error(`${path} breaks the text rule: ${JSON.stringify(s).slice(0, 200)}`);
    }
  }
  const json = JSON.stringify(v) ?? '';
  expect(json).not.toMatch(/\\u0000/);
  expect(Buffer.from(json, 'utf8').toString('utf8')).toBe(json);
}

/** Runs a parser; its result or its FormatError must follow the rule. Returns the result, or null. */
function cleanOutcome<T>(run: () => T): T | null {
  try {
    const result = run();
    expectClean(result);
    return result;
  } catch (e) {
    if (!isFormatError(e)) throw e;
    expectClean({ code: e.code, message: e.message });
    return null;
  }
}

// Byte sequences that are not clean text: NUL, 0xFF, a truncated and a bad
// UTF-8 sequence, an encoded surrogate (ED A0 80), C0, DEL and a C1 (C2 85).
const DIRTY: number[][] = [[0x00], [0xff], [0xc3], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0x01], [0x1b], [0x7f], [0xc2, 0x85], [0x00, 0x00, 0x00], [0xfe, 0xff]];
const DIRTY_ALL = Uint8Array.from(DIRTY.flat().filter((b) => b !== 0));
const MARK = '@@DIRTY@@';

/** UTF-8 of a fixture with every MARK replaced by dirty bytes. */
function dirty(text: string, bytes: Uint8Array = DIRTY_ALL): Uint8Array {
  const parts = text.split(MARK).map((p) => Buffer.from(p, 'utf8'));
  const out: Uint8Array[] = [];
  parts.forEach((p, i) => out.push(p, ...(i < parts.length - 1 ? [bytes] : [])));
  return Buffer.concat(out);
}

const GUID = '600144F0C6E7D3B400004F9A2C4E0001';
const VMFS = '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c';

const TEXT_SEEDS: Record<Exclude<ArtifactKind, 'vmfs-header' | 'vh-sf' | 'vmfs-undelete' | 'unknown'>, string> = {
  'iscsitgt-smf': F.iscsitgtExport({
    targets: [
      {
        name: 't0',
        iqn: 'iqn.1986-03.com.sun:02:t0',
        alias: `al${MARK}ias`,
        acl: ['h1'],
        luns: [{ lun: 0, guid: GUID.toLowerCase(), backingStore: `/dev/zvol/rdsk/tank/l${MARK}0`, vid: `SUN${MARK}`, pid: `COM${MARK}STAR` }],
      },
    ],
    initiators: [{ name: 'h1', iqn: `iqn.1998-01.com.vmware:h${MARK}1` }],
  }),
  'stmf-smf': F.stmfExport({
    hostGroups: [{ name: `hg${MARK}`, members: [`iqn.1998-01.com.vmware:h${MARK}1`] }],
    targetGroups: [{ name: 'tg', members: ['iqn.2010-08.org.illumos:02:t'] }],
    lus: [{ guid: GUID, views: [{ entry: 0, hostGroup: `hg${MARK}`, targetGroup: 'tg', lun: 1 }] }],
  }),
  'comstar-listing': F.collectorFile([
    {
      command: 'stmfadm list-lu -v',
      output: F.stmfadmListLu([{ guid: GUID, dataFile: `/dev/zvol/rdsk/p/l${MARK}0`, sizeBytes: 1073741824, alias: `a${MARK}b` } as F.StmfadmLuSpec]),
    },
    { command: 'itadm list-target -v', output: F.itadmListTarget([{ iqn: `iqn.2010-08.org.illumos:02:t${MARK}`, alias: `x${MARK}y` } as F.ItadmTargetSpec]) },
  ]),
  'esx-inventory': F.collectorFile([
    {
      command: 'esxcli storage core device list',
      output: F.esxcliDeviceList([
        { id: 'naa.600144f0c6e7d3b400004f9a2c4e0001', displayName: `Disp${MARK}lay`, vendor: `SUN${MARK}`, model: `COM${MARK}STAR` },
      ]),
    },
    {
      command: 'esxcli storage vmfs extent list',
      output: F.esxcliExtentList([
        { volumeName: `My${MARK}DS`, vmfsUuid: VMFS, extentNumber: 0, deviceName: 'naa.600144f0c6e7d3b400004f9a2c4e0001', partition: 1 },
      ]),
    },
  ]),
  'zfs-snapshots': F.zfsListSnapshots([{ name: `tank/a@s${MARK}1`, creation: 1704067200, used: 10 }]),
};

const TEXT_PARSERS = {
  'iscsitgt-smf': parseIscsitgtSmf,
  'stmf-smf': parseStmfSmf,
  'comstar-listing': parseComstarListing,
  'esx-inventory': parseEsxInventory,
  'zfs-snapshots': parseZfsSnapshots,
} as const;

describe('the rule itself', () => {
  it.each([
    ['SUN\u0000\u0000\u0000', 'SUN'],
    ['\u0000\u0000pad', 'pad'],
    ['a\u0000b', 'a\\x00b'],
    ['tab\there\r\n', 'tab\\x09here\\x0d\\x0a'],
    ['del\u007f c1\u0085', 'del\\x7f c1\\x85'],
    ['lone \ud800 and \udc00', 'lone \\ud800 and \\udc00'],
    ['pair \ud83d\ude00 kept', 'pair \ud83d\ude00 kept'],
    ['Datastöre ☃', 'Datastöre ☃'],
  ])('cleanText(%j) → %j', (input, expected) => {
    expect(cleanText(input)).toBe(expected);
  });

  it('decodes invalid UTF-8 bytes as \\xNN, never U+FFFD, and keeps valid sequences', () => {
    expect(decodeUtf8(Uint8Array.from([0x61, 0xff, 0xc3, 0xa9, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98, 0x80]))).toBe('a\\xffé\\xc3(\\xed\\xa0\\x80😀');
  });

  it('reads a fixed field up to its first NUL and trims space padding', () => {
    expect(fieldText(Uint8Array.from([0x53, 0x55, 0x4e, 0x20, 0x20, 0x00, 0x41, 0x42]))).toBe('SUN');
    expect(fieldText(Uint8Array.from([0x20, 0x41, 0xff, 0x01, 0x20]))).toBe('A\\xff\\x01');
  });
});

describe('binary parsers fed dirty text fields', () => {
  const LVM = 128 * 512 + 0x100000;
  // Starts at 0xFF, not NUL: a field is read up to its first NUL.
  const garbage = (n: number) => Uint8Array.from({ length: n }, (_, i) => DIRTY.flat()[(i + 1) % DIRTY.flat().length]);
  const image = (dumpLength: 'legacy' | 'descriptor') =>
    buildVmfsDisk({
      lvmMajor: 3,
      dumpLength,
      label: 'lab\u0001el',
      extraRegions: [
        { offset: LVM + 0x12, bytes: garbage(28) }, // vendor, model, revision
        { offset: LVM + 0x2e, bytes: garbage(44) }, // the device id field
        { offset: LVM + 0x200 + 0x14, bytes: garbage(64) }, // volume name
      ],
    });

  it('vmfs-header: vendor, model, revision, id field, volume name and label full of NUL, 0xFF and invalid UTF-8', () => {
    const parsed = cleanOutcome(() => parseVmfsHeader(image('descriptor')))!;
    expect(parsed).not.toBeNull();
    expect(parsed.device?.vendor).toContain('\\xff');
    expect(cleanOutcome(() => parseArtifact('vmfs-header', image('legacy')))).not.toBeNull();
    cleanOutcome(() => planHeaderDump(image('legacy')));
  });

  it('vh-sf: a label of garbage bytes', () => {
    const copy = buildVhSf();
    copy.set(garbage(128), 0x200000 + 0x1d);
    const parsed = cleanOutcome(() => parseVhSf(copy))!;
    expect(parsed.vmfs?.label).toMatch(/\\x/);
  });

  it('partition table: a GPT name holding controls and lone surrogates', () => {
    const disk = buildVmfsDisk({
      lvmMajor: 5,
      dumpLength: 'legacy',
      extraPartitions: [{ type: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', startLba: 100, endLba: 200, name: 'n\u0001\ud800\u0000x' }],
    });
    const table = cleanOutcome(() => parsePartitionTable(disk))!;
    expect(table.entries[1].name).toBe('n\\x01\\ud800');
  });

  it('fuzzed: random dirty bytes anywhere in the LVM header and FS descriptor', () => {
    const base = image('descriptor');
    const fs = base.length - 4096;
    fc.assert(
      fc.property(
        fc.array(fc.record({ region: fc.constantFrom(LVM, fs), at: fc.integer({ min: 0, max: 0xdd }), bytes: fc.constantFrom(...DIRTY) }), {
          minLength: 1,
          maxLength: 12,
        }),
        (patches) => {
          // Patched in place and put back: a copy of the 19 MiB dump per run costs more than the parse.
          const saved = patches.map((p) => ({ at: p.region + p.at, bytes: base.slice(p.region + p.at, p.region + p.at + p.bytes.length) }));
          for (const p of patches) base.set(p.bytes, p.region + p.at);
          try {
            cleanOutcome(() => parseArtifact('vmfs-header', base));
          } finally {
            for (const s of saved.reverse()) base.set(s.bytes, s.at);
          }
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe('text parsers fed dirty values', () => {
  it.each(Object.keys(TEXT_PARSERS) as (keyof typeof TEXT_PARSERS)[])('%s: dirty bytes (no NUL) inside values parse, and come out by the rule', (kind) => {
    const parsed = cleanOutcome(() => TEXT_PARSERS[kind](dirty(TEXT_SEEDS[kind])));
    expect(parsed, `${kind} should still parse`).not.toBeNull();
    expect(JSON.stringify(parsed)).toMatch(/\\\\x(ff|01|1b|7f|85)/);
    cleanOutcome(() => parseArtifact(kind, dirty(TEXT_SEEDS[kind])));
  });

  it.each(Object.keys(TEXT_PARSERS) as (keyof typeof TEXT_PARSERS)[])('%s: NUL bytes inside values are refused with a clean message', (kind) => {
    cleanOutcome(() => TEXT_PARSERS[kind](dirty(TEXT_SEEDS[kind], Uint8Array.from([0x00, 0xff, 0x00]))));
  });

  it.each(Object.keys(TEXT_PARSERS) as (keyof typeof TEXT_PARSERS)[])('%s fuzzed: dirty bytes at random places', (kind) => {
    const seed = Buffer.from(TEXT_SEEDS[kind].split(MARK).join(''), 'utf8');
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(), bytes: fc.constantFrom(...DIRTY, [0x26, 0x23, 0x31, 0x3b], [0x26, 0x23, 0x78, 0x44, 0x38, 0x30, 0x30, 0x3b]) }), {
          minLength: 1,
          maxLength: 8,
        }),
        (inserts) => {
          let bytes: Uint8Array = seed;
          for (const ins of inserts) {
            const at = ins.at % (bytes.length + 1);
            bytes = Buffer.concat([bytes.subarray(0, at), Uint8Array.from(ins.bytes), bytes.subarray(at)]);
          }
          cleanOutcome(() => parseArtifact(kind, bytes));
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });

  it('XML character references to control characters and surrogates come out escaped', () => {
    const xml = TEXT_SEEDS['iscsitgt-smf'].replace(`al${MARK}ias`, 'al&#1;i&#x7f;a&#xD800;s');
    const parsed = cleanOutcome(() => parseIscsitgtSmf(xml.split(MARK).join('')));
    if (parsed) expect(JSON.stringify(parsed)).not.toContain('\\u0001');
  });
});

describe('search terms', () => {
  it('a pasted term with control bytes becomes clean text', () => {
    const q = cleanOutcome(() => parseQuery('data\u0000store\u0001'))!;
    expect(q).toMatchObject({ type: 'text', text: 'data\\x00store\\x01' });
  });
});
