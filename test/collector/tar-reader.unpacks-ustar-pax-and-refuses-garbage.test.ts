/**
 * The collector's own tar reader (collector/tar.ts) against archives written by the
 * `tar` package (ustar, pax long names, GNU base-256 sizes), and fuzzed: random and
 * mutated input only ever ends in a TarError, in bounded time.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as tar from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { TarError, TarReader, type TarEntry } from '../../collector/tar.js';

interface Read {
  entries: Array<TarEntry & { sha256: string; bytes: number }>;
}

/** Feeds `data` in pieces of `step` bytes and collects what comes out. */
function readTar(data: Buffer, step = data.length || 1): Read {
  const entries: Read['entries'] = [];
  let hash = createHash('sha256');
  let bytes = 0;
  let current: TarEntry | null = null;
  const r = new TarReader({
    entry(e) {
      current = e;
      hash = createHash('sha256');
      bytes = 0;
    },
    data(c) {
      hash.update(c);
      bytes += c.length;
    },
    entryEnd() {
      entries.push({ ...current!, sha256: hash.digest('hex'), bytes });
    },
  });
  for (let i = 0; i < data.length; i += step) r.write(data.subarray(i, i + step));
  r.end();
  return { entries };
}

const dir = mkdtempSync(join(tmpdir(), 'tar-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function makeArchive(files: Record<string, Buffer>, opts: { portable?: boolean } = {}): Buffer {
  const src = mkdtempSync(join(dir, 'src-'));
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(join(src, name, '..'), { recursive: true });
    writeFileSync(join(src, name), data);
  }
  const out = join(dir, `${randomBytes(4).toString('hex')}.tar`);
  tar.create({ file: out, cwd: src, sync: true, portable: opts.portable ?? true }, Object.keys(files).sort());
  return readFileSync(out);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('reading archives the tar package writes', () => {
  const files: Record<string, Buffer> = {
    'bundle/SHA256SUMS': Buffer.from('x\n'),
    'bundle/empty': Buffer.alloc(0),
    'bundle/exactly-512': randomBytes(512),
    'bundle/one-mib-and-a-bit': randomBytes(1024 * 1024 + 77),
    [`bundle/${'very-long-directory-name-'.repeat(6)}/artifact-with-a-long-name-${'x'.repeat(60)}.bin`]: randomBytes(3000),
  };
  const archive = makeArchive(files);

  it('gives every file with its exact bytes, whatever the write sizes', () => {
    for (const step of [archive.length, 1, 511, 512, 513, 4096, 65536]) {
      const got = readTar(archive, step).entries.filter((e) => e.type === 'file');
      expect(Object.fromEntries(got.map((e) => [e.path, e.sha256]))).toEqual(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, sha(v)])));
      for (const e of got) expect(e.bytes).toBe(e.size);
    }
  });

  it('reads a pax path longer than 100 characters', () => {
    const long = Object.keys(files).find((k) => k.length > 155)!;
    expect(readTar(archive).entries.map((e) => e.path)).toContain(long);
  });

  it('refuses a truncated archive and a bad header checksum', () => {
    expect(() => readTar(archive.subarray(0, archive.length - 3000))).toThrow(TarError);
    const bad = Buffer.from(archive);
    bad[10] ^= 0xff;
    expect(() => readTar(bad)).toThrow(/checksum/);
    expect(() => readTar(Buffer.alloc(0))).toThrow(TarError);
  });
});

describe('fuzzing', () => {
  const valid = makeArchive({ 'a/SHA256SUMS': Buffer.from('abc\n'), 'a/data.bin': randomBytes(2000), 'a/restore.sh': Buffer.from('#!/bin/sh\n') });
  const onlyTarErrors = (input: Buffer) => {
    try {
      readTar(input, 1 + (input.length % 700));
    } catch (e) {
      if (!(e instanceof TarError)) throw e;
    }
  };

  it('random bytes only ever raise TarError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => onlyTarErrors(Buffer.from(bytes))),
      { numRuns: 5000 },
    );
  });

  it('mutated archives only ever raise TarError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(valid.length),
        (flips, cut) => {
          const m = Buffer.from(valid);
          for (const [at, v] of flips) m[at] = v;
          onlyTarErrors(m);
          onlyTarErrors(m.subarray(0, cut));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('a header claiming a huge metadata entry is refused without buffering it', () => {
    const h = Buffer.alloc(512);
    h.write('PaxHeaders/x', 0);
    h.write('0000644\0', 100);
    h.write('77777777777\0', 124); // 8 GiB pax body
    h[156] = 'x'.charCodeAt(0);
    h.write('ustar\0', 257);
    h.write('00', 263);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    expect(() => readTar(h)).toThrow(/too large/);
  });
});
