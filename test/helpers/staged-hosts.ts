/**
 * Whole hosts staged under a temp folder for the collector: device image files
 * under `root/` (read with `--root`), and fake host commands in `bin/` (prepend
 * to PATH) that print composed outputs from test/fixtures/text-fixtures.ts.
 * Shapes: an ESXi 5+ host, an ESX 3.x host, an OpenSolaris storage host
 * (iscsitgt and/or COMSTAR, zvol backing stores holding VMFS), and a fake `ssh`
 * that runs the remote command locally under a staged root.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { buildVhSf, writeVmfsDevice, type VmfsImageOptions } from '../fixtures/vmfs-images.js';
import {
  esxcfgScsidevsM,
  esxcfgVmhbadevs,
  esxcliDeviceList,
  esxcliExtentList,
  esxConf,
  iscsitgtExport,
  itadmListTarget,
  itadmListTpg,
  partedUtilGetptbl,
  sbdadmListLu,
  stmfadmListGroups,
  stmfadmListLu,
  stmfadmListView,
  stmfExport,
  zfsListSnapshots,
} from '../fixtures/text-fixtures.js';

export const MiB = 1024 * 1024;

export interface StagedHost {
  dir: string;
  root: string;
  bin: string;
  /** Env for a child collector: PATH with `bin` first, no catalog settings inherited. */
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

/** One device of a staged host: a sparse image file holding a VMFS volume. */
export interface StagedDevice {
  deviceId: string;
  lun: number;
  vmfsUuid: string;
  segmentUuid: string;
  extentUuid: string;
  label: string;
  /** Size of the image file. */
  sizeBytes: number;
  /** Host path of the image (under root). */
  path: string;
  options: VmfsImageOptions;
}

/** A fresh staging folder with root/ and bin/. */
export function stageFolder(prefix = 'staged-host-'): StagedHost {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const root = join(dir, 'root');
  const bin = join(dir, 'bin');
  mkdirSync(root, { recursive: true });
  mkdirSync(bin, { recursive: true });
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(CATALOG_|COLLECTOR_)/.test(k)) env[k] = v;
  env.PATH = `${bin}${delimiter}${process.env.PATH ?? ''}`;
  env.VMFS_COLLECTOR_CONFIG = join(dir, 'no-config.json');
  return { dir, root, bin, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The file name a fake command looks up for its arguments. */
function argKey(args: string[]): string {
  return args.join(' ').replace(/[^A-Za-z0-9._-]/g, '_') || '_';
}

/**
 * Writes a fake command that prints the output stored for its exact arguments
 * (exit 1 and a message on stderr for any other arguments).
 */
export function fakeCommand(h: StagedHost, name: string, outputs: Record<string, string | Buffer>): void {
  const out = join(h.dir, 'outputs', name);
  mkdirSync(out, { recursive: true });
  for (const [args, text] of Object.entries(outputs)) writeFileSync(join(out, argKey(args === '' ? [] : args.split(' '))), text);
  const script = `#!/bin/sh
key=$(printf '%s' "$*" | tr -c 'A-Za-z0-9._-' '_')
[ -n "$key" ] || key=_
f='${out}'/"$key"
if [ -f "$f" ]; then cat "$f"; exit 0; fi
echo "${name}: unexpected arguments: $*" >&2
exit 1
`;
  const path = join(h.bin, name);
  writeFileSync(path, script);
  chmodSync(path, 0o755);
}

/** Changes one fake command's output for one argument line. */
export function setFakeOutput(h: StagedHost, name: string, args: string, text: string): void {
  writeFileSync(join(h.dir, 'outputs', name, argKey(args === '' ? [] : args.split(' '))), text);
}

function hostFile(h: StagedHost, path: string, data: string | Uint8Array): void {
  const p = join(h.root, path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, data);
}

/** UUIDs in VMFS style that differ per index. */
export function stagedIds(i: number, macTail = '0050569a1b2c'): { vmfsUuid: string; segmentUuid: string; extentUuid: string } {
  const n = (0x5a1c3e00 + i).toString(16);
  return {
    vmfsUuid: `${n}-2b4d6e80-91a2-${macTail}`,
    segmentUuid: `${n}-11223344-5566-${macTail}`,
    extentUuid: `${n}-aabbccdd-eeff-${macTail}`,
  };
}

export interface DeviceSpec {
  deviceId: string;
  lun?: number;
  label?: string;
  sizeBytes?: number;
  /** Seeds the ids and the noise so devices differ. */
  index: number;
  options?: VmfsImageOptions;
}

async function writeDevice(h: StagedHost, path: string, spec: DeviceSpec, base: VmfsImageOptions): Promise<StagedDevice> {
  const ids = stagedIds(spec.index);
  const sizeBytes = spec.sizeBytes ?? 64 * MiB;
  const options: VmfsImageOptions = {
    ...base,
    deviceId: spec.deviceId,
    lun: spec.lun ?? spec.index,
    label: spec.label ?? `datastore${spec.index}`,
    ...ids,
    noiseSeed: spec.index + 1,
    ...spec.options,
  };
  const file = join(h.root, path);
  mkdirSync(dirname(file), { recursive: true });
  await writeVmfsDevice(file, options, sizeBytes);
  return {
    deviceId: spec.deviceId,
    lun: options.lun!,
    label: options.label!,
    sizeBytes,
    path,
    options,
    vmfsUuid: options.vmfsUuid!,
    segmentUuid: options.segmentUuid!,
    extentUuid: options.extentUuid!,
  };
}

export const ESXI_SYSTEM_UUID = '5a1c0000-1111-2222-3333-0050569a1b2c';

export interface EsxiHost extends StagedHost {
  devices: StagedDevice[];
}

/** An ESXi 5+ host: esxcli, partedUtil, GPT VMFS5 disks under /vmfs/devices/disks, .vh.sf per volume. */
export async function stageEsxiHost(devices: DeviceSpec[], h: StagedHost = stageFolder('staged-esxi-')): Promise<EsxiHost> {
  const staged: StagedDevice[] = [];
  for (const d of devices) staged.push(await writeDevice(h, `/vmfs/devices/disks/${d.deviceId}`, d, { lvmMajor: 5, scheme: 'gpt' }));
  for (const d of staged) {
    hostFile(h, `/vmfs/volumes/${d.vmfsUuid}/.vh.sf`, buildVhSf({ lvmMajor: 5, vmfsUuid: d.vmfsUuid, label: d.label, segmentUuid: d.segmentUuid }));
  }
  hostFile(h, '/etc/vmware/esx.conf', esxConf(ESXI_SYSTEM_UUID));
  fakeCommand(h, 'esxcli', {
    'storage vmfs extent list': esxcliExtentList(
      staged.map((d) => ({ volumeName: d.label, vmfsUuid: d.vmfsUuid, extentNumber: 0, deviceName: d.deviceId, partition: 1 })),
    ),
    'storage core device list': esxcliDeviceList(staged.map((d) => ({ id: d.deviceId, sizeMb: d.sizeBytes / MiB }))),
  });
  const parted: Record<string, string> = {};
  for (const d of staged) {
    parted[`getptbl /vmfs/devices/disks/${d.deviceId}`] = partedUtilGetptbl({
      scheme: 'gpt',
      geometry: [8, 255, 63, d.sizeBytes / 512],
      partitions: [{ num: 1, start: 2048, end: d.sizeBytes / 512 - 1 }],
    });
  }
  fakeCommand(h, 'partedUtil', parted);
  return { ...h, devices: staged };
}

/** An ESX 4 host: no `esxcli storage`, `esxcfg-scsidevs -m` maps GPT/MBR VMFS disks under /vmfs/devices/disks. */
export async function stageEsx4Host(devices: DeviceSpec[], h: StagedHost = stageFolder('staged-esx4-')): Promise<EsxiHost> {
  const staged: StagedDevice[] = [];
  for (const d of devices) staged.push(await writeDevice(h, `/vmfs/devices/disks/${d.deviceId}`, d, { lvmMajor: 3, scheme: 'mbr' }));
  for (const d of staged)
    hostFile(h, `/vmfs/volumes/${d.vmfsUuid}/.vh.sf`, buildVhSf({ lvmMajor: 3, vmfsUuid: d.vmfsUuid, label: d.label, segmentUuid: d.segmentUuid }));
  hostFile(h, '/etc/vmware/esx.conf', esxConf(ESXI_SYSTEM_UUID));
  fakeCommand(h, 'esxcfg-scsidevs', {
    '-m': esxcfgScsidevsM(staged.map((d) => ({ device: d.deviceId, partition: 1, vmfsUuid: d.vmfsUuid, extentNumber: 0, volumeName: d.label }))),
  });
  return { ...h, devices: staged };
}

export const ESX3_SYSTEM_UUID = '4a1c0000-1111-2222-3333-000c29aabbcc';

/** An ESX 3.x host: esxcfg-vmhbadevs (-m), MBR VMFS3 disks at /dev/sdX (partition at LBA 128). */
export async function stageEsx3Host(devices: Array<DeviceSpec & { sd: string }>, h: StagedHost = stageFolder('staged-esx3-')): Promise<EsxiHost> {
  const staged: StagedDevice[] = [];
  for (const d of devices) staged.push(await writeDevice(h, `/dev/${d.sd}`, d, { lvmMajor: 3, scheme: 'mbr' }));
  for (const d of staged)
    hostFile(h, `/vmfs/volumes/${d.vmfsUuid}/.vh.sf`, buildVhSf({ lvmMajor: 3, vmfsUuid: d.vmfsUuid, label: d.label, segmentUuid: d.segmentUuid }));
  hostFile(h, '/etc/vmware/esx.conf', esxConf(ESX3_SYSTEM_UUID));
  fakeCommand(h, 'esxcfg-vmhbadevs', {
    '': esxcfgVmhbadevs(devices.map((d, i) => ({ vmhba: `vmhba1:0:${i}`, devicePath: `/dev/${d.sd}` }))),
    '-m': esxcfgVmhbadevs(devices.map((d, i) => ({ vmhba: `vmhba1:0:${i}:1`, devicePath: `/dev/${d.sd}1`, vmfsUuid: staged[i].vmfsUuid }))),
  });
  return { ...h, devices: staged };
}

export interface SolarisLu {
  /** 32 hex digits (the LU GUID = NAA id without `naa.`). */
  guid: string;
  /** zvol dataset under /dev/zvol/rdsk. */
  dataset: string;
  lun: number;
  /** Write a VMFS image into the backing store (false: zeros). */
  vmfs?: DeviceSpec | false;
  sizeBytes?: number;
}

export interface SolarisHost extends StagedHost {
  lus: Array<SolarisLu & { backingStore: string; device: StagedDevice | null }>;
  /** The secrets the fake outputs hold, which must never reach the catalog. */
  secrets: string[];
}

export const TARGET_CHAP_SECRET = 'itadm-chap-secret-s3cr3t-value';

/** An OpenSolaris storage host: legacy iscsitgt and/or COMSTAR serving zvols; zfs snapshots of each. */
export async function stageSolarisHost(
  lus: SolarisLu[],
  stacks: { iscsitgt?: boolean; comstar?: boolean } = { iscsitgt: true, comstar: true },
  h: StagedHost = stageFolder('staged-solaris-'),
): Promise<SolarisHost> {
  const out: SolarisHost['lus'] = [];
  for (const lu of lus) {
    const backingStore = `/dev/zvol/rdsk/${lu.dataset}`;
    const sizeBytes = lu.sizeBytes ?? 64 * MiB;
    let device: StagedDevice | null = null;
    if (lu.vmfs)
      device = await writeDevice(
        h,
        backingStore,
        { ...lu.vmfs, deviceId: `naa.${lu.guid.toLowerCase()}`, sizeBytes },
        { lvmMajor: 5, scheme: 'gpt', vendor: 'SUN', model: 'COMSTAR', revision: '1.0' },
      );
    else hostFile(h, backingStore, Buffer.alloc(sizeBytes));
    out.push({ ...lu, backingStore, device });
  }
  const svccfg: Record<string, string> = {};
  const { FIXTURE_SECRETS } = await import('../fixtures/text-fixtures.js');
  const secrets: string[] = [TARGET_CHAP_SECRET];
  if (stacks.iscsitgt) {
    svccfg['export iscsitgt'] = iscsitgtExport({
      targets: out.map((lu) => ({
        name: `lun${lu.lun}`,
        iqn: `iqn.1986-03.com.sun:02:staged-${lu.lun}`,
        alias: `vmware-${lu.lun}`,
        luns: [{ lun: 0, guid: lu.guid.toLowerCase(), backingStore: lu.backingStore, blocks: (lu.sizeBytes ?? 64 * MiB) / 512 }],
      })),
      passwords: true,
    });
    secrets.push(...Object.values(FIXTURE_SECRETS));
  }
  if (stacks.comstar) {
    svccfg['export -a stmf'] = stmfExport({ lus: out.map((lu) => ({ guid: lu.guid, views: [{ entry: 0, lun: lu.lun }] })) });
    const stmfadm: Record<string, string> = {
      'list-lu -v': stmfadmListLu(out.map((lu) => ({ guid: lu.guid, dataFile: lu.backingStore, sizeBytes: lu.sizeBytes ?? 64 * MiB }))),
      'list-hg -v': stmfadmListGroups('host', [{ name: 'esx', members: ['iqn.1998-01.com.vmware:esx01'] }]),
      'list-tg -v': stmfadmListGroups('target', []),
    };
    for (const lu of out) stmfadm[`list-view -l ${lu.guid.toUpperCase()}`] = stmfadmListView([{ entry: 0, lun: lu.lun }]);
    fakeCommand(h, 'stmfadm', stmfadm);
    fakeCommand(h, 'itadm', {
      'list-target -v': itadmListTarget([
        { iqn: 'iqn.1986-03.com.sun:02:comstar-target', chapUser: 'esx', chapSecret: TARGET_CHAP_SECRET, auth: 'chap', authDefaults: false },
      ]),
      'list-tpg -v': itadmListTpg([{ name: 'tpg1', portals: ['192.0.2.10:3260'] }]),
    });
    fakeCommand(h, 'sbdadm', { 'list-lu': sbdadmListLu(out.map((lu) => ({ guid: lu.guid, sizeBytes: lu.sizeBytes ?? 64 * MiB, source: lu.backingStore }))) });
  }
  fakeCommand(h, 'svccfg', svccfg);
  const datasets = out.map((lu) => lu.dataset);
  fakeCommand(h, 'zfs', {
    [`list -H -p -t snapshot -o name,creation,used -r ${[...new Set(datasets)].join(' ')}`]: zfsListSnapshots(
      datasets.flatMap((ds, i) => [
        { name: `${ds}@daily-2026-11-01`, creation: 1793491200 + i, used: 1024 * (i + 1) },
        { name: `${ds}@daily-2026-11-02`, creation: 1793577600 + i, used: 2048 * (i + 1) },
      ]),
    ),
  });
  return { ...h, lus: out, secrets };
}

/**
 * A fake `ssh` in `h.bin`: checks the collector's options, logs each call to
 * `ssh.log`, and runs the remote command locally with absolute paths mapped
 * under `remoteRoot` (the staged ESXi host), so `dd if=/vmfs/...` reads its images.
 * `dd: 'fail'` makes every dd print 4 KiB then exit 3; `'hang'` makes it go silent.
 * A POSIX sh script, as a host's own commands are: it starts in milliseconds even on a
 * loaded machine, so a short --command-timeout times only what the test means it to
 * (a Node script took up to seconds to start there, past a 1 s timeout of the listings).
 */
export function fakeSsh(h: StagedHost, remoteRoot: string, remoteBin: string, dd: 'ok' | 'fail' | 'hang' = 'ok'): void {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // The remote command's absolute paths after `if=`, or after a leading `cat ` or `ls -1 `, optionally quoted, go under remoteRoot.
  const sedRoot = remoteRoot.replace(/[\\#&]/g, '\\$&');
  const script = `#!/bin/sh
# Each call: its argv, NUL-separated, then a \\001 field (one write, as calls may overlap).
printf '%s\\0' "$@" '\u0001' >> ${q(join(h.dir, 'ssh.log'))}
batch=
while [ $# -gt 0 ]; do
  case $1 in
    -o) [ "$2" = BatchMode=yes ] && batch=1; shift 2 ;;
    --) shift; break ;;
    -*) echo "fake ssh: unexpected option $1" >&2; exit 255 ;;
    *) break ;;
  esac
done
target=$1
shift
remote="$*"
[ -n "$batch" ] || { echo 'fake ssh: BatchMode=yes missing' >&2; exit 255; }
case $target in *unreachable*) echo "ssh: connect to host $target port 22: Connection refused" >&2; exit 255 ;; esac
# A host whose ssh banner or error holds terminal escapes (window title, clear screen), a carriage return and a bidi override.
case $target in *hostile*) printf 'ssh: \\033]0;owned\\007\\033[2Jbanner\\rover \\342\\200\\256txt.exe\\n' >&2; exit 255 ;; esac
# A connection that drops mid-dump: some bytes, then ssh's non-zero exit; or one that goes silent.
case ${q(dd)}:$remote in
  'fail:dd '*) head -c 4096 /dev/zero | tr '\\000' '\\007'; exit 3 ;;
  'hang:dd '*) exec sleep 600 ;;
esac
mapped=$(printf '%s\\n' "$remote" | sed -E ${q(`s#(if=|^cat |^ls -1 )('?)/#\\1\\2${sedRoot}/#g`)})
PATH=${q(remoteBin)}:/usr/bin:/bin exec /bin/sh -c "$mapped"
`;
  const path = join(h.bin, 'ssh');
  writeFileSync(path, script);
  chmodSync(path, 0o755);
}

/** The fake ssh's call log: each call's -o options, target and remote command, as ssh reads its argv. */
export function sshCalls(h: StagedHost): Array<{ opts: string[]; target: string; remote: string }> {
  let log: string;
  try {
    log = readFileSync(join(h.dir, 'ssh.log'), 'utf8');
  } catch {
    return [];
  }
  const calls: Array<{ opts: string[]; target: string; remote: string }> = [];
  let argv: string[] = [];
  for (const field of log.split('\0').slice(0, -1)) {
    if (field !== '\u0001') {
      argv.push(field);
      continue;
    }
    const opts: string[] = [];
    let i = 0;
    for (; i < argv.length; i++) {
      if (argv[i] === '-o') opts.push(argv[++i]);
      else if (argv[i] === '--') {
        i++;
        break;
      } else break;
    }
    calls.push({ opts, target: argv[i], remote: argv.slice(i + 1).join(' ') });
    argv = [];
  }
  return calls;
}
