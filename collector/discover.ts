import {
  ARTIFACT_KINDS,
  parseComstarListing,
  parseEsxInventory,
  parseIscsitgtSmf,
  redactSecrets,
  type ArtifactKind,
  type HostRef,
  type TargetLu,
} from '../formats/index.js';
import { oneOf } from './cli.js';
import { describeError, UsageError } from './errors.js';
import type { ConfigFile } from './config.js';
import type { HostAccess } from './host-access.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MAX_TEXT_BYTES, MAX_XML_BYTES } from '../formats/text.js';

/** `.vh.sf` copies: the FS descriptor sits at +2 MiB, so the first 8 MiB are plenty. */
export const VH_SF_BYTES = 8 * 1024 * 1024;

const TEXT_KINDS: ReadonlySet<ArtifactKind> = new Set(['iscsitgt-smf', 'stmf-smf', 'comstar-listing', 'esx-inventory', 'zfs-snapshots']);

/** True for the kinds stored as text (redacted before hashing). */
export function isTextKind(kind: ArtifactKind): boolean {
  return TEXT_KINDS.has(kind);
}

/**
 * A file read whole (--file, --undelete, import), up to its kind's cap: what the catalog parses of
 * a text kind (formats/text.ts), else the most it takes of any artifact (artifactBytes, 4 GiB:
 * api/ingest/limits.ts). One byte more is read to tell: a special file (/dev/zero) stops there
 * and fails its artifact, where it was read for ever (or into a buffer past Node's limit).
 */
export function wholeFile(path: string, kind: ArtifactKind): PlannedArtifact['read'] {
  const cap = kind.endsWith('-smf') ? MAX_XML_BYTES : isTextKind(kind) ? MAX_TEXT_BYTES : 2 ** 32;
  return { path, length: cap + 1, cap };
}

/** One artifact `collect` would capture, and why. */
export interface PlannedArtifact {
  kind: ArtifactKind;
  fileName: string;
  /** Host path, or the command lines that produced it. */
  sourcePath: string;
  /** The device the bytes belong to (`naa.…`, `/dev/sdb`, a zvol path). */
  device: string | null;
  why: string;
  /** Command output, already redacted. */
  text?: Buffer;
  /** Bytes to read from a device or file: a header dump (length planned from its start) or a fixed length. */
  read?: { path: string; length: number | 'header'; cap?: number };
  /** A backing store: skipped (not an error) when it holds no VMFS. */
  onlyIfVmfs?: boolean;
  /** Discovery already knows it cannot be captured. */
  error?: string;
  /** The path collect opens when it is not `read.path`: under `--root`, every host path is read below the root. */
  readAs?: string;
}

export interface Discovery {
  host: HostRef;
  access: HostAccess;
  artifacts: PlannedArtifact[];
  /** Things looked for and not found, for `discover`. */
  notes: string[];
  /** Why an ssh host could not be reached (nothing else was tried). */
  unreachable?: string;
}

export interface DiscoverOptions {
  hostName: string;
  devices?: string[];
  /** `--file KIND:PATH`, parsed (parseFileSpec). */
  files?: FileSpec[];
  undeletePaths?: string[];
}

/** Marks one command's output inside a combined text artifact (formats/text.ts SECTION_MARKER). */
export function sectionHeader(argv: string[]): string {
  return `# vmfs-collector: ${argv.join(' ')}\n`;
}

interface Section {
  argv: string[];
  out: Buffer;
  ok: boolean;
  error: string | null;
}

async function runSection(access: HostAccess, argv: string[]): Promise<Section> {
  const r = await access.run(argv);
  const ok = r.code === 0;
  return {
    argv,
    out: r.stdout,
    ok,
    error: ok ? null : r.missing ? `${argv[0]}: not found` : `${argv.join(' ')}: exit ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n')[0]}` : ''}`,
  };
}

/** Sections joined as the parsers expect; empty outputs still get their marker. */
function combine(sections: Section[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of sections) {
    parts.push(Buffer.from(sectionHeader(s.argv)));
    parts.push(s.out);
    if (s.out.length > 0 && s.out[s.out.length - 1] !== 0x0a) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

function redacted(kind: ArtifactKind, bytes: Buffer): Buffer {
  const out = redactSecrets(kind, bytes).bytes;
  return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Command output as a text artifact: one command's output is stored as printed;
 * several (comstar-listing, esx-inventory) each get their marker line.
 */
function textArtifact(kind: ArtifactKind, fileName: string, sections: Section[], why: string): PlannedArtifact {
  const good = sections.filter((s) => s.ok);
  const bytes = sections.length === 1 ? sections[0].out : combine(good);
  const a: PlannedArtifact = { kind, fileName, sourcePath: sections.map((s) => s.argv.join(' ')).join('; '), device: null, why, text: redacted(kind, bytes) };
  if (good.length === 0) a.error = sections.map((s) => s.error).join('; ');
  return a;
}

function safeName(s: string): string {
  return s.replace(/^\/+/, '').replace(/[^A-Za-z0-9._-]+/g, '_');
}

function headerDump(path: string, device: string | null, why: string): PlannedArtifact {
  return { kind: 'vmfs-header', fileName: `vmfs-header-${safeName(device ?? path)}.bin`, sourcePath: path, device, why, read: { path, length: 'header' } };
}

/** ESXi 5+ (esxcli), ESX 4 (esxcfg-scsidevs) and ESX 3.x (esxcfg-vmhbadevs): inventory, a header dump per extent device, `.vh.sf` per volume. */
async function discoverEsx(access: HostAccess, d: Discovery): Promise<boolean> {
  const extentList = await runSection(access, ['esxcli', 'storage', 'vmfs', 'extent', 'list']);
  let esx3 = false;
  let scsidevs: Section | null = null;
  const sections: Section[] = [];
  if (extentList.ok) {
    d.host.kind = 'esxi';
    sections.push(extentList, await runSection(access, ['esxcli', 'storage', 'core', 'device', 'list']));
  } else if ((scsidevs = await runSection(access, ['esxcfg-scsidevs', '-m'])).ok) {
    // ESX/ESXi 4: no `esxcli storage`, but esxcfg-scsidevs maps devices to VMFS UUIDs.
    d.host.kind = 'esx';
    sections.push(scsidevs);
  } else {
    const mapped = await runSection(access, ['esxcfg-vmhbadevs', '-m']);
    if (!mapped.ok && [mapped, scsidevs, extentList].every((x) => x.error?.endsWith('not found'))) {
      d.notes.push('no esxcli, esxcfg-scsidevs or esxcfg-vmhbadevs: not an ESX host');
      return false;
    }
    if (!mapped.ok) {
      d.notes.push(`ESX commands failed: ${extentList.error}; ${mapped.error}`);
      sections.push(extentList, mapped);
    } else {
      esx3 = true;
      d.host.kind = 'esx';
      sections.push(await runSection(access, ['esxcfg-vmhbadevs']), mapped);
    }
  }
  const conf = await access.readText('/etc/vmware/esx.conf');
  const uuidLine = conf?.split('\n').find((l) => /^\s*\/system\/uuid\s*=/.test(l));
  if (uuidLine) {
    sections.push({ argv: ['grep', '/system/uuid', '/etc/vmware/esx.conf'], out: Buffer.from(uuidLine.trim() + '\n'), ok: true, error: null });
    const m = /"([0-9a-fA-F-]{36})"/.exec(uuidLine);
    if (m) d.host.systemUuid = m[1].toLowerCase();
  }

  // Parse what we have so far to learn devices and volumes.
  let extents: Array<{ vmfsUuid: string; deviceId: string | null; devicePath: string | null }> = [];
  try {
    extents = parseEsxInventory(combine(sections.filter((s) => s.ok))).details.extents ?? [];
  } catch (e) {
    d.notes.push(`inventory did not parse: ${describeError(e)}`);
  }
  const disks = new Map<string, string | null>();
  for (const x of extents) {
    if (esx3) {
      const part = x.devicePath ?? (x.deviceId?.startsWith('/dev/') ? x.deviceId : null);
      // ESX 3 maps `/dev/sdb1`; the dump starts at the disk, so the partition table is included.
      if (part) disks.set(part.replace(/(sd[a-z]+)\d+$/, '$1'), null);
    } else if (x.deviceId) {
      disks.set(`/vmfs/devices/disks/${x.deviceId}`, x.deviceId);
    }
  }
  if (!esx3 && disks.size > 0) {
    const probe = await access.run(['partedUtil', 'getptbl', [...disks.keys()][0]]);
    if (!probe.missing) {
      for (const path of disks.keys()) sections.push(await runSection(access, ['partedUtil', 'getptbl', path]));
    }
  }
  d.artifacts.push(
    textArtifact('esx-inventory', 'esx-inventory.txt', sections, esx3 ? 'ESX 3.x: esxcfg-vmhbadevs' : scsidevs?.ok ? 'ESX 4: esxcfg-scsidevs' : 'ESXi: esxcli'),
  );
  for (const [path, deviceId] of disks) d.artifacts.push(headerDump(path, deviceId ?? path, 'holds a VMFS extent'));
  for (const uuid of new Set(extents.map((x) => x.vmfsUuid).filter(Boolean))) {
    const path = `/vmfs/volumes/${uuid}/.vh.sf`;
    d.artifacts.push({
      kind: 'vh-sf',
      fileName: `${uuid}.vh.sf`,
      sourcePath: path,
      device: null,
      why: `FS descriptor copy of volume ${uuid}`,
      read: { path, length: VH_SF_BYTES },
    });
  }
  return true;
}

/** OpenSolaris/illumos: iscsitgt and/or COMSTAR configuration, zfs snapshots, and the VMFS headers of every LU's backing store. */
async function discoverSolaris(access: HostAccess, d: Discovery): Promise<boolean> {
  const lus: TargetLu[] = [];
  let found = false;

  const legacy = await runSection(access, ['svccfg', 'export', 'iscsitgt']);
  if (legacy.ok && legacy.out.toString().includes('service_bundle')) {
    found = true;
    const a = textArtifact('iscsitgt-smf', 'iscsitgt.xml', [legacy], 'legacy iscsitgt target service');
    d.artifacts.push(a);
    try {
      if (a.text) lus.push(...(parseIscsitgtSmf(new Uint8Array(a.text)).details.targetLus ?? []));
    } catch (e) {
      d.notes.push(`iscsitgt export did not parse: ${describeError(e)}`);
    }
  } else {
    d.notes.push(legacy.error?.endsWith('not found') ? 'no svccfg: not an SMF host' : 'no iscsitgt service');
  }

  const listLu = await runSection(access, ['stmfadm', 'list-lu', '-v']);
  if (listLu.error?.endsWith('not found')) {
    d.notes.push('no stmfadm: COMSTAR not installed');
  } else {
    found = true;
    const smf = await runSection(access, ['svccfg', 'export', '-a', 'stmf']);
    d.artifacts.push(textArtifact('stmf-smf', 'stmf.xml', [smf], 'COMSTAR configuration'));
    const sections: Section[] = [listLu];
    const guids = [...new Set([...listLu.out.toString().matchAll(/LU Name:\s*([0-9A-Fa-f]{32})/g)].map((m) => m[1]))];
    for (const g of guids) sections.push(await runSection(access, ['stmfadm', 'list-view', '-l', g]));
    for (const argv of [
      ['stmfadm', 'list-hg', '-v'],
      ['stmfadm', 'list-tg', '-v'],
      ['itadm', 'list-target', '-v'],
      ['itadm', 'list-tpg', '-v'],
      ['sbdadm', 'list-lu'],
    ]) {
      const s = await runSection(access, argv);
      if (s.ok) sections.push(s);
      else d.notes.push(s.error ?? argv.join(' '));
    }
    const listing = textArtifact('comstar-listing', 'comstar-listing.txt', sections, 'COMSTAR LUs, views, targets, TPGs');
    d.artifacts.push(listing);
    try {
      if (listing.text) lus.push(...(parseComstarListing(new Uint8Array(listing.text)).details.targetLus ?? []));
    } catch (e) {
      d.notes.push(`COMSTAR listing did not parse: ${describeError(e)}`);
    }
  }
  if (!found) return false;
  d.host.kind = 'solaris';

  // One header dump per backing store, linked to its LU GUID.
  const stores = new Map<string, string | null>();
  for (const lu of lus) {
    if (!lu.backingStore) continue;
    if (!stores.has(lu.backingStore) || stores.get(lu.backingStore) === null) stores.set(lu.backingStore, lu.deviceId);
  }
  for (const [path, deviceId] of stores) {
    d.artifacts.push({ ...headerDump(path, deviceId ?? path, `backing store of LU ${deviceId ?? '(GUID not assigned yet)'}`), onlyIfVmfs: true });
  }
  const datasets = [...stores.keys()].map((p) => /^\/dev\/zvol\/r?dsk\/(.+)$/.exec(p)?.[1]).filter((x): x is string => !!x);
  if (datasets.length > 0) {
    const zfs = await runSection(access, ['zfs', 'list', '-H', '-p', '-t', 'snapshot', '-o', 'name,creation,used', '-r', ...new Set(datasets)]);
    if (zfs.error?.endsWith('not found')) d.notes.push('no zfs command');
    else {
      d.artifacts.push(textArtifact('zfs-snapshots', 'zfs-snapshots.txt', [zfs], 'snapshots of the backing zvols'));
    }
  }
  return true;
}

/** The kinds a user may name (`--file`, `import --kind`): every kind but `unknown`. */
export const NAMED_KINDS = ARTIFACT_KINDS.filter((k) => k !== 'unknown');

export interface FileSpec {
  kind: ArtifactKind;
  path: string;
}

/**
 * Parses `KIND:PATH` of `--file` (config "files"): a usage error unless KIND is a kind and PATH
 * is given, naming `source`, where the spec came from.
 */
export function parseFileSpec(spec: string, source = '--file'): FileSpec {
  const i = spec.indexOf(':');
  if (i < 0 || i === spec.length - 1) throw new UsageError(`${source} wants KIND:PATH: ${spec}`);
  return { kind: oneOf(spec.slice(0, i), `${source} ${spec}: KIND`, NAMED_KINDS), path: spec.slice(i + 1) };
}

/** The `--file` specs, else the config file's "files", parsed: a bad one is named where it was written. */
export function fileSpecs(flags: string[] | undefined, file: ConfigFile): FileSpec[] | undefined {
  return flags ? flags.map((spec) => parseFileSpec(spec)) : file.files?.map((spec) => parseFileSpec(spec, `config ${file.from}: "files" entry`));
}

/**
 * What `collect` would capture on one host, found by running the host's own commands.
 * Never throws for a missing command or device: those become notes or per-artifact errors.
 */
export async function discoverHost(access: HostAccess, opts: DiscoverOptions): Promise<Discovery> {
  const d: Discovery = { host: { name: opts.hostName, kind: 'linux', systemUuid: null }, access, artifacts: [], notes: [] };
  // One login first: a host ssh cannot reach or log in to failed each command in turn (each
  // after its connect timeout) and passed for a Linux host with nothing on it.
  const r = access.ref.type === 'ssh' ? await access.run(['true']) : null;
  if (r?.code) {
    d.unreachable = `could not be reached over ssh: ${r.stderr.trim().split('\n').pop() || `exit ${r.code}`}`;
    return d;
  }
  const esx = await discoverEsx(access, d);
  if (!esx) await discoverSolaris(access, d);
  // A relative path given here is the operator's current directory's, not the host root's
  // (LocalAccess joins every path under its root: `vh.sf` was read as /vh.sf).
  const abs = (p: string) => (r ? p : resolve(p));

  for (let dir of opts.undeletePaths ?? []) {
    dir = abs(dir);
    const names = await access.list(dir);
    const files = names === null ? [dir] : names.map((n) => `${dir.replace(/\/+$/, '')}/${n}`);
    for (const path of files) {
      d.artifacts.push({
        kind: 'vmfs-undelete',
        fileName: safeName(path.split('/').pop() ?? path),
        sourcePath: path,
        device: null,
        why: 'configured vmfs-undelete path',
        read: wholeFile(path, 'vmfs-undelete'),
      });
    }
  }
  for (let path of opts.devices ?? []) {
    path = abs(path);
    const base = path.split('/').pop() ?? path;
    d.artifacts.push(headerDump(path, /^(naa|eui|t10|mpx)\./.test(base) ? base : path, 'given with --device'));
  }
  for (const parsed of opts.files ?? []) {
    const path = abs(parsed.path);
    // A file given by hand is already the artifact (a saved dump, an export): stored whole.
    d.artifacts.push({
      kind: parsed.kind,
      fileName: safeName(path.split('/').pop() ?? path),
      sourcePath: path,
      device: null,
      why: 'given with --file',
      read: wholeFile(path, parsed.kind),
    });
  }
  // Under --root, collect reads each host path below the root (LocalAccess joins them): show
  // that path, and say when one given by hand is not there, rather than list what collect cannot read.
  if (access.ref.type === 'local') {
    const root = access.ref.root;
    for (const a of d.artifacts) {
      if (!a.read) continue;
      const at = join(root, a.read.path);
      if (at !== a.read.path) a.readAs = at;
      if (/^given/.test(a.why) && !existsSync(at))
        d.notes.push(`${a.why.replace('given with ', '')} ${a.read.path}: no such file under ${root} (collect would read ${at})`);
    }
  }
  return d;
}
