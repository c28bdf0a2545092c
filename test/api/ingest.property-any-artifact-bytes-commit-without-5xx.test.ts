/**
 * Property: whatever bytes a host sends, the whole ingest path (begin → PUT chunks →
 * commit, over a real socket, with the real store and database) answers no 5xx, commits
 * the capture, and the capture is then searchable — by host always, by VMFS UUID when the
 * parse found one, by NAA when it found one. Inputs are header dumps, `.vh.sf` copies and
 * SMF exports built by the fixture writers and then mutated: NUL-filled and 0xFF-filled
 * text fields, random byte runs in the LVM header, volume table, partition table and FS
 * descriptor, every device-id length at LVM header + 0x0D (22 is what an ESX 3.5 host
 * writes on a COMSTAR LU: the 16-byte NAA plus 6 model bytes, docs/formats.md), invalid
 * UTF-8 and NULs spliced into XML, and truncation anywhere.
 *
 * Runs per flavour: INGEST_PROPERTY_RUNS (default 10, besides the seed example). The flavours
 * draw different inputs (seeds SEED and SEED + 1: the parsers are the same code on both, the
 * database and store are not), so one run sends 20 random captures through the whole path;
 * the seed is printed so a failure can be replayed with INGEST_PROPERTY_SEED.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ArtifactKind } from '../../formats/types.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, IngestHttpError, prepareCapture, uploadMissing, type TestArtifact } from '../helpers/ingest-client.js';
import { buildVhSf, buildVmfsDisk, vmfsDiskRegions, type VmfsImageOptions } from '../fixtures/vmfs-images.js';
import { iscsitgtExport, stmfExport } from '../fixtures/text-fixtures.js';

interface Json {
  [k: string]: any;
}

const RUNS = Number(process.env.INGEST_PROPERTY_RUNS ?? 10);
const SEED = process.env.INGEST_PROPERTY_SEED ? Number(process.env.INGEST_PROPERTY_SEED) : Date.now() % 2 ** 31;

/** Offsets inside the LVM header (vmfs-tools lvm.h; docs/formats.md "LVM device header"). */
const LVM = { idLength: 0x0d, vendor: 0x12, model: 0x1a, revision: 0x2a, id: 0x2e } as const;
/** FS descriptor label (vmfs-tools fs.h: `label[128]` at +0x1d). */
const FS_LABEL = 0x1d;

interface Base {
  name: string;
  bytes: Uint8Array;
  lvm: number;
  volumeTable: number;
  fs: number | null;
}

function base(name: string, opts: VmfsImageOptions): Base {
  const bytes = buildVmfsDisk(opts);
  const { layout } = vmfsDiskRegions(opts);
  return {
    name,
    bytes,
    lvm: layout.lvmHeaderOffset,
    volumeTable: layout.volumeTableOffset,
    fs: layout.fsDescriptorOffset + 512 <= bytes.length ? layout.fsDescriptorOffset : null,
  };
}

const BASES: Base[] = [
  base('lvm3-mbr-2MiB', { lvmMajor: 3, scheme: 'mbr', dumpLength: 'legacy', vendor: 'SUN', model: 'COMSTAR', lun: 3 }),
  base('lvm5-gpt-2MiB', { lvmMajor: 5, dumpLength: 'legacy', noiseSeed: 5 }),
  base('lvm6-gpt-2MiB', { lvmMajor: 6, dumpLength: 'legacy', noiseSeed: 6 }),
  // A small data offset puts the FS descriptor near 4 MiB, so the dump reaches it quickly.
  base('lvm3-mbr-descriptor', { lvmMajor: 3, scheme: 'mbr', dataOffset: 0x200000, dumpLength: 'descriptor', vendor: 'SUN', model: 'COMSTAR' }),
  base('lvm5-relative', { lvmMajor: 5, partitionRelative: true, dumpLength: 'legacy' }),
];
const VHSF = buildVhSf({ lvmMajor: 3, length: 0x200000 + 0x1000 });

const enc = (s: string) => new TextEncoder().encode(s);
const SMF = {
  iscsitgt: enc(
    iscsitgtExport({
      initiators: [{ name: 'esx01', iqn: 'iqn.1998-01.com.vmware:esx01' }],
      targets: [
        {
          name: 'lun0',
          iqn: 'iqn.1986-03.com.sun:02:fuzz',
          alias: 'fuzz',
          acl: ['esx01'],
          luns: [{ lun: 0, guid: '600144f0aabbccddeeff001122334455', backingStore: '/dev/zvol/rdsk/tank/fuzz', blocks: 0x100000 }],
        },
      ],
    }),
  ),
  stmf: enc(
    stmfExport({
      hostGroups: [{ name: 'esx', members: ['iqn.1998-01.com.vmware:esx01'] }],
      lus: [{ guid: '600144F0AABBCCDDEEFF001122334455', views: [{ entry: 0, hostGroup: 'esx', lun: 0 }] }],
    }),
  ),
};

/** A byte the tools meet in real dumps: NUL padding, 0xFF erased flash, or anything. */
const byte = fc.oneof(fc.constant(0), fc.constant(0xff), fc.integer({ min: 0, max: 255 }));
const run = (span: number) => fc.record({ at: fc.nat(span - 1), bytes: fc.array(byte, { minLength: 1, maxLength: 24 }) });
type Run = { at: number; bytes: number[] };
/** Mostly untouched regions, so that many inputs still parse and the search branches run. */
const runs = (span: number, max: number) =>
  fc.oneof({ arbitrary: fc.constant([] as Run[]), weight: 2 }, { arbitrary: fc.array(run(span), { minLength: 1, maxLength: max }), weight: 1 });
/** Truncation at a fraction of the length, in one input of five. */
const truncation = fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: fc.double({ min: 0, max: 1, noNaN: true }), weight: 1 });

function apply(out: Uint8Array, origin: number, runs: Run[]): void {
  for (const r of runs) for (let i = 0; i < r.bytes.length && origin + r.at + i < out.length; i++) out[origin + r.at + i] = r.bytes[i];
}

const headerInput = fc.record({
  base: fc.nat(BASES.length - 1),
  idLength: fc.option(fc.oneof(fc.constant(22), fc.constant(16), fc.constant(8), fc.constant(0), fc.constant(44), fc.integer({ min: 0, max: 255 })), {
    nil: undefined,
    freq: 2,
  }),
  nulText: fc.subarray(['vendor', 'model', 'revision', 'afterId'] as const),
  lvm: runs(0x200, 4),
  volumeTable: runs(0x200, 3),
  lba0: runs(0x600, 2),
  fs: runs(0x200, 3),
  truncate: truncation,
  detect: fc.boolean(),
});

type HeaderInput = typeof headerInput extends fc.Arbitrary<infer T> ? T : never;

function headerBytes(h: HeaderInput): Uint8Array {
  const b = BASES[h.base];
  const out = b.bytes.slice();
  if (h.idLength !== undefined) out[b.lvm + LVM.idLength] = h.idLength;
  // NUL padding after the first 3 characters of a text field, as real hosts write it.
  for (const f of h.nulText) {
    const [at, len] = f === 'vendor' ? [LVM.vendor, 8] : f === 'model' ? [LVM.model, 16] : f === 'revision' ? [LVM.revision, 4] : [LVM.id + 16, 6];
    out.fill(0, b.lvm + at + 3, b.lvm + at + len);
  }
  apply(out, b.lvm, h.lvm);
  apply(out, b.volumeTable, h.volumeTable);
  apply(out, 0, h.lba0);
  if (b.fs !== null) apply(out, b.fs, h.fs);
  return h.truncate === undefined ? out : out.subarray(0, Math.floor(out.length * h.truncate));
}

const vhsfInput = fc.record({
  label: fc.oneof(fc.constant('\u0000'.repeat(8)), fc.string({ maxLength: 40 }), fc.constant('lab\u0000el\u00ff')),
  fs: runs(0x200, 4),
  truncate: truncation,
  detect: fc.boolean(),
});

function vhsfBytes(v: typeof vhsfInput extends fc.Arbitrary<infer T> ? T : never): Uint8Array {
  const out = VHSF.slice();
  const label = Buffer.from(v.label, 'latin1');
  out.fill(0, 0x200000 + FS_LABEL, 0x200000 + FS_LABEL + 128);
  out.set(label.subarray(0, 127), 0x200000 + FS_LABEL);
  apply(out, 0x200000, v.fs);
  return v.truncate === undefined ? out : out.subarray(0, Math.floor(out.length * v.truncate));
}

/** Text splices: NULs, invalid UTF-8, C1 controls and a stray surrogate's UTF-8-ish bytes. */
const splice = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  bytes: fc.oneof(
    fc.constant([0]),
    fc.constant([0, 0, 0, 0]),
    fc.constant([0xff, 0xfe]),
    fc.constant([0xc3]),
    fc.constant([0xed, 0xa0, 0x80]),
    fc.constant([0xc2, 0x85]),
    fc.array(byte, { minLength: 1, maxLength: 8 }),
  ),
  replace: fc.boolean(),
});

const smfInput = fc.record({
  which: fc.constantFrom('iscsitgt' as const, 'stmf' as const),
  splices: fc.array(splice, { maxLength: 6 }),
  truncate: truncation,
  detect: fc.boolean(),
});

function smfBytes(s: typeof smfInput extends fc.Arbitrary<infer T> ? T : never): Uint8Array {
  let out = Buffer.from(SMF[s.which]);
  for (const x of s.splices) {
    const at = Math.floor(out.length * x.at);
    out = Buffer.concat([out.subarray(0, at), Buffer.from(x.bytes), out.subarray(x.replace ? Math.min(out.length, at + x.bytes.length) : at)]);
  }
  return s.truncate === undefined ? out : out.subarray(0, Math.floor(out.length * s.truncate));
}

const captureInput = fc.record({
  header: fc.option(headerInput, { nil: undefined, freq: 4 }),
  vhsf: fc.option(vhsfInput, { nil: undefined, freq: 2 }),
  smf: fc.option(smfInput, { nil: undefined, freq: 2 }),
});

type CaptureInput = typeof captureInput extends fc.Arbitrary<infer T> ? T : never;

function artifactsOf(c: CaptureInput): TestArtifact[] {
  const out: TestArtifact[] = [];
  const kind = (k: ArtifactKind, detect: boolean): ArtifactKind => (detect ? 'unknown' : k);
  if (c.header) out.push({ kind: kind('vmfs-header', c.header.detect), fileName: 'sdb-header.bin', device: '/dev/sdb', bytes: headerBytes(c.header) });
  if (c.vhsf) out.push({ kind: kind('vh-sf', c.vhsf.detect), fileName: 'datastore1.vh.sf', gzip: true, bytes: vhsfBytes(c.vhsf) });
  if (c.smf)
    out.push({ kind: kind(c.smf.which === 'stmf' ? 'stmf-smf' : 'iscsitgt-smf', c.smf.detect), fileName: `${c.smf.which}.xml`, bytes: smfBytes(c.smf) });
  // A capture always holds something: an empty artifact is bytes too.
  if (out.length === 0) out.push({ kind: 'unknown', fileName: 'empty', bytes: new Uint8Array(0) });
  return out;
}

/** The 22-byte device id header with NUL-padded vendor and model, always among the inputs. */
const SEED_ERA: CaptureInput = {
  header: { base: 0, idLength: 22, nulText: ['vendor', 'model', 'afterId'], lvm: [], volumeTable: [], lba0: [], fs: [], truncate: undefined, detect: false },
  vhsf: { label: 'ds\u0000\u0000', fs: [], truncate: undefined, detect: false },
  smf: { which: 'iscsitgt', splices: [{ at: 0.5, bytes: [0], replace: false }], truncate: undefined, detect: false },
};

describeEachFlavour('ingest property: any artifact bytes commit without 5xx and stay searchable', (flavour) => {
  const seed = flavour === 'embedded' ? SEED : SEED + 1;
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it(`${RUNS} random and mutated captures (seed ${seed})`, async () => {
    let n = 0;
    const statuses = new Map<number, number>();
    const parse = new Map<string, number>();
    const searched = new Map<string, number>();
    const count = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
    const search = async (q: string): Promise<{ status: number; body: Json }> => {
      const res = await catalog.request(`/v1/search?q=${encodeURIComponent(q)}`);
      count(statuses, res.status);
      return { status: res.status, body: (await res.json()) as Json };
    };
    console.log(`[ingest property] ${flavour}: seed ${seed}, ${RUNS} runs (replay: INGEST_PROPERTY_SEED=${SEED})`);
    await fc.assert(
      fc.asyncProperty(captureInput, async (input) => {
        const host = `fuzz-${flavour}-${++n}`;
        const prepared = prepareCapture({ host, collectedAt: new Date(Date.UTC(2026, 10, 1) + n * 60_000), artifacts: artifactsOf(input) });
        let answer;
        try {
          const begun = await begin(catalog, prepared.request);
          count(statuses, 200);
          await uploadMissing(catalog, prepared, begun);
          answer = await commit(catalog, prepared.request.captureId);
          count(statuses, 200);
        } catch (e) {
          if (e instanceof IngestHttpError) {
            count(statuses, e.status);
            throw new Error(
              `${e.step} answered ${e.status} (${e.code}) for well-formed protocol carrying these bytes: ${JSON.stringify(e.body).slice(0, 400)}`,
            );
          }
          throw e;
        }
        expect(answer.state).toBe('committed');
        for (const a of answer.artifacts) count(parse, `${a.kind}:${a.parseStatus}`);

        const byHost = await search(host);
        expect(byHost.status).toBe(200);
        expect(
          byHost.body.hits.some((h: Json) => h.type === 'host' && h.name === host),
          `host ${host}`,
        ).toBe(true);
        for (const a of answer.artifacts) {
          for (const uuid of a.found.vmfsUuid ?? []) {
            count(searched, 'vmfsUuid');
            const r = await search(uuid);
            expect(r.status).toBe(200);
            expect(
              r.body.hits.some((h: Json) => h.type === 'volume' && h.vmfsUuid === uuid),
              `vmfsUuid ${uuid}`,
            ).toBe(true);
          }
          for (const id of (a.found.deviceId ?? []).filter((d) => d.startsWith('naa.'))) {
            count(searched, 'deviceId');
            const r = await search(id);
            expect(r.status).toBe(200);
            expect(
              r.body.hits.some((h: Json) => h.deviceId === id),
              `deviceId ${id}`,
            ).toBe(true);
          }
        }
      }),
      { numRuns: RUNS, seed, endOnFailure: true, examples: [[SEED_ERA]] },
    );
    console.log(
      `[ingest property] ${flavour}: statuses ${JSON.stringify(Object.fromEntries(statuses))}; parse results ${JSON.stringify(Object.fromEntries(parse))}; searched by ${JSON.stringify(Object.fromEntries(searched))}`,
    );
    expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
  }, 180_000);
});
