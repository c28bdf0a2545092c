import { hostname } from 'node:os';
import { DEFAULT_CONFIG_FILE, HOST_HELP, HOST_OPTIONS, noPositionals, parseCommand, parseHostSettings, printedHelp, VALUE } from '../cli.js';
import { loadConfigFile } from '../config.js';
import { discoverHost, fileSpecs, type Discovery } from '../discover.js';
import { hostAccesses } from '../host-access.js';
import { EXIT, jsonError } from '../errors.js';
import { printableJson, visible, visibleLines } from '../../formats/printable.js';

export const HELP = `Usage: collector discover [--root DIR] [--ssh [USER@]HOST]... [--json]

Runs the host's own commands (esxcli, svccfg, stmfadm, itadm, zfs, …) and lists what
collect would capture (a backing store only if it holds VMFS), and why. Reads no
device data and sends nothing.

  --root DIR           devices and files under DIR (default /)
  --ssh [USER@]HOST    an agentless ESXi host, through ssh (repeatable)
  --device PATH        as collect --device
  --file KIND:PATH     as collect --file
  --undelete PATH      as collect --undelete
  --host NAME          host name to show (default: hostname)
${HOST_HELP}
  --config FILE        JSON config (default ${DEFAULT_CONFIG_FILE})
  --json               machine-readable output
  -h, --help           this help

Exit status: 0 done · 1 no host reached · 2 some host not reached, or an ERROR line ·
64 usage · 78 config file unreadable or invalid.
`;

const OPTIONS = {
  config: VALUE,
  host: VALUE,
  ...HOST_OPTIONS,
} as const;

function toJson(d: Discovery) {
  return {
    host: d.unreachable ? { ...d.host, kind: null } : d.host,
    access: d.access.label,
    unreachable: d.unreachable ?? null,
    artifacts: d.artifacts.map((a) => ({
      kind: a.kind,
      fileName: a.fileName,
      sourcePath: a.sourcePath,
      device: a.device,
      why: a.why,
      bytes: a.text ? a.text.length : a.read ? (a.read.length === 'header' ? 'header' : a.read.cap ? 'whole' : a.read.length) : null,
      onlyIfVmfs: a.onlyIfVmfs === true,
      error: a.error ?? null,
      readAs: a.readAs ?? null,
    })),
    notes: d.notes,
  };
}

/** `discover`: what collect would capture, without reading or sending it. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('discover', OPTIONS, args, true);
  const hostSettings = parseHostSettings(values['command-timeout']);
  if (printedHelp(values, HELP)) return 0;
  noPositionals('discover', positionals);
  const file = loadConfigFile(values.config);
  const files = fileSpecs(values.file, file);
  const ssh = values.ssh ?? file.ssh ?? [];
  const localName = values.host ?? (process.env.COLLECTOR_HOST || file.host) ?? hostname();
  const accesses = hostAccesses('discover', ssh, values.root ?? file.root ?? '/', localName, hostSettings);
  const found: Discovery[] = [];
  for (const { access, hostName } of accesses) {
    found.push(
      await discoverHost(access, {
        hostName,
        devices: values.device ?? file.devices,
        files,
        undeletePaths: values.undelete ?? file.undeletePaths,
      }),
    );
  }
  const none = found.every((d) => d.unreachable);
  if (values.json) {
    // No host reached is a failure: its JSON is the error every failure prints, naming each host's reason.
    process.stdout.write(
      printableJson(none ? jsonError(EXIT.failed, found.map((d) => `${d.host.name}: ${d.unreachable}`).join('; ')) : found.map(toJson)) + '\n',
    );
  } else {
    for (const d of found) {
      if (d.unreachable) {
        process.stdout.write(visibleLines(`${d.host.name} via ${d.access.label}: ${d.unreachable}\n`));
        continue;
      }
      process.stdout.write(visibleLines(`${d.host.name} (${d.host.kind}${d.host.systemUuid ? `, system ${d.host.systemUuid}` : ''}) via ${d.access.label}\n`));
      for (const a of d.artifacts) {
        const what = a.text
          ? `${a.text.length} bytes of command output`
          : a.read?.length === 'header'
            ? 'header dump, length planned from its partition table and LVM header'
            : 'file';
        process.stdout.write(
          `  ${a.kind.padEnd(15)} ${visible(a.sourcePath)}${a.readAs ? ` (read as ${visible(a.readAs)})` : ''}\n      ${visible(a.why)}; ${what}${a.onlyIfVmfs ? ' (only if it holds VMFS)' : ''}${a.error ? `\n      ERROR ${visible(a.error)}` : ''}\n`,
        );
      }
      for (const n of d.notes) process.stdout.write(`  note: ${visible(n)}\n`);
    }
  }
  // No host reached: a failure; some: partial.
  return none ? EXIT.failed : found.some((d) => d.unreachable || d.artifacts.some((a) => a.error)) ? 2 : 0;
}
