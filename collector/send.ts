import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { ArtifactSummary, BeginRequest, HostRef } from '../formats/index.js';
import { captureArtifact, type CapturedArtifact } from './capture.js';
import type { PlannedArtifact } from './discover.js';
import { CatalogClient } from './catalog-client.js';
import { ChunkStager } from './chunker.js';
import { requireCatalog, type SendConfig } from './config.js';
import { CaptureRejected, deliverCapture, deliverPart, newResult, NOT_THE_CAPTURE, type DeliveryOptions, type DeliveryResult } from './deliver.js';
import { DigestMemo } from './digest-memo.js';
import { DEFAULT_SPOOL_DIR, spoolListCommand } from './cli.js';
import { describeError, EXIT, jsonError } from './errors.js';
import { DEFAULT_HOST_SETTINGS, type HostAccess, type HostSettings } from './host-access.js';
import { RejectedError, UnreachableError, unreachableLine } from './http.js';
import type { Progress } from './progress.js';
import { readSpool, Spool, type SpooledCapture } from './spool.js';
import { uuidv7 } from './uuidv7.js';

import { VERSION } from './version.js';
import { printableJson, visible } from '../formats/printable.js';

export { VERSION };

export type CaptureState = 'committed' | 'spooled' | 'rejected' | 'dry-run' | 'failed' | 'empty';

export interface ArtifactReport {
  kind: string;
  fileName: string;
  sourcePath: string;
  device: string | null;
  status: CapturedArtifact['status'];
  error: string | null;
  note: string | null;
  size: number;
  sha256: string | null;
  chunks: number;
  /** What the catalog made of it on commit: its id, parse outcome and the ids it found. */
  artifactId: string | null;
  parseStatus: ArtifactSummary['parseStatus'] | null;
  parseError: ArtifactSummary['parseError'];
  found: ArtifactSummary['found'] | null;
}

export interface CaptureReport {
  captureId: string;
  host: string;
  /** Null when the host could not be reached: its kind is unknown. */
  hostKind: HostRef['kind'] | null;
  collectedAt: string;
  state: CaptureState;
  error: string | null;
  chunks: number;
  chunksUploaded: number;
  bytesUploaded: number;
  artifacts: ArtifactReport[];
}

export interface RunReport {
  command: string;
  version: string;
  dryRun: boolean;
  exitCode: number;
  artifacts: number;
  artifactsFailed: number;
  chunks: number;
  chunksUploaded: number;
  putRequests: number;
  bytesRead: number;
  bytesUploaded: number;
  seconds: number;
  /** Of `seconds`, the time spent reading, hashing and staging (the rest is talking to the catalog). */
  readSeconds: number;
  /**
   * Captures from earlier runs delivered now, those still waiting, those this run moved
   * to `rejected/`, and how many sit there in all.
   */
  spool: { delivered: string[]; pending: number; rejected: string[]; setAside: number };
  captures: CaptureReport[];
}

/**
 * One run of collect/import: the spool (not in a dry run), the catalog client, the
 * stager, and the running report. Captures are written to the spool before they
 * are sent, so a crash or an unreachable catalog loses nothing.
 */
export class SendSession {
  readonly report: RunReport;
  readonly stager: ChunkStager;
  readonly #started = Date.now();
  /** Set once the catalog proved unreachable: the rest of the run only spools. */
  #unreachable: string | null = null;
  /** Set once the catalog refused the token (401), its host scope (403) or the URL (404/405): the rest only spools. */
  #refused: string | null = null;
  /**
   * Hosts the catalog would not let the token bring in (403 with details.limit
   * COLLECTOR_TOKEN_HOSTS_MAX), each with why: their captures only spool, the other hosts' go.
   */
  readonly #hostsRefused = new Set<string>();
  #dryRunCounted = { chunks: 0, bytes: 0 };
  readonly #spool: Spool | null;
  readonly #client: CatalogClient | null;
  readonly #progress: Progress;
  readonly #host: HostSettings;

  private constructor(
    command: string,
    readonly cfg: SendConfig,
    readonly dryRun: boolean,
    spool: Spool | null,
    client: CatalogClient | null,
    known: Set<string>,
    progress: Progress,
    host: HostSettings,
    /** Digests of earlier reads (none in a dry run): unchanged sources are hashed once. */
    readonly digests: DigestMemo | null = null,
  ) {
    this.#spool = spool;
    this.#client = client;
    this.#progress = progress;
    this.#host = host;
    this.stager = new ChunkStager(spool, known);
    this.report = {
      command,
      version: VERSION,
      dryRun,
      exitCode: 0,
      artifacts: 0,
      artifactsFailed: 0,
      chunks: 0,
      chunksUploaded: 0,
      putRequests: 0,
      bytesRead: 0,
      bytesUploaded: 0,
      seconds: 0,
      readSeconds: 0,
      spool: { delivered: [], pending: 0, rejected: [], setAside: 0 },
      captures: [],
    };
  }

  static async open(command: string, cfg: SendConfig, dryRun: boolean, progress: Progress, host: HostSettings = DEFAULT_HOST_SETTINGS): Promise<SendSession> {
    if (dryRun) {
      // Read-only look at what the catalog is known to hold, so the report shows what would be sent.
      const text = await fsp.readFile(join(cfg.spoolDir, 'known-chunks'), 'utf8').catch(() => '');
      return new SendSession(command, cfg, true, null, null, new Set(text.split('\n').filter(Boolean)), progress, host);
    }
    const { catalogUrl, token } = requireCatalog(cfg);
    const spool = await Spool.open(cfg.spoolDir, cfg.spoolMaxBytes);
    return new SendSession(
      command,
      cfg,
      false,
      spool,
      new CatalogClient(catalogUrl, token, cfg.retry),
      await spool.knownChunks(),
      progress,
      host,
      await DigestMemo.load(spool.dir),
    );
  }

  /** Reads one planned artifact (see captureArtifact), counting its time as reading and telling progress when done. */
  async capture(access: HostAccess, plan: PlannedArtifact, headerBytes: number | null): Promise<CapturedArtifact> {
    const start = Date.now();
    try {
      return await captureArtifact(access, plan, this.stager, { headerBytes, onBytes: this.onBytes, digests: this.digests });
    } finally {
      this.#readMs += Date.now() - start;
      this.#progress.artifactDone();
    }
  }

  /**
   * The run: captures spooled earlier go first, then `work`; then the report is printed
   * (JSON or the summary) and its exit code answered.
   */
  async run(work: () => Promise<void>, json: boolean): Promise<number> {
    let r: RunReport;
    try {
      await this.flushSpool();
      await work();
      r = await this.finish();
    } finally {
      this.close();
    }
    this.#progress.finish();
    // A failure's report carries the error every other failure prints with --json, so a script
    // reads `.error` whatever went wrong; "done in part" (2) is a result, as the catalog CLI's.
    process.stdout.write(
      json ? printableJson(this.#failure ? { ...jsonError(r.exitCode, this.#failure), ...r } : r) + '\n' : formatRunReport(r, this.#spool?.dir),
    );
    return r.exitCode;
  }

  #readMs = 0;

  /** Counts bytes read (for the report and progress). */
  onBytes = (n: number): void => {
    this.report.bytesRead += n;
    this.#progress.read(n);
  };

  #account(d: DeliveryResult): void {
    this.report.chunksUploaded += d.chunksUploaded;
    this.report.bytesUploaded += d.bytesUploaded;
    this.report.putRequests += d.putRequests;
  }

  #options(): DeliveryOptions {
    return { parallel: this.cfg.parallel, onUploaded: (n) => this.#progress.upload(n), host: this.#host };
  }

  #deliver(c: SpooledCapture): Promise<DeliveryResult> {
    return deliverCapture(c, this.#client!, this.#spool!, this.#options());
  }

  /**
   * The capture being read, declared in part so far (deliverPart): its id, the staged chunks
   * declared, the steps one after another, what they sent. `off`: the catalog said no (one
   * without the route) or a step failed: the rest goes as the whole capture does.
   */
  #part = { id: '', read: 0, staged: 0, steps: Promise.resolve(), sent: newResult(''), off: false };

  /**
   * After each artifact read: once the staged chunks of those read (chunks the catalog is not
   * known to hold) are at least 32 and twice those declared so far, the artifacts read are
   * declared in part and their chunks sent while the rest is read, so the catalog verifies,
   * hashes and parses them meanwhile (day 1 of 50 LUN heads: after 2, 4, 8, 16 and 32 of them). Doubling keeps the
   * declarations sent at about twice the whole one; a day with a few changed chunks (day 2)
   * declares nothing in part. `artifacts`: those read so far, the one just read last (counted
   * once, in `read`).
   */
  declareSoFar(host: HostRef, collectedAt: string, artifacts: CapturedArtifact[]): void {
    const p = this.#part;
    p.read += artifacts.at(-1)?.ref?.chunks.filter((c) => c.encoding).length ?? 0;
    if (this.dryRun || p.off || this.#unreachable || this.#refused || p.read < Math.max(32, 2 * p.staged)) return;
    p.staged = p.read;
    const refs = artifacts.flatMap((a) => (a.status === 'ok' && a.ref ? [a.ref] : []));
    p.id ||= uuidv7();
    this.#partClient ??= this.#client!.once();
    const client = this.#partClient;
    const begin: BeginRequest = { captureId: p.id, host, collectedAt, collector: { version: VERSION }, artifacts: refs };
    p.steps = p.steps
      .then(() => (p.off ? undefined : deliverPart({ begin }, client, this.#spool!, this.#options(), p.sent)))
      .catch(() => {
        p.off = true;
      });
  }

  #partClient?: CatalogClient;

  /**
   * Sends captures earlier runs left in the spool, oldest first. Stops when the catalog
   * is out of reach or refuses the token; a capture it fails on or rejects does not
   * hold up the ones behind it.
   */
  async flushSpool(): Promise<void> {
    if (!this.#spool) return;
    for (const c of await this.#spool.pendingCaptures()) {
      if (this.#unreachable) break;
      // A host past the token's bound stays refused for this run: its other captures wait unsent.
      if (this.#hostsRefused.has(c.begin.host.name)) continue;
      try {
        this.#account(await this.#deliver(c));
        this.report.spool.delivered.push(c.begin.captureId);
      } catch (e) {
        if (this.#noteRejected(e) || this.#noteUnreachable(e)) continue;
        if (this.#noteRefusal(e, c.begin.host.name)) {
          if (this.#refused) break;
          continue;
        }
        process.stderr.write(`warning: spooled capture ${c.begin.captureId}: ${visible(describeError(e))}\n`);
      }
    }
  }

  /** Says so (one line) when a capture was moved to rejected/. */
  #noteRejected(e: unknown): boolean {
    if (!(e instanceof CaptureRejected)) return false;
    process.stderr.write(`rejected: ${visible(e.message)}\n`);
    this.report.spool.rejected.push(e.captureId);
    return true;
  }

  /**
   * A try-again-later failure. Network errors, timeouts and 502/503/504 mean the catalog is
   * out of reach: the rest of the run only spools. Any other 5xx is the catalog failing on
   * this capture: the next one still goes.
   */
  #noteUnreachable(e: unknown): boolean {
    if (!(e instanceof UnreachableError)) return false;
    this.#waiting = true;
    // 202: the catalog is up, its worker still on this commit; the other captures still go.
    if (e.status === 202) this.#late = true;
    // What is wrong, not the request it went wrong on: that names one capture, and this
    // becomes the error of every capture the run spools after it.
    else if (unreachableLine(e)) {
      this.#unreachable = unreachableLine(e)!;
      // 78 for a certificate this host does not trust: its setting to mend, not an outage.
      this.#code = e.exitCode;
    } else process.stderr.write(`warning: ${visible(e.message)}\n`);
    return true;
  }

  #waiting = false;
  #late = false;
  /** The spooled run's exit status: 75, or the unreachable error's (78: a setting). */
  #code = 75;
  /** Why the run failed (exit 1, 65 or 75), for --json's error. */
  #failure = '';

  /** Builds, spools and sends one capture of a host's artifacts (none when `unreachable` says why the host could not be reached). */
  async send(host: HostRef, collectedAt: string, artifacts: CapturedArtifact[], unreachable?: string): Promise<CaptureReport> {
    const ok = artifacts.filter((a) => a.status === 'ok' && a.ref);
    const part = this.#part;
    // The capture declared in part while it was read goes on under its id; the next starts afresh.
    this.#part = { id: '', read: 0, staged: 0, steps: Promise.resolve(), sent: newResult(''), off: part.off };
    const begin: BeginRequest = {
      captureId: part.id || uuidv7(),
      host,
      collectedAt,
      // An import's collectedAt is its files' mtime, old on purpose: retention buckets it by that.
      collector: this.report.command === 'import' ? { version: VERSION, mode: 'import' } : { version: VERSION },
      artifacts: ok.map((a) => a.ref!),
    };
    const rep: CaptureReport = {
      captureId: begin.captureId,
      host: host.name,
      hostKind: unreachable ? null : host.kind,
      collectedAt,
      state: 'dry-run',
      error: null,
      chunks: ok.reduce((n, a) => n + a.chunks, 0),
      chunksUploaded: 0,
      bytesUploaded: 0,
      artifacts: artifacts.map((a) => ({
        kind: a.kind,
        fileName: a.fileName,
        sourcePath: a.sourcePath,
        device: a.device,
        status: a.status,
        error: a.error,
        note: a.note,
        size: a.size,
        sha256: a.sha256,
        chunks: a.chunks,
        artifactId: null,
        parseStatus: null,
        parseError: null,
        found: null,
      })),
    };
    this.report.captures.push(rep);
    this.report.artifacts += ok.length;
    this.report.artifactsFailed += artifacts.filter((a) => a.status === 'error').length;
    this.report.chunks += rep.chunks;
    if (ok.length === 0) {
      rep.state = 'empty';
      const bad = artifacts.find((a) => a.error);
      rep.error = unreachable ?? (bad ? `nothing could be read (${bad.sourcePath}: ${bad.error})` : 'nothing found to capture');
      return rep;
    }
    if (this.dryRun) {
      // What would go out: every chunk the catalog is not known to hold, compressed.
      rep.chunksUploaded = this.stager.stats.compressed - this.#dryRunCounted.chunks;
      rep.bytesUploaded = this.stager.stats.storedBytes - this.#dryRunCounted.bytes;
      this.#dryRunCounted = { chunks: this.stager.stats.compressed, bytes: this.stager.stats.storedBytes };
      return rep;
    }
    const spooled: SpooledCapture = { format: 'vmfs-collector-spool/1', begin, sources: ok.map((a) => a.source), spooledAt: new Date().toISOString() };
    await this.#spool!.saveCapture(spooled);
    const hostRefused = this.#bound(host.name);
    if (this.#unreachable || this.#refused || hostRefused) {
      rep.state = 'spooled';
      rep.error = this.#refused ?? this.#unreachable ?? hostRefused!;
      return rep;
    }
    try {
      await part.steps;
      this.#account(part.sent);
      const d = await this.#deliver(spooled);
      this.#account(d);
      d.chunksUploaded += part.sent.chunksUploaded;
      d.bytesUploaded += part.sent.bytesUploaded;
      if (d.commit?.clockSkew) process.stderr.write(`warning: ${visible(d.commit.clockSkew.message)}\n`);
      rep.state = 'committed';
      rep.chunksUploaded = d.chunksUploaded;
      rep.bytesUploaded = d.bytesUploaded;
      const summaries = d.commit?.artifacts ?? [];
      rep.artifacts
        .filter((a) => a.status === 'ok')
        .forEach((a, i) => {
          const s = summaries[i];
          if (s) {
            a.artifactId = s.id;
            a.parseStatus = s.parseStatus;
            a.parseError = s.parseError;
            a.found = s.found;
          }
        });
    } catch (e) {
      if (this.#noteRejected(e)) rep.state = 'rejected';
      else rep.state = this.#noteUnreachable(e) || this.#noteRefusal(e, host.name) ? 'spooled' : 'failed';
      rep.error = this.#refused ?? this.#unreachable ?? this.#bound(host.name) ?? describeError(e);
    }
    return rep;
  }

  /** Why `host`'s captures wait, if the catalog would not let the token bring it in. */
  #bound(host: string): string | undefined {
    if (this.#hostsRefused.has(host)) return boundRefused(host);
  }

  /**
   * Remembers a 401/403/404/405: every other capture would get the same answer — but for a
   * host the token may not bring into the catalog (its COLLECTOR_TOKEN_HOSTS_MAX reached):
   * only that host's captures would, so the run's other hosts still go.
   */
  #noteRefusal(e: unknown, host: string): boolean {
    // An object store's 403 on an upload URL is an expired signature, not the token.
    if (!(e instanceof RejectedError && NOT_THE_CAPTURE.includes(e.status)) || e.store) return false;
    // Only this 403 names the setting (details.limit).
    if (e.limit === 'COLLECTOR_TOKEN_HOSTS_MAX') {
      this.#hostsRefused.add(host);
      return true;
    }
    // An answer that is not the catalog's (an S3 endpoint given as the catalog URL) blames the URL, not the token.
    const what = e.foreign
      ? 'the catalog URL answers as another server does, not the catalog'
      : e.status === 401
        ? 'the catalog refused the token'
        : e.status === 403
          ? `the token is not allowed to send for host ${host}`
          : 'the catalog URL does not lead to its API';
    this.#refused ??= `${what} (HTTP ${e.status}); kept in the spool until the ${e.foreign || e.status > 403 ? 'URL' : 'token'} is fixed`;
    return true;
  }

  /**
   * Final numbers and exit status, the first that applies: 1 if the token was refused, 75
   * if a capture waits in the spool for the catalog, 1 if a capture failed or nothing at all was
   * read, 65 if the run moved a capture to rejected/, 2 if an artifact failed; a capture whose commit was still
   * in progress at the catalog (202) counts as waiting only when nothing else applies.
   */
  async finish(): Promise<RunReport> {
    const r = this.report;
    r.seconds = Math.round((Date.now() - this.#started) / 10) / 100;
    r.readSeconds = Math.round(this.#readMs / 10) / 100;
    if (this.#spool) {
      await this.digests?.save();
      const entries = await readSpool(this.#spool.dir);
      r.spool.pending = entries.filter((e) => e.state === 'pending').length;
      r.spool.setAside = entries.length - r.spool.pending;
      this.#spool.close();
    }
    if (r.dryRun) {
      r.chunksUploaded = this.stager.stats.compressed;
      r.bytesUploaded = this.stager.stats.storedBytes;
    }
    const states = r.captures.map((c) => c.state);
    // What the captures in `state` went wrong with, host by host.
    const errors = (state: CaptureState) =>
      r.captures
        .filter((c) => c.state === state)
        .map((c) => `${c.host}: ${c.error}`)
        .join('; ');
    const fail = (status: number, why: string, say?: boolean) => {
      if (say) process.stderr.write(`error: ${visible(why)}\n`);
      r.exitCode = status;
      this.#failure = why;
    };
    const waiting = `${r.spool.pending} capture(s) waiting in the spool for the next run`;
    if (this.#refused) fail(EXIT.failed, this.#refused, true);
    else if (this.#hostsRefused.size > 0) {
      fail(EXIT.failed, boundRefused([...this.#hostsRefused].join(', ')), true);
    } else if (!this.#late && (states.includes('spooled') || ((this.#unreachable || this.#waiting) && r.spool.pending > 0)))
      fail(this.#code, `${waiting}: ${this.#unreachable ?? (errors('spooled') || 'the catalog failed on them')}`);
    else if (states.includes('failed')) fail(EXIT.failed, errors('failed'));
    // Not one artifact read on any host: a failure, not a partial success.
    else if (states.length && !states.some((s) => s !== 'empty')) fail(EXIT.failed, errors('empty'), true);
    else if (r.spool.rejected.length > 0)
      fail(EXIT.rejected, `set aside in rejected/ (${spoolListCommand(this.#spool?.dir ?? DEFAULT_SPOOL_DIR)}): ${r.spool.rejected.join(', ')}`);
    else if (r.artifactsFailed > 0 || states.includes('empty')) r.exitCode = EXIT.partial;
    // A commit still in progress at the catalog: try later, unless something else failed.
    else if (this.#late) fail(EXIT.spooled, `${waiting}: the catalog is still verifying a commit`);
    return r;
  }

  close(): void {
    this.#spool?.close();
  }
}

/** Why a host's captures wait: the catalog's 403 for a new host past the token's COLLECTOR_TOKEN_HOSTS_MAX. */
const boundRefused = (hosts: string) =>
  `this token may not bring ${hosts} into the catalog: COLLECTOR_TOKEN_HOSTS_MAX reached (HTTP 403); kept in the spool until each has a token of its own or the setting is raised`;

/** Human summary of a run, a few lines. */
export function formatRunReport(r: RunReport, spoolDir = DEFAULT_SPOOL_DIR): string {
  const lines: string[] = [];
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  if (r.spool.delivered.length) lines.push(`delivered ${r.spool.delivered.length} spooled capture(s): ${r.spool.delivered.join(', ')}`);
  for (const c of r.captures) {
    lines.push(`${c.host}${c.hostKind ? ` (${c.hostKind})` : ''} capture ${c.captureId}: ${c.state}${c.error ? ` — ${c.error}` : ''}`);
    for (const a of c.artifacts) {
      const what =
        a.status === 'ok'
          ? `${mib(a.size)}, ${a.chunks} chunk(s)${a.parseStatus ? `, parse ${a.parseStatus}` : ''}`
          : a.status === 'skipped'
            ? `skipped: ${a.note}`
            : `ERROR ${a.error}`;
      lines.push(`  ${a.kind.padEnd(15)} ${a.sourcePath}  ${what}`);
    }
  }
  lines.push(
    `${r.dryRun ? 'dry run: ' : ''}${r.artifacts} artifact(s), ${r.chunks} chunk(s), read ${mib(r.bytesRead)}, ` +
      `${r.dryRun ? 'would upload' : 'uploaded'} ${r.chunksUploaded} chunk(s) ${mib(r.bytesUploaded)} in ${r.seconds} s` +
      (r.spool.pending ? `; ${r.spool.pending} capture(s) waiting in the spool` : '') +
      (r.spool.setAside ? `; ${r.spool.setAside} rejected (${spoolListCommand(spoolDir)})` : ''),
  );
  // Each line as one line: what a host said (a note, an error) is shown escaped, a line break in it too.
  return lines.map(visible).join('\n') + '\n';
}
