import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { ARTIFACT_KINDS, detect, isFormatError, parseArtifact, type ArtifactKind, type ParsedArtifact } from '../../formats/index.js';
import { PLAN_BYTES, planDump } from '../capture.js';
import { oneOf, parseCommand, printedHelp, VALUE } from '../cli.js';
import { describeError, EXIT, UsageError } from '../errors.js';
import { openToRead, readAt } from '../host-access.js';
import { printableJson, visibleLines } from '../../formats/printable.js';

export const HELP = `Usage: collector inspect FILE... [--kind KIND] [--json]

Parses saved artifacts locally (header dumps, .vh.sf copies, SMF exports, COMSTAR and
ESX listings, zfs snapshot lists) and prints what they say. Nothing is sent anywhere.
A FILE may be a device (/dev/sdb): read as far as its header needs.

  --kind KIND    parse every FILE as KIND instead of detecting it
                 (${ARTIFACT_KINDS.join(', ')})
  --json         one JSON array on stdout, one object per FILE in argument order
  -h, --help     this help

Exit status: 0 every file parsed · 2 some did not (the output is still printed) · 64 usage.
`;

/** Reads at most this much of a text artifact (the parsers refuse more anyway). */
const MAX_TEXT_READ = 64 * 1024 * 1024;

export interface InspectResult {
  file: string;
  kind: ArtifactKind;
  ok: boolean;
  error: { code: string; message: string } | null;
  partition: ParsedArtifact['partition'];
  device: ParsedArtifact['device'];
  vmfs: ParsedArtifact['vmfs'];
  details: ParsedArtifact['details'];
}

/** Up to `length` bytes at `offset` (fewer at the file's end). */
function readRange(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  return readAt(fh, Buffer.allocUnsafe(length), offset);
}

/**
 * The bytes a parser needs: a header dump up to its FS descriptor (not a whole
 * 1.5 GiB support dump; from the VMFS partition's start when that lies far in,
 * as collect plans it), a `.vh.sf` up to 3 MiB, text whole.
 */
async function readForKind(path: string, forced: ArtifactKind | undefined): Promise<{ kind: ArtifactKind; bytes: Buffer }> {
  const fh = await openToRead(path);
  try {
    // A block device says size 0 (it has no st_size): read as far as needed, up to its
    // end, as collect --device does. It read nothing at all and said "empty".
    const size = (await fh.stat()).size || Number.MAX_SAFE_INTEGER;
    const head = await readRange(fh, 0, Math.min(size, PLAN_BYTES));
    // Parsers get copies: what they do with their input must not change what is parsed next.
    const kind = forced ?? detect(new Uint8Array(head), path);
    // The whole file (or device) is in `head`, or only its start is wanted.
    if (head.length < PLAN_BYTES || size === PLAN_BYTES || kind === 'vh-sf' || kind === 'vmfs-undelete') return { kind, bytes: head };
    let need = Math.min(size, MAX_TEXT_READ);
    let at = 0;
    let first = head;
    if (kind === 'vmfs-header') {
      // As collect plans it: a VMFS partition past the head is read at its start.
      try {
        ({ offset: at, need, first } = await planDump(head, (o, n) => readRange(fh, o, n)));
      } catch {
        need = 0;
      }
    }
    return {
      kind,
      bytes:
        need > PLAN_BYTES && first.length === PLAN_BYTES
          ? Buffer.concat([first, await readRange(fh, at + PLAN_BYTES, Math.min(need, size - at) - PLAN_BYTES)])
          : first,
    };
  } finally {
    await fh.close();
  }
}

/** Inspects one file; never throws. */
export async function inspectFile(file: string, forced?: ArtifactKind): Promise<InspectResult> {
  const r: InspectResult = { file, kind: forced ?? 'unknown', ok: false, error: null, partition: null, device: null, vmfs: null, details: {} };
  let bytes: Buffer;
  try {
    const read = await readForKind(file, forced);
    r.kind = read.kind;
    bytes = read.bytes;
  } catch (e) {
    r.error = { code: 'unreadable', message: describeError(e) };
    return r;
  }
  try {
    // A file named after its device (naa.….hdr, vml.…:1) settles a header that reads two ways.
    const parsed = parseArtifact(r.kind, bytes, { deviceName: basename(file) });
    r.kind = parsed.kind;
    r.partition = parsed.partition;
    r.device = parsed.device;
    r.vmfs = parsed.vmfs;
    r.details = parsed.details;
    r.ok = true;
  } catch (e) {
    r.error = isFormatError(e) ? { code: e.code, message: e.message } : { code: 'malformed', message: describeError(e) };
  }
  return r;
}

function summarize(r: InspectResult): string {
  const lines = [`${r.file}: ${r.kind}${r.ok ? '' : ` — ERROR ${r.error?.code}: ${r.error?.message}`}`];
  if (r.partition) {
    const p = r.partition;
    lines.push(
      `  partition  ${p.scheme} #${p.index} type ${p.type || '?'} LBA ${p.startLba}–${p.endLba || '?'}${(p as { missing?: boolean }).missing ? '  (MISSING from the partition table)' : ''}`,
    );
  }
  if (r.device) {
    const d = r.device;
    lines.push(`  device     ${d.deviceId || '(no device id)'}  LUN ${d.lun}  ${d.vendor} ${d.model} ${d.revision}`.trimEnd());
    lines.push(`  vml        ${d.vml}`);
    lines.push(`             ${d.sizeBytes} bytes  extent ${d.extentUuid}`);
    const lvm = (r.details as { lvm?: { deviceIdLength?: number; deviceIdLayout?: string } }).lvm;
    if (lvm?.deviceIdLayout) lines.push(`             id length byte ${lvm.deviceIdLength} read as ${lvm.deviceIdLayout}`);
  }
  if (r.vmfs) {
    const v = r.vmfs;
    lines.push(`  vmfs       ${v.vmfsUuid ?? '(UUID not in this dump)'}  "${v.label ?? ''}"  ${v.version}${v.blockSize ? `  block ${v.blockSize}` : ''}`);
    if (v.createdAt)
      lines.push(`             created ${v.createdAt}${v.creatorMac ? ` by ${v.creatorMac}` : ''}${v.segmentUuid ? `  segment ${v.segmentUuid}` : ''}`);
  }
  const d = r.details;
  for (const lu of d.targetLus ?? []) {
    lines.push(
      `  lu         ${lu.deviceId ?? '(no GUID yet)'}  ${lu.stack}  ${lu.iqn ?? '(all targets)'}  LUN ${lu.lun ?? '?'}  ${lu.backingStore ?? ''}  ${lu.sizeBytes ?? ''}`.trimEnd(),
    );
  }
  if (d.systemUuid) lines.push(`  system     ${d.systemUuid}`);
  for (const x of d.extents ?? []) lines.push(`  extent     ${x.vmfsUuid}  ${x.volumeName ?? ''}  ${x.deviceId ?? x.devicePath ?? ''}:${x.partition ?? ''}`);
  for (const dev of d.devices ?? []) lines.push(`  device     ${dev.deviceId}  ${dev.vml ?? ''}  ${dev.vendor ?? ''} ${dev.model ?? ''}`.trimEnd());
  for (const s of d.snapshots ?? []) lines.push(`  snapshot   ${s.name}  ${s.createdAt}  ${s.usedBytes}`);
  if (d.redacted?.length) lines.push(`  redacted   ${d.redacted.join(', ')}`);
  const notes = Array.isArray(d.notes) ? d.notes.filter((n): n is string => typeof n === 'string') : [];
  notes.forEach((n, i) => lines.push(`  ${i === 0 ? 'note' : '    '}       ${n}`));
  return lines.join('\n');
}

/** `inspect FILE...`: local parse, human or `--json` output. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('inspect', { kind: VALUE }, args, true);
  if (printedHelp(values, HELP)) return 0;
  if (positionals.length === 0) throw new UsageError('inspect: no FILE given (see collector inspect --help)');
  const kind = values.kind === undefined ? undefined : oneOf(values.kind, '--kind', ARTIFACT_KINDS);
  const results: InspectResult[] = [];
  for (const f of positionals) results.push(await inspectFile(f, kind));
  process.stdout.write(values.json ? printableJson(results) + '\n' : visibleLines(results.map(summarize).join('\n\n')) + '\n');
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.partial;
}
