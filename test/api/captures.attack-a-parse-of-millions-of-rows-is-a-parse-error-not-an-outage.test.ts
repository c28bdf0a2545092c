/**
 * What a parser makes of an artifact is bounded, not only its input: a text kind may be 32 MiB
 * (formats/text.ts), and a `zfs list` of lines like `t@1z\t1\t1` (10 bytes each) is 2.9 million
 * snapshots — 751 MiB of parsed JSON on the heap, 291 MiB as the artifact's jsonb. Sent by one
 * collector token to the real server on the embedded database, its commit held the event loop
 * for 38 s, ran PGlite out of memory (53200) and answered 503, which the collector sends again
 * every run, each time as long; the process kept 4.7 GB. Such an outcome (over
 * PARSED_MAX_HEAP_BYTES, estimated as the early parse's budget is) is now the artifact's parse
 * error `too_large`, and the capture commits. A listing of real snapshot names at the 32 MiB
 * text cap (553,892 snapshots) is well under it. A capture's parses are held to the same bound
 * together (a capture writes its rows at once): twenty 10 MiB lists of 10-byte lines, each under
 * it alone, 3 MB sent, ended the real server on PostgreSQL + S3 (heap out of memory). And the
 * text a capture's parses read is bounded (PARSED_TEXT_MAX_BYTES): a parse reads its text line
 * by line, and 10,000 artifacts naming the same six chunks of a 6 MiB list would be parsed
 * 10,000 times (1.9 s each for 10-byte lines, 0.15 s for lines it skips).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { estimatedHeapBytes, PARSED_MAX_HEAP_BYTES, PARSED_TEXT_MAX_BYTES } from '../../api/pipeline/parse.js';
import { parseArtifact } from '../../formats/parse.js';
import { MAX_TEXT_BYTES } from '../../formats/text.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, ingest, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

/**
 * A `zfs list -H -p -t snapshot -o name,creation,used` of at most `bytes`, one snapshot per
 * `line(n)` (ASCII), written byte by byte: millions of lines joined and encoded took seconds.
 */
function zfsListing(bytes: number, line: (n: number) => string): { text: Uint8Array; snapshots: number } {
  const text = new Uint8Array(bytes);
  let size = 0;
  for (let n = 0; ; n++) {
    const l = line(n);
    if (size + l.length > bytes) return { text: text.subarray(0, size), snapshots: n };
    for (let i = 0; i < l.length; i++) text[size + i] = l.charCodeAt(i);
    size += l.length;
  }
}
const tiny = (n: number) => `t@${n.toString(36)}\t1\t1\n`;
const real = (n: number) => `tank/vol/lun${n % 500}@zfs-auto-snap_daily-${n}\t1793491200\t123456\n`;

it('takes a listing of real snapshot names at the text cap well under the bound', () => {
  const { text, snapshots } = zfsListing(MAX_TEXT_BYTES, real);
  expect(snapshots).toBeGreaterThan(500_000);
  expect(estimatedHeapBytes(parseArtifact('zfs-snapshots', text, {}))).toBeLessThan(PARSED_MAX_HEAP_BYTES * 0.75);
});

// Made before the catalogs answer anything: a test that spends seconds between two requests
// may find its kept-alive connection closed by the server under it.
const small = zfsListing(4 * 1024 * 1024, real).text;
const big = zfsListing(10 * 1024 * 1024, tiny).text;
const huge = zfsListing(MAX_TEXT_BYTES, tiny);
/**
 * 6 MiB of lines a zfs list skips (no TAB): read line by line, nothing made of them. The bound
 * counts bytes, not lines; lines of 4 KiB keep the 252 MiB this test has parsed to 64,000 lines.
 */
const skipped = new TextEncoder().encode(`${'x@y 1 1 '.repeat(511)}x@y 1 1\n`.repeat((6 * 1024 * 1024) / 4096));

it('takes a 10 MiB list of 957,000 snapshots alone (244 MiB)', () => {
  expect(estimatedHeapBytes(parseArtifact('zfs-snapshots', big, {}))).toBeLessThan(PARSED_MAX_HEAP_BYTES);
});

describeEachFlavour('captures: a parse of millions of rows is a parse error, not an outage', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    ({ 'san-rows': token } = await collectorTokens(catalog, ['san-rows']));
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('commits a 32 MiB zfs list of 2.9 million snapshots with the parse error too_large', async () => {
    const { text, snapshots } = huge;
    expect(snapshots).toBeGreaterThan(2_900_000);
    const started = performance.now();
    const done = await ingest(catalog, {
      host: 'san-rows',
      hostKind: 'solaris',
      token,
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'zfs-list.txt', bytes: text, gzip: true }],
    });
    console.log(`committed in ${Math.round(performance.now() - started)} ms`);
    expect(done.state).toBe('committed');
    expect(done.artifacts[0].parseStatus).toBe('error');
    expect(done.artifacts[0].parseError?.code).toBe('too_large');
    expect(done.artifacts[0].parseError?.message).toContain('MiB');
    // The bytes are kept as sent, as for any parse error.
    const content = await catalog.request(`/v1/artifacts/${done.artifacts[0].id}/content`);
    expect(Buffer.from(await content.arrayBuffer()).equals(Buffer.from(text))).toBe(true);
  }, 240_000);

  it("holds a capture's parses to the bound together: artifacts each under it alone, past it together, are parse errors from there on", async () => {
    // 4 MiB of real names (about 68,000 snapshots), then two 10 MiB lists of 957,000 each, each under the bound alone (above).
    const done = await ingest(catalog, {
      host: 'san-rows',
      hostKind: 'solaris',
      token,
      artifacts: [
        { kind: 'zfs-snapshots', fileName: 'small.txt', bytes: small, gzip: true },
        ...[1, 2].map((i) => ({ kind: 'zfs-snapshots' as const, fileName: `big${i}.txt`, bytes: big, gzip: true })),
      ],
    });
    expect(done.artifacts.map((a) => [a.fileName, a.parseStatus, a.parseError?.code ?? null])).toEqual([
      ['small.txt', 'ok', null],
      ['big1.txt', 'error', 'too_large'],
      ['big2.txt', 'error', 'too_large'],
    ]);
    expect(done.artifacts[1].parseError?.message).toContain('one capture');
  }, 240_000);

  it('parses at most PARSED_TEXT_MAX_BYTES of text from one capture, however many artifacts name the same chunks', async () => {
    // 42 of them come to 252 MiB of the 256 MiB (PARSED_TEXT_MAX_BYTES); the 43rd would pass it.
    const n = Math.floor((256 * 1024 * 1024) / skipped.length);
    const started = performance.now();
    // The list's chunks made once, declared by every artifact (as a collector names the same chunks in each).
    const prepared = prepareCapture({
      host: 'san-rows',
      hostKind: 'solaris',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'junk0.txt', bytes: skipped, gzip: true }],
    });
    const [junk] = prepared.request.artifacts;
    prepared.request.artifacts = Array.from({ length: n + 8 }, (_, i) => ({ ...junk, fileName: `junk${i}.txt`, sourcePath: `/captures/junk${i}.txt` }));
    await uploadMissing(catalog, prepared, await begin(catalog, prepared.request, token));
    const done = await commit(catalog, prepared.request.captureId, token);
    console.log(`${n + 8} artifacts of 6 MiB committed in ${Math.round(performance.now() - started)} ms`);
    const codes = done.artifacts.map((a) => a.parseError?.code);
    expect(codes.slice(0, n)).toEqual(Array(n).fill('unrecognized'));
    expect(codes.slice(n)).toEqual(Array(8).fill('too_large'));
    expect(done.artifacts[n].parseError?.message).toContain('no more text from one capture');
    expect(PARSED_TEXT_MAX_BYTES).toBe(256 * 1024 * 1024);
  }, 240_000);
});
