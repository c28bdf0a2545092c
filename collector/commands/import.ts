import { promises as fsp } from 'node:fs';
import { basename, resolve } from 'node:path';
import { detect, type ArtifactKind, type HostRef } from '../../formats/index.js';
import { failedArtifact, PLAN_BYTES, type CapturedArtifact } from '../capture.js';
import { COMMON_HELP, EXIT_HELP, oneOf, parseCommand, printedHelp, SEND_HELP, SEND_OPTIONS, VALUE } from '../cli.js';
import { loadConfigFile, resolveSendConfig } from '../config.js';
import { NAMED_KINDS, wholeFile, type PlannedArtifact } from '../discover.js';
import { describeError, UsageError } from '../errors.js';
import { LocalAccess } from '../host-access.js';
import { Progress } from '../progress.js';
import { SendSession } from '../send.js';

export const HELP = `Usage: collector import FILE... --host NAME [options]

Uploads backups made before the collector existed: vmfs-header-backup-sdX.hex,
vmfs-metadata-sdX-vh.sf.bu, part-backup-*.hex, vmfs-undelete archives, saved
"svccfg export" XML, saved listings. Each file's kind is detected from its content
(then its name); files with the same modification time form one capture collected
at that time.

  --host NAME          the host the files came from (required)
  --host-kind KIND     esx, esxi, solaris or linux (default: guessed from the kinds)
  --kind KIND          treat every FILE as KIND instead of detecting it
${SEND_HELP.replace(/\n {2}--host NAME[^\n]*/, '')}
${COMMON_HELP}
${EXIT_HELP}
`;

const OPTIONS = {
  ...SEND_OPTIONS,
  'host-kind': VALUE,
  kind: VALUE,
} as const;

const HOST_KINDS = ['esx', 'esxi', 'solaris', 'linux'] as const;

/** The host kind the artifacts suggest: storage-host exports → solaris, VMFS dumps → esx. */
function guessHostKind(kinds: ArtifactKind[]): HostRef['kind'] {
  if (kinds.some((k) => k === 'iscsitgt-smf' || k === 'stmf-smf' || k === 'comstar-listing' || k === 'zfs-snapshots')) return 'solaris';
  if (kinds.some((k) => k === 'vmfs-header' || k === 'vh-sf' || k === 'vmfs-undelete' || k === 'esx-inventory')) return 'esx';
  return 'linux';
}

interface ImportFile {
  plan: PlannedArtifact;
  mtime: Date;
}

async function planFile(path: string, forced: ArtifactKind | undefined): Promise<ImportFile | CapturedArtifact> {
  const abs = resolve(path);
  const base = basename(abs);
  try {
    const st = await fsp.stat(abs);
    if (!st.isFile()) throw new Error('not a regular file');
    let kind = forced;
    if (!kind) {
      const fh = await fsp.open(abs, 'r');
      try {
        const head = Buffer.alloc(Math.min(st.size, PLAN_BYTES));
        await fh.read(head, 0, head.length, 0);
        kind = detect(head, base);
      } finally {
        await fh.close();
      }
    }
    if (kind === 'unknown') throw new Error('not a recognised backup (content and name); use --kind');
    // Legacy dumps are stored whole, exactly as the old scripts wrote them.
    return { plan: { kind, fileName: base, sourcePath: abs, device: null, why: 'imported', read: wholeFile(abs, kind) }, mtime: st.mtime };
  } catch (e) {
    return failedArtifact({ kind: forced ?? 'unknown', fileName: base, sourcePath: abs, device: null }, describeError(e));
  }
}

/** `import FILE...`: legacy backups into captures dated by their mtimes. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('import', OPTIONS, args, true);
  if (printedHelp(values, HELP)) return 0;
  if (positionals.length === 0) throw new UsageError('import: no FILE given (see collector import --help)');
  if (!values.host) throw new UsageError('import: --host NAME is required (the host the files came from)');
  const forced = values.kind === undefined ? undefined : oneOf(values.kind, '--kind', NAMED_KINDS);
  const hostKind = values['host-kind'] === undefined ? undefined : oneOf(values['host-kind'], '--host-kind', HOST_KINDS);
  const file = loadConfigFile(values.config);
  const cfg = resolveSendConfig(values, file);
  const dryRun = values['dry-run'] === true;

  const planned: ImportFile[] = [];
  const failed: CapturedArtifact[] = [];
  for (const p of positionals) {
    const r = await planFile(p, forced);
    if ('plan' in r) planned.push(r);
    else failed.push(r);
  }
  // One capture per distinct mtime: each is a moment the old scripts collected at.
  const moments = new Map<number, ImportFile[]>();
  for (const f of planned.sort((a, b) => a.mtime.getTime() - b.mtime.getTime())) {
    const t = f.mtime.getTime();
    moments.set(t, [...(moments.get(t) ?? []), f]);
  }

  const progress = new Progress(values.quiet === true || values.json === true);
  progress.setTotal(planned.length);
  const session = await SendSession.open('import', cfg, dryRun, progress);
  const access = new LocalAccess('/');
  return session.run(async () => {
    let first = true;
    for (const group of moments.values()) {
      const captured: CapturedArtifact[] = first ? [...failed] : [];
      first = false;
      for (const f of group) captured.push(await session.capture(access, f.plan, null));
      const collectedAt = group[0].mtime.toISOString();
      const host: HostRef = { name: cfg.host, kind: hostKind ?? guessHostKind(group.map((g) => g.plan.kind)), systemUuid: null };
      await session.send(host, collectedAt, captured);
    }
    if (moments.size === 0) await session.send({ name: cfg.host, kind: hostKind ?? 'linux', systemUuid: null }, new Date().toISOString(), failed);
  }, values.json === true);
}
