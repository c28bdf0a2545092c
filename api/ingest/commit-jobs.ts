/**
 * Commits that outlast a request, handed to a worker.
 *
 * Committing a capture reads and hashes every chunk the collector uploaded for it. A
 * support-grade header dump is 1.2–1.5 GiB: that takes longer than an HTTP request may
 * run behind API Gateway (30 s), and longer than a collector should hold a socket open.
 * So when the staged bytes a commit must still read exceed COMMIT_INLINE_MAX_BYTES, or the new
 * artifacts it hashes whole exceed INLINE_WHOLE_HASH_FACTOR times that, POST
 * /v1/captures/{id}/commit records a job (the `commit_jobs` row) and answers 202 with
 * Retry-After; the collector POSTs commit again, and gets 202 until the job is done, then
 * the usual 200 — or, when the job failed, the error the commit itself gave (422 for a bad
 * chunk, 503 for an outage), once: the next POST starts a fresh attempt, as a repeated
 * synchronous commit would.
 *
 * The protocol's guarantees hold because the job does nothing but call commitCapture, which
 * already is idempotent on the capture id, all or nothing (one transaction plus the
 * manifest) and safe to run twice at once (the capture row's lock decides which run
 * commits; the other answers the same artifact ids):
 *  - a job is one row per capture (its primary key), so repeating the commit queues nothing twice;
 *  - a runner takes a job by one conditional UPDATE (queued, or running with its lease run
 *    out) and renews the lease while it works; a runner killed mid-way (kill -9, a Lambda
 *    timeout) leaves a lease that runs out, and the next runner takes the job again —
 *    after MAX_ATTEMPTS such takings the job fails instead of looping;
 *  - the capture's own state stays the one truth of "committed": a POST finds a committed
 *    capture before it looks at any job, and a finished job's row is deleted.
 *
 * Who runs a job: `services.dispatchCommit` when set (on AWS Lambda, an asynchronous
 * invocation of the API function itself, api/lambda.ts), else this process in the
 * background (the Node server, which also takes up jobs a crash left: startCommitWorker).
 * The scheduled maintenance run takes up any job whose runner vanished.
 *
 * Host scope: a POST is checked against the capture's host before any job is looked at,
 * queued or reported, so a collector token of another host can neither start, poll nor
 * see another host's commit (403, as for the synchronous commit).
 */
import { hostname } from 'node:os';
import { and, eq, getTableColumns, inArray, lt, or, sql } from 'drizzle-orm';
import type { BeginBody, BeginRequest, BeginResponse, CommitInProgress, CommitResponse } from '../../formats/protocol.js';
import type { Db } from '../../db/client.js';
import { captures, commitJobs } from '../../db/schema.js';
import type { Principal, Services } from '../context.js';
import { ApiError, describeError, ERROR_STATUS, toApiError, type ErrorCode } from '../errors.js';
import { type CommitOptions, commitCapture, committedAnswer } from './commit.js';
import { assertDeclaredWhole, distinctChunks } from './begin.js';
import { type ReceivedChunks, receivedOf } from './chunks.js';
import { assertCaptureOfScope } from './host-scope.js';
import { onePer } from '../one-per.js';
import { earlierParses } from '../pipeline/parse.js';
import { chunkRecordsJson, chunkRecordsOf, chunkRecordsOnce, type ChunkRecords, type ChunkRecordsJson, type ManifestArtifact } from '../pipeline/verify.js';

/** Times a job may be taken (its runner then vanishing) before it fails instead of being taken again. */
export const MAX_ATTEMPTS = 5;

/** Jobs one process runs at once; more wait queued for a free slot. */
export const LOCAL_JOBS = 2;

/** Retry-After of a 202: about the time to hash what is left at a modest rate, within [2, 30] s. */
const HASH_BYTES_PER_SECOND = 100 * 1024 * 1024;

/** The answer to POST …/commit: committed (200), or handed to a worker (202). */
export type CommitOutcome = { status: 200; body: CommitResponse } | { status: 202; body: CommitInProgress };

type JobRow = typeof commitJobs.$inferSelect;

/** What a failed job stored: the error its commit answered. */
interface StoredError {
  status: number;
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/**
 * Bytes a commit of this capture must still read back and hash: its distinct chunks that were
 * neither delivered through the catalog for this capture and are still in this process's copy
 * of what it received (`inMemory`; a `capture_chunks` row of the same size says they were
 * verified and published when they arrived) nor held already by the host with a `blobs` row of
 * the same size — the ones uploaded to staging (api/pipeline/verify.ts verifies exactly those;
 * the rest cost one lookup each). A delivered chunk this process does not hold (another Lambda
 * instance took the batch, or the copy's bound pushed it out) counts: the commit would read it
 * back from the store. When all its distinct chunks together are at most `atMost` bytes, that
 * sum is the answer (no lookups). `records`: the capture's chunk records as the caller will read
 * them for its commit too (chunkRecordsOnce), so they are read once.
 *
 * Nothing the collector declares lowers it: a `capture_chunks` row is written by the chunks
 * route only once the catalog has inflated and hashed those bytes itself, and counts only for
 * the capture it was sent to and at the size it was checked at (the test verify applies).
 */
export async function stagedBytesToVerify(
  db: Db,
  host: string,
  captureId: string,
  request: BeginRequest,
  inMemory: ReceivedChunks,
  atMost = Number.POSITIVE_INFINITY,
  records?: () => Promise<ChunkRecords>,
): Promise<number> {
  const chunks = [...distinctChunks(request).values()];
  // Most commits are small whatever is staged: then the store's records are not even asked.
  const declared = chunks.reduce((n, c) => n + c.size, 0);
  if (declared <= atMost) return declared;
  const read =
    records ??
    chunkRecordsOnce(
      db,
      host,
      captureId,
      chunks.map((c) => c.sha256),
    );
  const { known, held, delivered } = await read();
  let bytes = 0;
  for (const c of chunks) {
    if (delivered.get(c.sha256)?.size === c.size && inMemory.get(captureId, c.sha256)) continue;
    if (!(held.has(c.sha256) && known.get(c.sha256)?.size === c.size)) bytes += c.size;
  }
  return bytes;
}

/**
 * An inline commit hashes at most this many times COMMIT_INLINE_MAX_BYTES of artifacts whole
 * (1 GiB by default: a day 1 of 50 header dumps of 20 MiB, about two seconds of SHA-256);
 * past that it is handed to the worker as a large staged upload is. Hashing bytes already in
 * memory costs far less per byte than reading a staged chunk back (and, on S3, requests), but
 * it is still work the collector's declaration decides: an artifact may name one chunk it holds
 * (or sends once, gzipped to about 1 KiB) thousands of times, up to the 32 GiB of a capture.
 */
export const INLINE_WHOLE_HASH_FACTOR = 16;

/**
 * Bytes of this capture's artifacts its commit hashes whole: every artifact but those it takes
 * over from the host's earlier commit of the same bytes (api/pipeline/parse.ts earlierParses,
 * asked as the commit asks it, before any chunk is new), repeats of a chunk counted each time.
 * When all artifacts together are at most `atMost` bytes, that sum is the answer (no lookups).
 */
export async function wholeBytesToHash(db: Db, host: string, request: BeginRequest, atMost = Number.POSITIVE_INFINITY): Promise<number> {
  const total = request.artifacts.reduce((n, a) => n + a.size, 0);
  if (total <= atMost) return total;
  const earlier = await earlierParses(db, host, declaredRefs(request));
  return request.artifacts.reduce((n, a, i) => n + (earlier.has(i) ? 0 : a.size), 0);
}

/** A request's artifacts as a commit would store them had every chunk rested as declared (no ids yet). */
export function declaredRefs(request: BeginRequest): ManifestArtifact[] {
  return request.artifacts.map((a) => ({
    ...a,
    id: '',
    device: a.device ?? null,
    chunks: a.chunks.map((c) => ({ ...c, encoding: c.encoding ?? 'identity', storedSize: c.storedSize ?? c.size })),
  }));
}

async function loadCaptureRow(db: Db, captureId: string): Promise<typeof captures.$inferSelect | undefined> {
  const [row] = await db.select().from(captures).where(eq(captures.id, captureId));
  return row;
}

function inProgress(job: JobRow): CommitInProgress {
  const seconds = Math.ceil(job.bytes / HASH_BYTES_PER_SECOND);
  return {
    captureId: job.captureId,
    state: 'committing',
    queuedAt: job.queuedAt.toISOString(),
    startedAt: job.state === 'running' && job.startedAt ? job.startedAt.toISOString() : null,
    attempts: job.attempts,
    bytes: job.bytes,
    retryAfter: Math.min(30, Math.max(2, seconds)),
  };
}

/** True when a runner may take the job now: queued, or running under a lease that ran out (as takeableAt says in SQL). */
function takeable(job: Pick<JobRow, 'state' | 'leaseUntil'>, now: Date): boolean {
  return job.state === 'queued' || (job.state === 'running' && !!job.leaseUntil && job.leaseUntil < now);
}

/** The jobs a runner may take at `now`, as a condition: what takeable says of one row. */
function takeableAt(now: Date) {
  return or(eq(commitJobs.state, 'queued'), and(eq(commitJobs.state, 'running'), lt(commitJobs.leaseUntil, now)));
}

/**
 * The statement commitOrHandOff reads a capture with: its row, its job, and — only when a commit
 * will read them, not to answer a committed capture again or a job's poll — its request (up to
 * 65,536 chunk references) and its chunk records. Built once per database, for the capture id as
 * its parameter: building it cost about as much of the catalog's CPU as a small commit's parse.
 */
const commitRowOf = onePer((db: Db) => {
  const { request: _request, ...columns } = getTableColumns(captures);
  return db
    .select({
      cap: columns,
      request: sql<BeginRequest | null>`CASE WHEN ${captures.state} = 'open' AND ${commitJobs.captureId} IS NULL THEN ${captures.request} END`.mapWith(
        captures.request,
      ),
      // The chunk records its commit reads, for the same capture (chunkRecordsOnce's, from the request's chunks).
      records: sql<ChunkRecordsJson | string | null>`CASE WHEN ${captures.state} = 'open' AND ${commitJobs.captureId} IS NULL THEN ${chunkRecordsJson(
        sql`SELECT c->>'sha256' FROM jsonb_array_elements(${captures.request}->'artifacts') AS a(a) CROSS JOIN LATERAL jsonb_array_elements(a.a->'chunks') AS r(c)`,
        sql`${captures.host}`,
        sql`${captures.id}`,
      )} END`,
      job: commitJobs,
    })
    .from(captures)
    .leftJoin(commitJobs, eq(commitJobs.captureId, captures.id))
    .where(eq(captures.id, sql.placeholder('captureId')))
    .prepare('commit_row');
});

/**
 * POST /v1/captures/{id}/commit: the synchronous commit when its work is small, else a job
 * for a worker (202). Repeating it polls the job; see the module comment.
 */
export async function commitOrHandOff(services: Services, principal: Principal, captureId: string, options: CommitOptions = {}): Promise<CommitOutcome> {
  const { db } = services;
  // The capture and its job, if any, in one statement; the row goes on to commitCapture, which
  // need not read it again.
  const [found] = await commitRowOf(db).execute({ captureId });
  // No capture: the synchronous commit says so (404), as it always has.
  if (!found) return { status: 200, body: await commitCapture(services, principal, captureId) };
  const { job } = found;
  // Before the job is looked at: another host's token learns nothing about this one's commit,
  // nor that the capture exists (answered as an unknown id).
  assertCaptureOfScope(principal, found.cap.host, captureId);
  if (found.cap.state === 'committed') {
    if (job) await db.delete(commitJobs).where(eq(commitJobs.captureId, captureId));
    return { status: 200, body: await committedAnswer(db, found.cap) };
  }

  if (job?.state === 'failed') {
    // Reported once: this POST answers the job's error and the next one starts afresh.
    const [taken] = await db
      .delete(commitJobs)
      .where(and(eq(commitJobs.captureId, captureId), eq(commitJobs.state, 'failed')))
      .returning({ error: commitJobs.error });
    if (taken) throw storedToApiError(taken.error as StoredError);
  } else if (job) {
    if (takeable(job, services.now())) await dispatch(services, captureId);
    return { status: 202, body: inProgress(job) };
  }

  // Read here when the statement above left it out (a job was there): the capture as it is now.
  const cap = found.request ? { ...found.cap, request: found.request } : await loadCaptureRow(db, captureId);
  if (!cap) return { status: 200, body: await commitCapture(services, principal, captureId) };
  if (cap.state === 'committed') return { status: 200, body: await committedAnswer(db, cap) };
  assertDeclaredWhole(captureId, cap.request);
  const limit = services.config.COMMIT_INLINE_MAX_BYTES;
  const request = cap.request as BeginRequest;
  // Read once for the weighing and the commit's verify (the same distinct chunks): with the row above when it read them.
  const read = found.records ? chunkRecordsOf(found.records) : null;
  const records = read ? () => Promise.resolve(read) : chunkRecordsOnce(db, cap.host, captureId, [...distinctChunks(request).keys()]);
  const staged = await stagedBytesToVerify(db, cap.host, captureId, request, receivedOf(services.store), limit, records);
  // The artifacts hashed whole count only when the staged bytes alone keep the commit inline.
  const hashed = staged <= limit ? await wholeBytesToHash(db, cap.host, request, limit * INLINE_WHOLE_HASH_FACTOR) : 0;
  if (staged <= limit && hashed <= limit * INLINE_WHOLE_HASH_FACTOR)
    return { status: 200, body: await commitCapture(services, principal, captureId, cap, records, options) };
  const bytes = staged + hashed;

  await db.insert(commitJobs).values({ captureId, host: cap.host, state: 'queued', bytes, queuedAt: services.now() }).onConflictDoNothing();
  const [queued] = await db.select().from(commitJobs).where(eq(commitJobs.captureId, captureId));
  // Gone or failed already: a runner ended it between the insert and this read.
  if (!queued || queued.state === 'failed') return commitOrHandOff(services, principal, captureId);
  services.logger.info('commit handed to a worker', { captureId, bytes });
  await dispatch(services, captureId);
  return { status: 202, body: inProgress(queued) };
}

/**
 * A begin sent with `Prefer: commit-if-complete` (the collector's, every run): when the
 * capture is unchanged — every artifact declared by `previous`, so each takes over an earlier
 * parse and nothing is read — and no chunk is missing, it is committed by the same request,
 * one round trip where begin and commit took two. A capture found committed already (a
 * spooled one sent again) is answered too. Otherwise, or when that commit is handed to a
 * worker or refused (a chunk the store lost, an outage), the begin answers as without the
 * preference and the collector POSTs commit as usual, which then answers what it answers.
 */
export async function commitAtBegin(services: Services, principal: Principal, body: BeginBody, begun: BeginResponse): Promise<BeginResponse> {
  const unchanged = begun.missing.length === 0 && body.artifacts.every((a) => a.chunks === undefined && a.previous);
  if (begun.state !== 'committed' && !unchanged) return begun;
  try {
    const outcome = await commitOrHandOff(services, principal, begun.captureId, { stagingUnused: unchanged });
    if (outcome.status === 200) return { ...begun, state: 'committed', commit: outcome.body };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    services.logger.info('commit at begin refused; the collector commits as usual', { captureId: begun.captureId, error: e.message });
  }
  return begun;
}

function storedToApiError(stored: StoredError): ApiError {
  const code: ErrorCode = stored && stored.code in ERROR_STATUS ? stored.code : 'internal';
  return new ApiError(code, stored?.message ?? 'the commit failed', stored?.details);
}

/** Hands the job on; a hand-off that fails leaves it queued for the next POST or the scheduled run. */
async function dispatch(services: Services, captureId: string): Promise<void> {
  try {
    if (services.dispatchCommit) await services.dispatchCommit(captureId);
    else runHere(services, captureId);
  } catch (e) {
    services.logger.warn('could not hand a commit to its worker; it stays queued', { captureId, ...describeError(e) });
  }
}

/** The jobs this process runs now, per services (tests start several catalogs in one process). */
const running = new WeakMap<Services, Map<string, Promise<void>>>();

/** This process's name for the logs and the job row. */
export function localRunner(): string {
  return `${hostname()}:${process.pid}`;
}

/** Runs the job in this process, in the background, unless it runs here already or every slot is busy. */
export function runHere(services: Services, captureId: string): void {
  const mine = running.get(services) ?? new Map<string, Promise<void>>();
  running.set(services, mine);
  if (mine.has(captureId) || mine.size >= LOCAL_JOBS) return;
  const job = runCommitJob(services, captureId, localRunner())
    .then(
      () => undefined,
      (e: unknown) => services.logger.warn('commit job stopped', { captureId, ...describeError(e) }),
    )
    .finally(() => {
      mine.delete(captureId);
      // A slot is free: the next waiting job (in turn, takeableJobs) starts now, not at the next tick.
      sweepers.get(services)?.();
    });
  mine.set(captureId, job);
}

/** The commit worker's look for takeable jobs, per services, once startCommitWorker runs. */
const sweepers = new WeakMap<Services, () => void>();

/** Resolves once the jobs this process runs for `services` have ended (tests, a clean stop). */
export async function settleCommitJobs(services: Services): Promise<void> {
  while ((running.get(services)?.size ?? 0) > 0) await Promise.all(running.get(services)!.values());
}

export type JobRun = 'committed' | 'failed' | 'not-taken';

/**
 * Takes the job if it is takeable, runs the commit under a renewed lease, and records the
 * outcome: the row deleted (committed) or kept as failed with the commit's error.
 */
export async function runCommitJob(services: Services, captureId: string, runner: string): Promise<JobRun> {
  const { db, logger } = services;
  const leaseMs = services.config.COMMIT_JOB_LEASE_SECONDS * 1000;
  const now = services.now();
  const [job] = await db
    .update(commitJobs)
    .set({ state: 'running', attempts: sql`${commitJobs.attempts} + 1`, startedAt: now, leaseUntil: new Date(now.getTime() + leaseMs), runner })
    .where(and(eq(commitJobs.captureId, captureId), takeableAt(now)))
    .returning();
  if (!job) return 'not-taken';
  const mine = and(eq(commitJobs.captureId, captureId), eq(commitJobs.state, 'running'), eq(commitJobs.runner, runner));
  if (job.attempts > MAX_ATTEMPTS) {
    const error: StoredError = {
      status: 500,
      code: 'internal',
      message: `the commit's worker stopped ${job.attempts - 1} times before it finished; POST commit again to retry`,
    };
    logger.error('commit job abandoned', { captureId, attempts: job.attempts - 1 });
    await db.update(commitJobs).set({ state: 'failed', error, finishedAt: now, leaseUntil: null }).where(mine);
    return 'failed';
  }
  logger.info('commit job started', { captureId, bytes: job.bytes, attempt: job.attempts, runner });
  const renew = setInterval(
    () => {
      db.update(commitJobs)
        .set({ leaseUntil: new Date(services.now().getTime() + leaseMs) })
        .where(mine)
        .then(
          () => undefined,
          (e: unknown) => logger.warn('commit job lease not renewed', { captureId, ...describeError(e) }),
        );
    },
    Math.max(250, leaseMs / 3),
  );
  const started = performance.now();
  try {
    // The job acts for the capture's own host: commitCapture's host check passes, nothing wider.
    const principal: Principal = { tokenId: 'commit-job', role: 'collector', host: job.host };
    await commitCapture(services, principal, captureId);
    await db.delete(commitJobs).where(eq(commitJobs.captureId, captureId));
    logger.info('commit job done', { captureId, bytes: job.bytes, ms: Math.round(performance.now() - started) });
    return 'committed';
  } catch (e) {
    const api = toApiError(e);
    const error: StoredError = { status: api.status, code: api.code, message: api.message, ...(api.details !== undefined ? { details: api.details } : {}) };
    const fields = { captureId, status: api.status, code: api.code, ...(api.status >= 500 ? describeError(api === e ? (api.cause ?? api) : e) : {}) };
    if (api.status >= 500) logger.error('commit job failed', fields);
    else logger.info('commit job refused the capture', fields);
    await db.update(commitJobs).set({ state: 'failed', error, finishedAt: services.now(), leaseUntil: null }).where(mine);
    return 'failed';
  } finally {
    // (A renewal after the outcome is written matches no row: it asks for this runner's running job.)
    clearInterval(renew);
  }
}

/**
 * Jobs a runner may take now (queued, or running under a lease that ran out), collector by
 * collector in turn: each one's first waiting job, oldest first, then each one's second, and so
 * on, where a job still running counts as its turn taken. So one collector's many large
 * captures do not keep another's commit waiting behind them all: it is taken as soon as a slot
 * frees. A collector is the token whose begin opened the capture (`captures.opened_by`), or for a
 * capture begun before the catalog recorded it, its host in any letter case: by host name as sent,
 * a wildcard token (`esxi-*`) took a turn for each host it invented, and any token one for each
 * spelling of its host (esx01, ESX01, …), and another host's job waited behind one of each. The
 * rows read here are bounded by the open captures (MAX_OPEN_CAPTURES_PER_TOKEN, api/ingest/begin.ts).
 */
export async function takeableJobs(services: Services): Promise<string[]> {
  const now = services.now();
  const rows = await services.db
    .select({
      captureId: commitJobs.captureId,
      host: commitJobs.host,
      openedBy: captures.openedBy,
      state: commitJobs.state,
      leaseUntil: commitJobs.leaseUntil,
      queuedAt: commitJobs.queuedAt,
    })
    .from(commitJobs)
    .leftJoin(captures, eq(captures.id, commitJobs.captureId))
    .where(inArray(commitJobs.state, ['queued', 'running']))
    .orderBy(commitJobs.queuedAt, commitJobs.captureId);
  const turns = new Map<string, number>();
  const waiting: Array<{ captureId: string; turn: number; order: number }> = [];
  rows.forEach((r, order) => {
    const collector = r.openedBy ? `token ${r.openedBy}` : `host ${r.host.toLowerCase()}`;
    const turn = (turns.get(collector) ?? 0) + 1;
    turns.set(collector, turn);
    if (takeable(r, now)) waiting.push({ captureId: r.captureId, turn, order });
  });
  waiting.sort((a, b) => a.turn - b.turn || a.order - b.order);
  return waiting.map((w) => w.captureId);
}

/**
 * The scheduled run's share (api/lambda.ts runMaintenance): every job whose runner vanished
 * or never started, run here one after the other. Returns how each ended.
 */
export async function runStaleCommitJobs(services: Services, runner: string): Promise<Record<JobRun, number>> {
  const ran: Record<JobRun, number> = { committed: 0, failed: 0, 'not-taken': 0 };
  for (const captureId of await takeableJobs(services)) ran[await runCommitJob(services, captureId, runner)]++;
  return ran;
}

/**
 * The Node server's worker: at start it takes up the jobs a crash left (on the embedded
 * database no other process can hold one, so its `running` jobs are released at once),
 * then looks for takeable jobs every few seconds. Returns the function that stops it.
 */
export async function startCommitWorker(services: Services, options: { everyMs?: number } = {}): Promise<() => void> {
  if (services.dbFlavour === 'pglite') {
    const released = await services.db
      .update(commitJobs)
      .set({ state: 'queued' })
      .where(eq(commitJobs.state, 'running'))
      .returning({ captureId: commitJobs.captureId });
    if (released.length > 0) services.logger.info('commit jobs left by a stop taken up again', { jobs: released.length });
  }
  const sweep = async () => {
    for (const captureId of await takeableJobs(services)) runHere(services, captureId);
  };
  const tick = () => {
    sweep().catch((e: unknown) => services.logger.warn('commit worker could not look for jobs', describeError(e)));
  };
  sweepers.set(services, tick);
  tick();
  const timer = setInterval(tick, options.everyMs ?? Math.min(5000, services.config.COMMIT_JOB_LEASE_SECONDS * 1000));
  timer.unref();
  return () => {
    clearInterval(timer);
    sweepers.delete(services);
  };
}

/** The job rows of these captures (what tests look at). */
export async function commitJobsOf(db: Db, captureIds: string[]): Promise<JobRow[]> {
  return captureIds.length ? db.select().from(commitJobs).where(inArray(commitJobs.captureId, captureIds)) : [];
}
