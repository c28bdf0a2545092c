import {
  COMMON_HELP,
  EXIT_HELP,
  HOST_HELP,
  HOST_OPTIONS,
  noPositionals,
  parseBytes,
  parseCommand,
  parseHostSettings,
  printedHelp,
  SEND_HELP,
  SEND_OPTIONS,
  VALUE,
} from '../cli.js';
import { loadConfigFile, resolveSendConfig } from '../config.js';
import { discoverHost, fileSpecs } from '../discover.js';
import { UsageError } from '../errors.js';
import { hostAccesses } from '../host-access.js';
import { Progress } from '../progress.js';
import { SendSession } from '../send.js';

export const HELP = `Usage: collector collect [options]

Discovers what this host (or each --ssh host) can lose, reads it, cuts it into 1 MiB
chunks, uploads only the chunks the catalog lacks, and commits one capture per host.

  --root DIR           read devices and files under DIR (default /; for staged hosts)
  --ssh [USER@]HOST    collect from an agentless ESXi host through ssh (repeatable;
                       config "ssh"); host keys must already be in known_hosts
  --device PATH        also dump the VMFS header region of PATH (repeatable)
  --file KIND:PATH     also capture PATH as KIND, e.g. vh-sf:/backup/ds1.vh.sf (repeatable)
  --undelete PATH      vmfs-undelete archive file or directory (repeatable; config "undeletePaths")
  --header-bytes N     header dump length instead of the planned one (e.g. 1536M for support)
${HOST_HELP}
${SEND_HELP}
${COMMON_HELP}
${EXIT_HELP}
`;

const OPTIONS = {
  ...SEND_OPTIONS,
  ...HOST_OPTIONS,
  'header-bytes': VALUE,
} as const;

/** `collect`: discover → read → chunk → upload missing → commit, one capture per host. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('collect', OPTIONS, args, true);
  const hostSettings = parseHostSettings(values['command-timeout']);
  if (printedHelp(values, HELP)) return 0;
  noPositionals('collect', positionals);
  const file = loadConfigFile(values.config);
  const cfg = resolveSendConfig(values, file);
  const headerBytesText = values['header-bytes'] ?? (file.headerBytes !== undefined ? String(file.headerBytes) : undefined);
  const headerBytes = headerBytesText !== undefined ? parseBytes(headerBytesText, '--header-bytes') : null;
  if (headerBytes !== null && headerBytes < 512) throw new UsageError('--header-bytes: at least 512');
  const files = fileSpecs(values.file, file);
  const sshTargets = values.ssh ?? file.ssh ?? [];
  const accesses = hostAccesses('collect', sshTargets, values.root ?? file.root ?? '/', cfg.host, hostSettings);
  const dryRun = values['dry-run'] === true;
  const progress = new Progress(values.quiet === true || values.json === true);
  const session = await SendSession.open('collect', cfg, dryRun, progress, hostSettings);
  return session.run(async () => {
    for (const { access, hostName } of accesses) {
      const collectedAt = new Date().toISOString();
      const d = await discoverHost(access, {
        hostName,
        devices: values.device ?? file.devices,
        files,
        undeletePaths: values.undelete ?? file.undeletePaths,
      });
      progress.setTotal(d.artifacts.length);
      const captured = [];
      for (const p of d.artifacts) {
        captured.push(await session.capture(access, p, headerBytes));
        session.declareSoFar(d.host, collectedAt, captured);
      }
      await session.send(d.host, collectedAt, captured, d.unreachable);
    }
  }, values.json === true);
}
