/**
 * A bundle whose every chunk was read and checked before the answer starts. A tar streamed
 * with a damaged chunk can only break off part-way (its headers and sizes are already out),
 * so every chunk of the chosen files is checked first; an artifact with a damaged or missing
 * chunk is left out, its series falling back to the next newest capture the catalog holds
 * (another capture's copy), and RESTORE.md and bundle.json say what was left out and what
 * came instead — for a header dump, the dump its device is restored from, by capture, host
 * and artifact, and whether its LUN or partition entry differs from the newer capture's
 * (api/bundle/fallback.ts). When what was left out is a header dump restore.sh needs for a device and no
 * other dump of that device is intact, the bundle is refused up front (502 chunk_corrupt),
 * naming the artifact and what to do.
 */
import type { Db } from '../../db/client.js';
import { ApiError } from '../errors.js';
import type { Services } from '../context.js';
import { ChunkError, checkStoredChunk, sha256Hex } from '../pipeline/chunks.js';
import { pool } from '../ingest/staging.js';
import type { CheckedObject, StoredChunk } from '../read/content.js';
import { recordDamagedChunk } from '../retention/check.js';
import { chunkKey } from '../store/types.js';
import { dumpInsteadOf, olderDumps } from './fallback.js';
import { selectBundle } from './select.js';
import type { BundleFile, BundleSelection, BundleSubject, LeftOutFile } from './types.js';

/** Rounds of leaving out and choosing again: each falls back one capture further. */
const MAX_ROUNDS = 8;

/** Why each chunk is unusable (null: read whole and good), shared by the rounds of one bundle. */
type Verdicts = Map<string, string | null>;

/**
 * Reads and checks every chunk of `files` not judged yet, 8 at a time. A good chunk stored as
 * gzip data alone is noted in `checked` (its object's size and SHA-256): the tar sends that
 * object when it reads the same again, without inflating and hashing the chunk a second time.
 */
async function judge(services: Pick<Services, 'store'>, files: BundleFile[], verdicts: Verdicts, checked: Map<string, CheckedObject>): Promise<void> {
  const todo = new Map<string, StoredChunk>();
  for (const f of files) for (const c of f.chunks) if (!verdicts.has(c.sha256)) todo.set(c.sha256, c);
  await pool([...todo.values()], 8, async (c) => {
    const raw = await services.store.getBytes(chunkKey(c.sha256));
    if (!raw) return void verdicts.set(c.sha256, 'gone from the store');
    try {
      const { gzipOnly } = await checkStoredChunk(c.sha256, c.size, raw);
      verdicts.set(c.sha256, null);
      if (gzipOnly) checked.set(c.sha256, { storedSize: raw.length, storedSha256: sha256Hex(raw) });
    } catch (e) {
      if (!(e instanceof ChunkError)) throw e;
      verdicts.set(c.sha256, e.message);
    }
  });
}

const seriesOf = (f: { host: string; kind: string; sourcePath: string; device: string | null }) =>
  `${f.host}\u0000${f.kind}\u0000${f.sourcePath}\u0000${f.device ?? ''}`;

/** Devices whose partition table restore.sh takes from a header dump in `sel`. */
const headerDevices = (sel: BundleSelection) => new Set(sel.plan.extents.filter((e) => e.headerFile).map((e) => e.deviceId ?? `extent ${e.number}`));

/**
 * selectBundle, with every chunk of the chosen files checked: artifacts with a damaged or
 * missing chunk left out (recorded as the scrub would: api/retention/check.ts), listed in
 * `leftOut`; refused with 502 chunk_corrupt when that loses restore.sh a device's header dump.
 */
export async function selectIntactBundle(
  services: Pick<Services, 'db' | 'store' | 'now' | 'config' | 'logger'>,
  subject: BundleSubject,
  at: Date,
  now: Date,
): Promise<BundleSelection> {
  const { db, store } = services;
  const verdicts: Verdicts = new Map();
  const checked = new Map<string, CheckedObject>();
  const damaged = new Map<string, { file: BundleFile; chunk: string; reason: string }>();
  const recorded = new Set<string>();
  const what = subject.vmfsUuid ? `volume ${subject.vmfsUuid}` : `device ${subject.deviceId}`;
  let first: BundleSelection | null = null;
  for (let round = 0; ; round++) {
    let sel: BundleSelection;
    try {
      sel = await selectBundle(db as Db, subject, at, now, store, new Set(damaged.keys()));
    } catch (e) {
      // Everything the catalog held was damaged: the refusal names it, not "nothing known".
      if (first && e instanceof ApiError && e.code === 'not_found') throw refusal(what, [...damaged.values()], null);
      throw e;
    }
    first ??= sel;
    await judge(services, sel.files, verdicts, checked);
    // A chunk found bad is read once more and recorded as the scrub would; one that reads
    // whole the second time was a read that went wrong, not a chunk that did.
    for (const f of sel.files)
      for (const c of f.chunks) {
        if (!verdicts.get(c.sha256) || recorded.has(c.sha256)) continue;
        recorded.add(c.sha256);
        const bad = await recordDamagedChunk(services, c).catch((e) => {
          services.logger.error('recording a damaged chunk failed', { sha256: c.sha256, err: e instanceof Error ? e.message : String(e) });
          return true;
        });
        if (!bad) verdicts.set(c.sha256, null);
      }
    const bad = sel.files.flatMap((file) => {
      const chunk = file.chunks.find((c) => verdicts.get(c.sha256));
      return chunk ? [{ file, chunk: chunk.sha256, reason: verdicts.get(chunk.sha256)! }] : [];
    });
    for (const b of bad) damaged.set(b.file.artifactId, b);
    if (bad.length && round < MAX_ROUNDS) continue;
    if (bad.length) throw refusal(what, [...damaged.values()], null);
    sel.checked = checked;
    const facts = sel.deviceFacts ?? [];
    sel.olderDumps = olderDumps(facts, sel.plan.extents, sel.files, new Set(damaged.keys()));
    if (damaged.size === 0) return sel;
    const lost = [...headerDevices(first)].filter((d) => !headerDevices(sel).has(d));
    if (lost.length) throw refusal(what, [...damaged.values()], lost);
    sel.leftOut = [...damaged.values()].map(({ file, chunk, reason }) => {
      // A header dump is replaced by whichever dump its device's extent is now restored from
      // (an older capture's, or another host's); any other file by the next of its series.
      const series = sel.files.find((f) => seriesOf(f) === seriesOf(file));
      const instead =
        dumpInsteadOf(facts, sel.plan.extents, sel.files, file.artifactId) ??
        (series ? { artifactId: series.artifactId, captureId: series.captureId, host: series.host, path: series.path, collectedAt: series.collectedAt } : null);
      return {
        artifactId: file.artifactId,
        host: file.host,
        kind: file.kind,
        fileName: file.fileName,
        sourcePath: file.sourcePath,
        collectedAt: file.collectedAt,
        chunk,
        reason,
        replacedBy: instead,
      } satisfies LeftOutFile;
    });
    return sel;
  }
}

/** The 502 a bundle that cannot be built whole enough becomes: each damaged artifact, and what to do. */
function refusal(what: string, damaged: Array<{ file: BundleFile; chunk: string; reason: string }>, lostDevices: string[] | null): ApiError {
  const named = damaged.map(
    (d) =>
      `artifact ${d.file.artifactId} (${d.file.host}: ${d.file.fileName}, captured ${d.file.collectedAt}) has chunk ${d.chunk} ${d.reason === 'gone from the store' ? 'gone from the store' : 'damaged'}`,
  );
  const need = lostDevices
    ? `; restore.sh needs a header dump of ${lostDevices.join(', ')} and no other capture holds an intact one`
    : '; no capture of it reads whole';
  return new ApiError(
    'chunk_corrupt',
    `restore bundle for ${what} refused: ${named.join('; ')}${need}. The damaged chunks are set aside and raised as chunk-corrupt: the next capture of the host stores them again (run the collector on it), or ask with ?at= for a time whose captures read whole; the other files download one by one from /v1/artifacts/{id}/content`,
    { artifacts: damaged.map((d) => ({ artifactId: d.file.artifactId, chunk: d.chunk, reason: d.reason })) },
  );
}
