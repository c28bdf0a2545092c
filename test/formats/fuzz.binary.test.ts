/**
 * Property-based fuzzing of the binary parsers, identifiers and detect: random
 * bytes, random structures behind valid magics, and mutated/truncated fixture
 * images. The only thing allowed out of a parser is a FormatError (detect: nothing).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../formats/errors.js';
import { parsePartitionTable } from '../../formats/partition.js';
import { parseVmfsHeader, parseVhSf, planHeaderDump } from '../../formats/vmfs.js';
import { detect } from '../../formats/detect.js';
import { canonicalDeviceId, canonicalVmfsUuid, parseQuery, parseVml } from '../../formats/ids.js';
import { ARTIFACT_KINDS } from '../../formats/types.js';
import { assertGuarded, hangGuard } from '../helpers/hang-guard.js';
import { buildTwoExtentVolume, buildVhSf, buildVmfsDisk, vmfsDiskRegions, type VmfsImageOptions } from '../fixtures/vmfs-images.js';

/**
 * Inputs per parser: FUZZ_BINARY_RUNS (default 3,000; the structured and mutated inputs aim at
 * the structures' offsets, so a few thousand reach every branch kind, and each run draws new
 * ones from a new seed). The seed is printed so a failure can be replayed with
 * FUZZ_BINARY_SEED; a deeper run is FUZZ_BINARY_RUNS=100000.
 */
const RUNS = Number(process.env.FUZZ_BINARY_RUNS ?? 3_000);
const SEED = process.env.FUZZ_BINARY_SEED ? Number(process.env.FUZZ_BINARY_SEED) : Date.now() % 2 ** 31;
console.log(`[fuzz] binary: seed ${SEED}, ${RUNS} inputs per parser (replay: FUZZ_BINARY_SEED=${SEED})`);

/** Runs fn; a thrown non-FormatError fails the property. */
function onlyFormatError(fn: () => unknown): boolean {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof FormatError)) throw new Error(`non-FormatError escaped: ${String(e)}`, { cause: e });
    expect(typeof e.code).toBe('string');
  }
  return true;
}

// Small dataOffsets keep images that reach the FS descriptor near 2–3 MiB.
const BASES: VmfsImageOptions[] = [
  { lvmMajor: 3, dataOffset: 0x20000 },
  { lvmMajor: 5, dataOffset: 0x20000 },
  { lvmMajor: 6, dataOffset: 0x40000 },
  { lvmMajor: 5, partitionRelative: true, dataOffset: 0x20000 },
  { lvmMajor: 3, scheme: 'none', dataOffset: 0x20000 },
  { lvmMajor: 6, scheme: 'none', startLba: 2048, tableStartLba: 4096, dataOffset: 0x20000 },
  { lvmMajor: 6, sectorSize: 4096, dataOffset: 0x20000 },
];

interface Base {
  bytes: Uint8Array;
  /** Offsets where structures start: mutations aim near them. */
  hotspots: number[];
}

const bases: Base[] = BASES.map((opts) => {
  const { layout } = vmfsDiskRegions(opts);
  return {
    bytes: buildVmfsDisk(opts),
    hotspots: [0, 0x1be, 0x1fe, 512, 1024, 4096, 8192, layout.lvmHeaderOffset, layout.volumeTableOffset, layout.fsDescriptorOffset],
  };
});
const secondExtent = buildTwoExtentVolume({ dataOffset: 0x20000 }).second;
bases.push({ bytes: secondExtent, hotspots: [0, 512, 1024, 2048 * 512 + 0x100000, 2048 * 512 + 0x100200] });
const vhSf = buildVhSf({ length: 0x200000 + 4096 });
const vhSfBase: Base = { bytes: vhSf, hotspots: [0x200000, 0x200000 + 0x9d, 0x200000 + 0xa1] };

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfb, 0xee, 0x0d, 0xd0, 0x01, 0xc0];

interface Patch {
  spot: number;
  delta: number;
  bytes: number[];
}

const patchArb = fc.record({
  spot: fc.nat(),
  delta: fc.integer({ min: 0, max: 0x220 }),
  bytes: fc.array(fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
});

/** A base image mutated in place (restored after), optionally cut short. */
const mutatedArb = (pool: Base[]) =>
  fc.record({
    base: fc.integer({ min: 0, max: pool.length - 1 }),
    patches: fc.array(patchArb, { maxLength: 6 }),
    cut: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  });

function withMutation<T>(pool: Base[], m: { base: number; patches: Patch[]; cut: number }, fn: (bytes: Uint8Array) => T): T {
  const base = pool[m.base];
  const saved: [number, number][] = [];
  for (const p of m.patches) {
    const at = base.hotspots[p.spot % base.hotspots.length] + p.delta;
    p.bytes.forEach((b, i) => {
      const off = at + i;
      if (off < base.bytes.length) {
        saved.push([off, base.bytes[off]]);
        base.bytes[off] = b;
      }
    });
  }
  try {
    return fn(base.bytes.subarray(0, Math.floor(base.bytes.length * m.cut)));
  } finally {
    for (let i = saved.length - 1; i >= 0; i--) base.bytes[saved[i][0]] = saved[i][1];
  }
}

/** Random bytes placed behind valid magics in a zeroed 2.2 MiB scratch image. */
const scratch = new Uint8Array(0x10000 + 0x100000 + 0x1000 + 0x200000 + 0x1000);
const structuredArb = fc.record({
  lba: fc.constantFrom(0, 63, 128, 2048 >> 5),
  lvm: fc.uint8Array({ minLength: 0x200, maxLength: 0x200 }),
  table: fc.uint8Array({ minLength: 0x200, maxLength: 0x200 }),
  dataOffsetSmall: fc.integer({ min: 0, max: 0x8 }),
});

/** The ranges of `scratch` the previous input wrote: zeroing them (not all 3.2 MiB) makes it all zeros again. */
let scratchDirty: Array<[number, number]> = [];

function withStructured<T>(s: { lba: number; lvm: Uint8Array; table: Uint8Array; dataOffsetSmall: number }, fn: (bytes: Uint8Array) => T): T {
  for (const [from, to] of scratchDirty) scratch.fill(0, from, to);
  scratchDirty = [[0, 0x200]];
  const h = s.lba * 512 + 0x100000;
  scratch.set(s.lvm, h);
  scratch.set([0x0d, 0xd0, 0x01, 0xc0], h);
  scratchDirty.push([h, h + 0x200]);
  // Keep dataOffset small so the FS descriptor lands inside the scratch image half the time.
  if (s.dataOffsetSmall > 0) {
    const dv = new DataView(scratch.buffer, h + 0x7a, 8);
    dv.setBigUint64(0, BigInt(s.dataOffsetSmall * 0x1000), true);
    const fs = s.lba * 512 + s.dataOffsetSmall * 0x1000 + 0x200000;
    scratch.set(s.table.subarray(0, 0x100), fs);
    scratch.set([0x5e, 0xf1, 0xab, 0x2f], fs);
    scratchDirty.push([fs, fs + 0x100]);
  }
  scratch.set(s.table.subarray(0, 0x1be), 0);
  scratch.set(s.table.subarray(0x1be, 0x200), 0x1be);
  if (s.table[0] & 1) scratch.set([0x55, 0xaa], 0x1fe);
  return fn(scratch);
}

/** Sector 0–33 with random bytes behind a GPT signature. */
const gptArb = fc
  .record({ header: fc.uint8Array({ minLength: 92, maxLength: 512 }), entries: fc.uint8Array({ maxLength: 4096 }), protective: fc.boolean() })
  .map(({ header, entries, protective }) => {
    const b = new Uint8Array(1024 + entries.length);
    b.set(header, 512);
    b.set(new TextEncoder().encode('EFI PART'), 512);
    b.set(entries, 1024);
    if (protective) {
      b[0x1be + 4] = 0xee;
      b[0x1fe] = 0x55;
      b[0x1ff] = 0xaa;
    }
    return b;
  });

/** Zeros up to 0x200000, then a random descriptor: reused so each run allocates nothing. */
const vhScratch = new Uint8Array(0x200000 + 0x200);

const smallBytes = fc.uint8Array({ maxLength: 4096 });

describe('binary parsers let only FormatError out', () => {
  it('parsePartitionTable: random bytes, random GPT headers, mutated images', () => {
    assertGuarded(
      'parsePartitionTable',
      fc.oneof(
        smallBytes.map((b) => (u: (x: Uint8Array) => unknown) => u(b)),
        gptArb.map((b) => (u: (x: Uint8Array) => unknown) => u(b)),
        mutatedArb(bases).map((m) => (u: (x: Uint8Array) => unknown) => withMutation(bases, { ...m, cut: Math.min(m.cut, 0.02) }, u)),
      ),
      (run) => onlyFormatError(() => run(parsePartitionTable)),
      RUNS,
      SEED,
    );
  });

  it('parseVmfsHeader: random bytes, random structures behind magics, mutated images', () => {
    assertGuarded(
      'parseVmfsHeader',
      fc.oneof(
        smallBytes.map((b) => (u: (x: Uint8Array) => unknown) => u(b)),
        structuredArb.map((s) => (u: (x: Uint8Array) => unknown) => withStructured(s, u)),
        mutatedArb(bases).map((m) => (u: (x: Uint8Array) => unknown) => withMutation(bases, m, u)),
      ),
      (run) => onlyFormatError(() => run(parseVmfsHeader)),
      RUNS,
      SEED,
    );
  });

  it('planHeaderDump: random bytes, random structures, mutated images', () => {
    assertGuarded(
      'planHeaderDump',
      fc.oneof(
        smallBytes.map((b) => (u: (x: Uint8Array) => unknown) => u(b)),
        structuredArb.map((s) => (u: (x: Uint8Array) => unknown) => withStructured(s, u)),
        mutatedArb(bases).map((m) => (u: (x: Uint8Array) => unknown) => withMutation(bases, m, u)),
      ),
      (run) =>
        onlyFormatError(() => {
          const plan = run(planHeaderDump) as ReturnType<typeof planHeaderDump>;
          expect(Number.isSafeInteger(plan.needBytes)).toBe(true);
        }),
      RUNS,
      SEED,
    );
  });

  it('parseVhSf: random bytes, random descriptors, mutated copies', () => {
    assertGuarded(
      'parseVhSf',
      fc.oneof(
        smallBytes.map((b) => (u: (x: Uint8Array) => unknown) => u(b)),
        fc.uint8Array({ minLength: 0xe0, maxLength: 0x200 }).map((d) => (u: (x: Uint8Array) => unknown) => {
          vhScratch.fill(0, 0x200000);
          vhScratch.set(d, 0x200000);
          vhScratch.set([0x5e, 0xf1, 0xab, 0x2f], 0x200000);
          return u(vhScratch.subarray(0, 0x200000 + d.length));
        }),
        mutatedArb([vhSfBase]).map((m) => (u: (x: Uint8Array) => unknown) => withMutation([vhSfBase], m, u)),
      ),
      (run) => onlyFormatError(() => run(parseVhSf)),
      RUNS,
      SEED,
    );
  });

  it('detect never throws and always names a kind', () => {
    const name = fc.option(
      fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('vmfs-header-backup-sdb.hex', 'x-vh.sf.bu', 'stmf.xml', 'undelete.bin', 'part-backup-sdc.hex')),
      { nil: undefined },
    );
    const text = fc
      .array(
        fc.constantFrom(
          'LU Name: ',
          '<service_bundle ',
          'iscsitgt',
          'stmf',
          'View Entry: 1',
          'Found 3 LU(s)',
          '/system/uuid = ',
          'a@b\t1\t2',
          '\n',
          '\t',
          'TARGET NAME  STATE  SESSIONS',
          'gpt\n1 2 3 4\n',
          'x',
        ),
        { maxLength: 30 },
      )
      .map((parts) => new TextEncoder().encode(parts.join('')));
    assertGuarded(
      'detect',
      fc.oneof(
        fc.tuple(smallBytes, name).map(
          ([b, n]) =>
            () =>
              detect(b, n),
        ),
        fc.tuple(text, name).map(
          ([b, n]) =>
            () =>
              detect(b, n),
        ),
        fc.tuple(mutatedArb(bases), name).map(
          ([m, n]) =>
            () =>
              withMutation(bases, m, (b) => detect(b, n)),
        ),
      ),
      (run) => {
        expect(ARTIFACT_KINDS).toContain(run());
        return true;
      },
      RUNS,
      SEED,
    );
  });
});

describe('identifier parsers let only FormatError out', () => {
  const hexish = fc.stringMatching(/^[0-9a-fA-F-]{0,40}$/);
  const prefixed = fc
    .tuple(
      fc.constantFrom('naa.', 'NAA.', 'eui.', 't10.', 'mpx.', 'vml.', 'VML.', 'iqn.', '/dev/zvol/rdsk/', '', ' '),
      fc.oneof(hexish, fc.string({ maxLength: 60 })),
    )
    .map(([p, s]) => p + s);
  const terms = fc.oneof(fc.string({ maxLength: 80 }), prefixed, fc.stringMatching(/^vml\.[0-9a-f]{0,90}$/));

  it('parseVml', () => {
    assertGuarded(
      'parseVml',
      terms,
      (s) =>
        onlyFormatError(() => {
          const v = parseVml(s);
          expect(v.lun).toBeGreaterThanOrEqual(0);
          expect(v.lun).toBeLessThan(65536);
        }),
      RUNS,
      SEED,
    );
  });

  it('canonicalDeviceId (idempotent on success)', () => {
    assertGuarded(
      'canonicalDeviceId',
      terms,
      (s) =>
        onlyFormatError(() => {
          const id = canonicalDeviceId(s);
          expect(canonicalDeviceId(id)).toBe(id);
        }),
      RUNS,
      SEED,
    );
  });

  it('parseQuery (only empty terms are refused)', () => {
    assertGuarded(
      'parseQuery',
      terms,
      (s) => {
        try {
          const q = parseQuery(s);
          expect(q.raw).toBe(s);
        } catch (e) {
          expect(e).toBeInstanceOf(FormatError);
          expect((e as FormatError).code).toBe('empty');
          expect(s.trim()).toBe('');
        }
        return true;
      },
      RUNS,
      SEED,
    );
  });

  it('canonicalVmfsUuid never throws', () => {
    assertGuarded(
      'canonicalVmfsUuid',
      terms,
      (s) => {
        const u = canonicalVmfsUuid(s);
        if (u !== null) expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        return true;
      },
      RUNS,
      SEED,
    );
  });
});

describe('the per-input hang guard', () => {
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
