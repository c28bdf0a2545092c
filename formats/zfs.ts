/**
 * `zfs list -H -p -t snapshot -o name,creation,used`: one snapshot a line,
 * TAB-separated (`-H`), creation in epoch seconds and used in bytes (`-p`).
 * Lines without TABs (stderr such as "no datasets available") are skipped.
 */
import { FormatError, malformed, unrecognized } from './errors.js';
import { detailsOnly, type ParsedArtifact, type ZfsSnapshot } from './types.js';
import { guarded, textSections } from './text.js';

export interface ZfsDetails {
  [key: string]: unknown;
  snapshots: ZfsSnapshot[];
  /** Datasets that have snapshots, sorted. */
  datasets: string[];
}

/**
 * What one snapshot row holds at least, by the heap model the catalog bounds a parse's outcome
 * with (api/pipeline/parse.ts estimatedHeapBytes): its array slot 8, the object 32 and 16 a
 * property for its five, its four strings 24 each plus their characters (the name's twice less
 * its `@`, the time's 24 at least), its number 16.
 */
const ROW_BYTES = 8 + 32 + 5 * 16 + 4 * 24 + 24 + 16 - 1;

/**
 * Parse a zfs snapshot listing (bare or in a collector section) into snapshots with ISO creation
 * times. With `maxHeapBytes`, a listing whose rows alone come to more than that (by the model
 * above, never more than the whole outcome's estimate) is refused `too_large` as soon as they
 * pass it, instead of being parsed whole: 32 MiB of 10-byte lines is 2.9 million rows, 751 MiB
 * of heap, where a bound of 256 MiB stops it about a third of the way in.
 */
export function parseZfsSnapshots(input: Uint8Array | string, maxHeapBytes = Number.POSITIVE_INFINITY): ParsedArtifact {
  return guarded('zfs snapshot list', () => {
    const sections = textSections(input, 'zfs snapshot list');
    const snapshots: ZfsSnapshot[] = [];
    let heap = 0;
    let zfsSection = false;
    // A recursive snapshot (`zfs snapshot -r`) gives every dataset the same creation second:
    // the ISO time of the line before is taken again rather than made again.
    let lastCreation = '';
    let lastCreatedAt = '';
    for (const section of sections) {
      if (section.command !== null) {
        if (!/\bzfs\b/.test(section.command)) continue;
        zfsSection = true;
      }
      for (let i = 0; i < section.lines.length; i++) {
        const lineNo = section.firstLine + i;
        const line = section.lines[i];
        // The first three TAB-separated fields, each trimmed (the rest of the line is not read),
        // cut out where the TABs are rather than split into an array a line.
        const tab1 = line.indexOf('\t');
        if (tab1 < 0) continue;
        const name = line.slice(0, tab1).trim();
        const at = name.indexOf('@');
        if (at <= 0 || at === name.length - 1) continue;
        const tab2 = line.indexOf('\t', tab1 + 1);
        if (tab2 < 0) malformed('snapshot line needs name, creation and used', { line: lineNo });
        const tab3 = line.indexOf('\t', tab2 + 1);
        const creation = line.slice(tab1 + 1, tab2).trim();
        const used = (tab3 < 0 ? line.slice(tab2 + 1) : line.slice(tab2 + 1, tab3)).trim();
        if (!/^\d{1,12}$/.test(creation)) malformed(`creation is not epoch seconds: ${creation.slice(0, 40)}`, { line: lineNo });
        // `-p` prints exact bytes; `-` appears for a snapshot being destroyed.
        if (!/^(\d{1,16}|-)$/.test(used)) malformed(`used is not a byte count: ${used.slice(0, 40)}`, { line: lineNo });
        if (creation !== lastCreation) {
          const date = new Date(Number(creation) * 1000);
          if (Number.isNaN(date.getTime())) malformed(`creation out of range: ${creation}`, { line: lineNo });
          lastCreation = creation;
          lastCreatedAt = date.toISOString();
        }
        heap += ROW_BYTES + 2 * name.length;
        if (heap > maxHeapBytes) {
          throw new FormatError('too_large', `zfs snapshot list: its rows come to over ${maxHeapBytes / 1024 / 1024} MiB by line ${lineNo}`, { line: lineNo });
        }
        snapshots.push({
          name,
          dataset: name.slice(0, at),
          snapshot: name.slice(at + 1),
          createdAt: lastCreatedAt,
          usedBytes: used === '-' ? 0 : Number(used),
        });
      }
    }
    if (snapshots.length === 0 && !zfsSection) {
      unrecognized('zfs snapshot list: no `dataset@snapshot<TAB>creation<TAB>used` lines');
    }
    const datasets = [...new Set(snapshots.map((s) => s.dataset))].sort();
    const details: ZfsDetails = { snapshots, datasets };
    return detailsOnly('zfs-snapshots', details);
  });
}

/**
 * The ZFS dataset a zvol backing store names: `/dev/zvol/rdsk/<dataset>` (or `dsk`) →
 * `<dataset>` (docs/formats.md §8); null for a file or any other device. The link from
 * an iSCSI LU to the snapshots a DR site can clone.
 */
export function datasetOfBackingStore(backingStore: string | null): string | null {
  const m = backingStore ? /^\/dev\/zvol\/r?dsk\/(.+?)\/*$/.exec(backingStore) : null;
  return m ? m[1] : null;
}
