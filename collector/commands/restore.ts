import { createHash, type Hash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname, join, posix, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { CatalogClient } from '../catalog-client.js';
import { CATALOG_OPTIONS, COMMON_HELP, noPositionals, parseCommand, printedHelp, VALUE } from '../cli.js';
import { loadConfigFile, requireCatalog, resolveCatalogConfig } from '../config.js';
import { CollectorError, describeError, EXIT, untrusted, UsageError } from '../errors.js';
import { backoffDelay, catalogError, openRequest, RejectedError, UnreachableError, type HttpRequest } from '../http.js';
import { makeDir } from '../spool.js';
import { TarReader, type TarEntry } from '../tar.js';
import { canonicalVmfsUuid, deviceOf } from '../../formats/ids.js';
import { namesTimeZone, noTimeZone, timeProblem } from '../../formats/zoned-time.js';
import { printableJson, shellWord, visible } from '../../formats/printable.js';
import { DownloadProgress } from '../progress.js';

export const HELP = `Usage: collector restore (--volume UUID | --device ID) [--at ISO] [-o DIR]

Downloads the restore bundle of a VMFS volume (or of a LUN) as of a point in time,
checks every file against the bundle's SHA256SUMS and unpacks it into DIR. A bundle
that fails any check is refused and nothing is left behind. This command never writes
to a device: read RESTORE.md in DIR/vmfs-restore-<uuid>-<time>/ (the path is printed
at the end); its restore.sh --apply does, after its own checks.

  --volume UUID        VMFS volume UUID (as under /vmfs/volumes)
  --device ID          device id (naa.…, eui.…, t10.…, vml.…, naa.…:1) instead of a volume
  --at ISO             the catalog as of this time, with Z or an offset (default: latest)
  -o, --output DIR     where to unpack (default ./restore-<id>); must be new or empty
${COMMON_HELP}

Exit status: 0 unpacked and verified · 1 failed (token refused, no such volume or device
at that time, a URL that does not lead to the catalog's API, the bundle failed a check,
or DIR could not be written) · 64 usage (a --volume
or --device that is no UUID or device id: nothing is sent) · 75 catalog unreachable,
busy or failing (5xx, 408, 429), or the download cut short: try again; a refused
connection says "nothing listens on HOST:PORT": check the port of --url / CATALOG_URL · 3 the catalog's
copy of a file the bundle needs is damaged (chunk_corrupt; the message names it and what
to do): asking again will not help · 78 config file unreadable or invalid, or TLS
cert untrusted.
`;

const OPTIONS = {
  ...CATALOG_OPTIONS,
  volume: VALUE,
  device: VALUE,
  at: VALUE,
  output: { type: 'string', short: 'o' },
} as const;

/** A bundle that fails a check: refused, with why (nothing of it is kept). */
function refuse(why: string): never {
  throw new CollectorError(`bundle refused: ${why}`);
}
/** Runs a write to the disk the bundle is unpacked onto; a failure there (full, read-only, out of quota) is the disk's, not the bundle's. */
function onDisk<T>(path: string, write: () => T): T {
  try {
    return write();
  } catch (e) {
    throw new CollectorError(`cannot write ${path}: ${describeError(e)} (nothing of the bundle is kept)`);
  }
}

/** A tar member path made safe: relative, no `..`, no empty segments. */
export function safeMemberPath(p: string): string {
  const norm = posix.normalize(p.replace(/\/+$/, ''));
  if (norm === '' || norm === '.' || norm.startsWith('/') || norm === '..' || norm.startsWith('../') || norm.includes('\0') || norm.split('/').includes('..')) {
    refuse(`unsafe member path ${JSON.stringify(p)}`);
  }
  return norm;
}

export interface UnpackedFile {
  path: string;
  size: number;
  sha256: string;
}

/**
 * Unpacks a gzip'd tar stream into `dir` (which must exist), hashing every file as it
 * is written. Refuses links, devices and unsafe paths. Returns the files written.
 */
export async function unpackBundle(stream: AsyncIterable<Buffer>, dir: string): Promise<UnpackedFile[]> {
  const files: UnpackedFile[] = [];
  /** The files and the directories written so far, by member path. */
  const seen = new Set<string>();
  const dirs = new Set<string>();
  let fd: number | null = null;
  let hash: Hash | null = null;
  let current: UnpackedFile | null = null;
  const reader = new TarReader({
    entry(e: TarEntry) {
      if (e.typeflag === 'x' || e.typeflag === 'g') return;
      if (e.type === 'other') refuse(`${JSON.stringify(e.path)} is not a plain file or directory (type ${e.typeflag})`);
      const rel = safeMemberPath(e.path);
      const target = join(dir, rel);
      // A member at or under a file the bundle already holds is the bundle's fault, not the disk's.
      for (let p = rel; p !== '.'; p = posix.dirname(p))
        if (seen.has(p)) refuse(`${rel} ${p === rel ? 'appears twice' : `is inside ${p}, a file of the bundle`}`);
      if (e.type === 'directory') {
        onDisk(target, () => mkdirSync(target, { recursive: true }));
        dirs.add(rel);
        return;
      }
      if (dirs.has(rel)) refuse(`${rel} appears twice`);
      seen.add(rel);
      for (let p = posix.dirname(rel); p !== '.'; p = posix.dirname(p)) dirs.add(p);
      fd = onDisk(target, () => {
        mkdirSync(dirname(target), { recursive: true });
        return openSync(target, 'wx', e.mode & 0o100 ? 0o755 : 0o644);
      });
      hash = createHash('sha256');
      current = { path: rel, size: 0, sha256: '' };
    },
    data(chunk: Buffer) {
      if (fd === null || !hash || !current) return;
      const out = fd;
      onDisk(join(dir, current.path), () => writeSync(out, chunk));
      hash.update(chunk);
      current.size += chunk.length;
    },
    entryEnd() {
      if (fd === null || !hash || !current) return;
      const out = fd;
      fd = null;
      onDisk(join(dir, current.path), () => closeSync(out));
      current.sha256 = hash.digest('hex');
      files.push(current);
      hash = null;
      current = null;
    },
  });
  try {
    for await (const chunk of stream) reader.write(chunk);
    reader.end();
  } catch (e) {
    if (e instanceof CollectorError) throw e;
    refuse(describeError(e));
  } finally {
    if (fd !== null) closeSync(fd);
  }
  return files;
}

/** Parses `SHA256SUMS` lines (`<hex>  <path>` or `<hex> *<path>`). */
export function parseSha256Sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m) refuse(`SHA256SUMS line not understood: ${JSON.stringify(line.slice(0, 80))}`);
    sums.set(posix.normalize(m[2].replace(/^\.\//, '')), m[1].toLowerCase());
  }
  return sums;
}

/**
 * Checks every unpacked file against SHA256SUMS: each listed file present with that
 * hash, and no file the list does not name. Throws on the first discrepancy; answers
 * SHA256SUMS itself, the one file it does not verify.
 */
export async function verifyBundle(dir: string, files: UnpackedFile[]): Promise<UnpackedFile> {
  const sumsFiles = files.filter((f) => posix.basename(f.path) === 'SHA256SUMS');
  if (sumsFiles.length !== 1) refuse(`expected one SHA256SUMS, found ${sumsFiles.length}`);
  const sumsFile = sumsFiles[0];
  const base = posix.dirname(sumsFile.path);
  const sums = parseSha256Sums(await fsp.readFile(join(dir, sumsFile.path), 'utf8'));
  if (sums.size === 0) refuse('SHA256SUMS is empty');
  const byPath = new Map(files.map((f) => [f.path, f]));
  for (const [rel, want] of sums) {
    const path = base === '.' ? rel : posix.join(base, rel);
    const f = byPath.get(path);
    if (!f) refuse(`${path} is listed in SHA256SUMS but missing`);
    if (f.sha256 !== want) refuse(`${path} does not match its SHA-256 in SHA256SUMS (tampered or corrupt)`);
  }
  for (const f of files) {
    if (f === sumsFile) continue;
    const rel = base === '.' ? f.path : posix.relative(base, f.path);
    if (!sums.has(rel)) refuse(`${f.path} is not listed in SHA256SUMS`);
  }
  return sumsFile;
}

/** A URL as an operator typed it, without any user or password in it. */
function shownUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname.replace(/\/$/, '')}`;
}

/** GET with up to 3 redirects (a Lambda catalog answers with a presigned object URL). */
async function download(client: CatalogClient, path: string, progress?: DownloadProgress): Promise<AsyncIterable<Buffer>> {
  let req: HttpRequest = client.getRequest(path);
  const origin = new URL(req.url).origin;
  for (let hop = 0; hop < 4; hop++) {
    let res;
    try {
      res = await openRequest(req);
    } catch (e) {
      const why = `catalog unreachable: ${describeError(e, req.url, req.catalog)}`;
      // A certificate this host does not trust is not retried, and exits 78 (errors.ts untrusted).
      throw untrusted(e) ? new CollectorError(why, EXIT.config) : new UnreachableError(why);
    }
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      const url = new URL(res.headers.location, req.url).toString();
      // The bearer token stays with the catalog; presigned URLs carry their own authority.
      req = { method: 'GET', url, headers: new URL(url).origin === origin ? req.headers : {}, timeoutMs: req.timeoutMs };
      continue;
    }
    if (status !== 200) {
      const parts: Buffer[] = [];
      for await (const c of res) parts.push(c as Buffer);
      const { text: msg, code } = catalogError({ status, headers: res.headers, body: Buffer.concat(parts) });
      // A damaged chunk (the catalog's 502 naming the artifact and what to do) is not mended by asking again.
      if (code === 'chunk_corrupt') throw new CollectorError(`restore bundle: HTTP ${status} ${msg}`, EXIT.damaged);
      // Busy or timed out (408, 429, 5xx): try again later, like every other request.
      if (status >= 500 || status === 408 || status === 429) throw new UnreachableError(`restore bundle: HTTP ${status} ${msg}`);
      // A 404 that is no volume's or device's — the catalog's answer to a path it has no route for
      // (api/app.ts), or another server's page — is the URL's fault (CATALOG_URL=…/v1), not the id's.
      if (status === 404 && (code !== 'not_found' || msg.startsWith('not_found: no route for ')))
        throw new RejectedError(
          `the catalog URL ${shownUrl(client.baseUrl)} does not lead to its API (HTTP 404: ${msg}): give the catalog's base URL, the console's address (without /v1)`,
          status,
        );
      // Any other refusal that is not the catalog's error document (an S3 endpoint's 403 in XML,
      // a proxy's page) is the URL's too: said as the catalog's, a 403 read as the token refused.
      if (!code)
        throw new RejectedError(
          `the catalog URL ${shownUrl(client.baseUrl)} answers as another server does, not the catalog (HTTP ${status}: ${msg}): give the catalog's base URL, the console's address`,
          status,
        );
      throw new RejectedError(`restore bundle: HTTP ${status} ${msg}`, status);
    }
    // pipe() passes on neither a cut connection nor a timeout: the unpacking waited for bytes that
    // never came, the event loop emptied and the run ended 0 with half a bundle staged.
    const gz = createGunzip();
    let got = 0;
    const cut = (why: string) => gz.destroy(new UnreachableError(`download interrupted after ${got} bytes: ${why}`));
    res
      .on('data', (c: Buffer) => {
        got += c.length;
        progress?.bytes(c.length);
      })
      .on('error', (e) => cut(describeError(e)));
    res.on('close', () => res.complete || cut('connection closed'));
    return res.pipe(gz);
  }
  throw new CollectorError('restore bundle: too many redirects');
}

/** download() again on network errors, 408, 429 and 5xx, with the upload backoff (`--retries`). */
async function downloadWithRetry(client: CatalogClient, path: string, progress?: DownloadProgress): Promise<AsyncIterable<Buffer>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await download(client, path, progress);
    } catch (e) {
      if (!(e instanceof UnreachableError) || attempt >= client.retry.retries) throw e;
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, client.retry)));
    }
  }
}

/** `restore`: fetch, verify, unpack; never touches a device. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('restore', OPTIONS, args, true);
  if (printedHelp(values, HELP)) return 0;
  noPositionals('restore', positionals);
  if (!values.volume === !values.device) throw new UsageError('restore: give exactly one of --volume UUID or --device ID');
  // The catalog's own rules (formats/zoned-time.ts): a day its month lacks, or a year past 9999, was its 400, exit 1, after the request.
  const atProblem = values.at === undefined ? null : timeProblem(values.at);
  if (atProblem) throw new UsageError(`restore: --at ${atProblem.startsWith('not ') ? `is ${atProblem}` : atProblem}`);
  if (values.at !== undefined && !namesTimeZone(values.at)) throw new UsageError(`restore: --at ${noTimeZone(values.at)}`);
  const id = (values.volume ?? values.device)!.trim();
  // What the catalog can never take (its 400: exit 1, after the request) is refused here, before anything is sent.
  // The catalog's own rules (formats/ids.ts deviceOf): a vml. id is decoded here too, and what is wrong with it said.
  let known: unknown = null;
  let why = '';
  try {
    known = values.volume ? canonicalVmfsUuid(id) : deviceOf(id);
  } catch (e) {
    if (/^vml\./i.test(id)) why = `: ${(e as Error).message}`;
  }
  if (!known)
    throw new UsageError(
      `restore: --${values.volume ? 'volume takes a VMFS UUID (32 hex digits, dashes optional)' : 'device takes naa./eui./t10./mpx./vml. or 16/32 hex digits (a :N partition suffix too)'}, not ${JSON.stringify(id.slice(0, 80))}${why}`,
    );
  const cfg = resolveCatalogConfig(values, loadConfigFile(values.config));
  const { catalogUrl, token } = requireCatalog(cfg);
  const client = new CatalogClient(catalogUrl, token, cfg.retry);

  const out = resolve(values.output ?? `restore-${id.replace(/[^A-Za-z0-9._-]+/g, '_')}`);
  const existing = await fsp.readdir(out).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    // A file where the directory should be said "internal error: ENOTDIR".
    if (e.code === 'ENOTDIR') throw new UsageError(`restore: ${out} is a file, not a directory (-o wants a new or empty directory)`);
    throw new CollectorError(`restore: ${out}: ${describeError(e)}`);
  });
  // A second run into the first's directory: say where to go instead, and that the first stays.
  if (existing && existing.length > 0)
    throw new UsageError(
      `restore: ${out} exists and is not empty (-o wants a new or empty directory: -o ${shellWord(`${out}-2`)}, say; what is in ${out} is left as it is)`,
    );
  const staging = `${out}.partial-${process.pid}`;
  await makeDir(staging).catch((e) => {
    throw new CollectorError(`restore: ${staging}: ${describeError(e)}`);
  });

  const path = values.volume ? `/v1/volumes/${encodeURIComponent(id)}/restore-bundle` : `/v1/luns/${encodeURIComponent(id)}/restore-bundle`;
  let files: UnpackedFile[];
  let sums: UnpackedFile;
  const progress = values.json ? undefined : new DownloadProgress();
  try {
    const stream = await downloadWithRetry(client, values.at ? `${path}?at=${encodeURIComponent(values.at)}` : path, progress);
    files = await unpackBundle(stream, staging);
    progress?.finish();
    sums = await verifyBundle(staging, files);
    if (existing) await fsp.rmdir(out);
    await fsp.rename(staging, out);
  } catch (e) {
    progress?.finish();
    await fsp.rm(staging, { recursive: true, force: true });
    if (e instanceof CollectorError) throw e;
    throw new CollectorError(`restore: ${describeError(e)}`);
  }
  // The bundle's own top directory (beside SHA256SUMS) holds RESTORE.md. The files verified are
  // those SHA256SUMS lists: every one but itself.
  const guide = join(out, posix.dirname(sums.path), 'RESTORE.md');
  files = files.filter((f) => f !== sums);
  if (values.json) {
    process.stdout.write(printableJson({ output: out, verified: true, restoreGuide: guide, sha256sums: sums.path, files }) + '\n');
  } else {
    process.stdout.write(`${out}: ${files.length} file(s), every SHA-256 verified against SHA256SUMS\n`);
    for (const f of files) process.stdout.write(`  ${f.sha256}  ${visible(f.path)}\n`);
    process.stdout.write(`Next: read ${guide}. Nothing was written to any device.\n`);
  }
  return 0;
}
