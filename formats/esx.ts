/**
 * ESX inventory captures: `esxcfg-vmhbadevs` (with and without `-m`),
 * `/system/uuid` from `/etc/vmware/esx.conf`, `esxcli storage core device
 * list`, `esxcli storage vmfs extent list` and `partedUtil getptbl <disk>`.
 * One bare output, or the collector's sections (`# vmfs-collector: <command>`).
 * Unrecognised lines (stderr) are skipped.
 */
import { malformed, unrecognized } from './errors.js';
import { detailsOnly, type EsxDevice, type EsxExtent, type ParsedArtifact } from './types.js';
import { canonicalEsxDevice, canonicalVmfsUuid, commandWords, guarded, parseCount, valueOrNull, textSections } from './text.js';

export interface EsxPartition {
  num: number;
  start: number;
  end: number;
  /** Upper-case dashed GUID on GPT; null on MBR. */
  typeGuid: string | null;
  /** partedUtil's name for the GPT type (`vmfs`, `vmkDiagnostic`, …); on MBR the type as `0xfb`. */
  typeName: string | null;
  /** The MBR type byte; null on GPT. */
  mbrType: number | null;
  attr: number | null;
}

export interface EsxPartitionTable {
  /** The disk operand of the command line, when known. */
  disk: string | null;
  deviceId: string | null;
  scheme: string;
  geometry: { cylinders: number; heads: number; sectors: number; totalSectors: number } | null;
  partitions: EsxPartition[];
}

export interface VmhbaDevice {
  vmhba: string;
  devicePath: string;
}

export type EsxSectionKind = 'vmhbadevs' | 'scsidevs' | 'esx-conf' | 'device-list' | 'extent-list' | 'getptbl';

export interface EsxDetails {
  [key: string]: unknown;
  sections: { command: string | null; kind: EsxSectionKind | null; line: number }[];
  systemUuid: string | null;
  devices: EsxDevice[];
  extents: EsxExtent[];
  vmhbaDevices: VmhbaDevice[];
  partitionTables: EsxPartitionTable[];
}

const VMHBA_RE = /^vmhba\d{1,4}(:\d{1,5}){2,3}$/;
const SCSIDEV_PART_RE = /^(naa|eui|t10|mpx)\.\S+:\d{1,3}$/;
const SCHEME_RE = /^(gpt|msdos|loop|unknown|bsd|dvh|mac|pc98|sun)$/;
const SYSTEM_UUID_RE = /^\s*\/system\/uuid\s*=\s*"([^"\n]*)"/;

function classifyCommand(command: string): { kind: EsxSectionKind | null; disk: string | null } {
  const words = commandWords(command);
  const base = words.map((w) => w.replace(/^.*\//, ''));
  if (base.includes('esxcfg-vmhbadevs')) return { kind: 'vmhbadevs', disk: null };
  if (base.includes('esxcfg-scsidevs')) return { kind: 'scsidevs', disk: null };
  if (words.some((w) => w.includes('esx.conf') || w.includes('/system/uuid'))) return { kind: 'esx-conf', disk: null };
  if (base.includes('esxcli')) {
    if (base.includes('device') && base.includes('list')) return { kind: 'device-list', disk: null };
    if (base.includes('extent') && base.includes('list')) return { kind: 'extent-list', disk: null };
    return { kind: null, disk: null };
  }
  if (base.includes('partedUtil') && base.includes('getptbl')) {
    const at = base.indexOf('getptbl');
    return { kind: 'getptbl', disk: words[at + 1] ?? null };
  }
  return { kind: null, disk: null };
}

/** Device id from a disk path like `/vmfs/devices/disks/naa.600…`. */
function deviceOfDisk(disk: string | null): string | null {
  if (disk === null) return null;
  const name = disk.replace(/^.*\//, '');
  if (/^(naa|eui|t10|mpx)\./i.test(name)) return canonicalEsxDevice(name);
  return null;
}

/** `AA31E02A400F11DB9590000C2911D1B8` → `AA31E02A-400F-11DB-9590-000C2911D1B8`. */
function dashedGuid(raw: string): string | null {
  const v = raw.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(v)) return null;
  const u = v.toUpperCase();
  return `${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20)}`;
}

/** Column spans from esxcli's dashed underline: one span per run of dashes. */
function dashSpans(line: string): { start: number; end: number }[] | null {
  if (!/^[-\s]+$/.test(line) || !line.includes('-')) return null;
  const spans: { start: number; end: number }[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === '-') {
      const start = i;
      while (i < line.length && line[i] === '-') i++;
      spans.push({ start, end: i });
      // esxcli's table has five columns; a line of many dash runs is not its underline.
      if (spans.length > 32) return null;
    } else i++;
  }
  return spans;
}

function cut(line: string, spans: { start: number; end: number }[]): string[] {
  return spans.map((s, i) => line.slice(s.start, i + 1 < spans.length ? spans[i + 1].start : line.length).trim());
}

/** Parse ESX inventory captures into devices, extents, the host's system UUID and partition tables. */
export function parseEsxInventory(input: Uint8Array | string): ParsedArtifact {
  return guarded('ESX inventory', () => {
    const sections = textSections(input, 'ESX inventory');

    let systemUuid: string | null = null;
    const devices: EsxDevice[] = [];
    const extents: EsxExtent[] = [];
    const vmhbaDevices: VmhbaDevice[] = [];
    const partitionTables: EsxPartitionTable[] = [];
    const sectionInfo: EsxDetails['sections'] = [];
    let recognised = false;

    for (const section of sections) {
      const fromCommand = section.command === null ? { kind: null, disk: null } : classifyCommand(section.command);
      if (section.command !== null && fromCommand.kind === null) {
        sectionInfo.push({ command: section.command, kind: null, line: section.markerLine });
        continue;
      }
      let mode: EsxSectionKind | null = fromCommand.kind;
      if (mode !== null) recognised = true;
      let firstKind = mode;
      let device: EsxDevice | null = null;
      let header: string | null = null;
      let columns: Map<string, number> | null = null;
      let spans: { start: number; end: number }[] | null = null;
      let table: EsxPartitionTable | null = null;

      const lines = section.lines;
      for (let i = 0; i < lines.length; i++) {
        const lineNo = section.firstLine + i;
        const line = lines[i].trimEnd();
        if (line.trim() === '') {
          if (mode === 'device-list') device = null;
          continue;
        }
        const words = line.trim().split(/\s+/);

        // Recognise an output by its first line when no command line said what it is.
        const uuidLine = SYSTEM_UUID_RE.exec(line);
        if (uuidLine) {
          // docs/formats.md "ESX inventory" gives 8-8-4-12 like a VMFS UUID; keep other spellings, lower-cased when they are hex.
          const raw = uuidLine[1].trim();
          systemUuid = canonicalVmfsUuid(raw) ?? (raw === '' ? null : /^[0-9a-fA-F-]+$/.test(raw) ? raw.toLowerCase() : raw);
          recognised = true;
          firstKind ??= 'esx-conf';
          continue;
        }
        if (/^Volume Name\s+VMFS UUID/.test(line)) {
          mode = 'extent-list';
          header = line;
          spans = null;
          columns = null;
        } else if (VMHBA_RE.test(words[0]) && (words[1] ?? '').startsWith('/dev/')) {
          mode = 'vmhbadevs';
        } else if (SCSIDEV_PART_RE.test(words[0]) && (words[1] ?? '').startsWith('/vmfs/devices/disks/')) {
          mode = 'scsidevs';
        } else if (SCHEME_RE.test(line.trim()) && (mode === 'getptbl' || /^\d+\s+\d+\s+\d+\s+\d+$/.test((lines[i + 1] ?? '').trim()))) {
          mode = 'getptbl';
        } else if (mode !== 'device-list' && /^[^\s:]+(:[^\s:]+)*$/.test(line) && /^\s+Display Name:/.test(lines[i + 1] ?? '')) {
          mode = 'device-list';
        }
        if (mode === null) continue;
        recognised = true;
        firstKind ??= mode;

        switch (mode) {
          case 'vmhbadevs': {
            if (!VMHBA_RE.test(words[0]) || !(words[1] ?? '').startsWith('/dev/')) break;
            const parts = words[0].split(':');
            const vmfsUuid =
              words
                .slice(2)
                .map((w) => canonicalVmfsUuid(w))
                .find((u) => u !== null) ?? null;
            if (vmfsUuid === null) {
              vmhbaDevices.push({ vmhba: words[0], devicePath: words[1] });
              break;
            }
            // `-m`: vmhbaA:T:L:P  /dev/sdXN  <VMFS UUID>; the disk is the path without its partition digits.
            extents.push({
              volumeName: null,
              vmfsUuid,
              extentNumber: null,
              deviceId: words[1].replace(/\d+$/, ''),
              devicePath: words[1],
              vmhba: parts.slice(0, 3).join(':'),
              partition: parts.length === 4 ? Number(parts[3]) : parseCount(/(\d+)$/.exec(words[1])?.[1] ?? null),
            });
            break;
          }
          case 'scsidevs': {
            // ESX 4+ `esxcfg-scsidevs -m`: <device>:<partition>  <devfs path>  <VMFS UUID>  <extent>  <volume name…>.
            // Layout from VMware KB examples, unverified against every build: read by tokens, name = the rest of the line.
            if (!SCSIDEV_PART_RE.test(words[0]) || words.length < 4) break;
            const vmfsUuid = canonicalVmfsUuid(words[2]);
            if (vmfsUuid === null) break;
            const colon = words[0].lastIndexOf(':');
            let rest = line.trim();
            for (let k = 0; k < 4; k++) rest = rest.slice(rest.indexOf(words[k]) + words[k].length).trimStart();
            extents.push({
              volumeName: rest === '' ? null : rest,
              vmfsUuid,
              extentNumber: parseCount(words[3]),
              deviceId: canonicalEsxDevice(words[0].slice(0, colon)),
              devicePath: words[1],
              vmhba: null,
              partition: parseCount(words[0].slice(colon + 1)),
            });
            break;
          }
          case 'device-list': {
            if (!/^\s/.test(line)) {
              // A device block opens with its id alone on an unindented line; anything else there is noise.
              if (!/^\S+$/.test(line)) break;
              device = {
                deviceId: canonicalEsxDevice(line.trim()),
                vml: null,
                displayName: null,
                vendor: null,
                model: null,
                revision: null,
                sizeBytes: null,
                devfsPath: null,
              };
              devices.push(device);
              break;
            }
            if (!device) break;
            const colon = line.indexOf(':');
            if (colon === -1) break;
            const key = line.slice(0, colon).trim().toLowerCase();
            const value = line.slice(colon + 1).trim();
            if (key === 'display name') device.displayName = valueOrNull(value);
            else if (key === 'vendor') device.vendor = valueOrNull(value);
            else if (key === 'model') device.model = valueOrNull(value);
            else if (key === 'revision') device.revision = valueOrNull(value);
            else if (key === 'devfs path') device.devfsPath = valueOrNull(value);
            else if (key === 'size' || key === 'size in mb') {
              // esxcli reports the size in MB.
              const mb = parseCount(value);
              device.sizeBytes = mb === null || mb > Number.MAX_SAFE_INTEGER / 1048576 ? null : mb * 1048576;
            } else if (key === 'other uids') {
              const vml = value.split(/[,\s]+/).find((u) => /^vml\.[0-9a-fA-F]+$/.test(u));
              device.vml = vml ? vml.toLowerCase() : null;
            }
            break;
          }
          case 'extent-list': {
            if (/^Volume Name\s+VMFS UUID/.test(line)) {
              header = line;
              break;
            }
            const underline = dashSpans(line);
            if (underline && columns === null) {
              spans = underline;
              if (header !== null) columns = new Map(cut(header, spans).map((name, idx) => [name.toLowerCase(), idx]));
              break;
            }
            extents.push(...extentRow(line, spans, columns));
            break;
          }
          case 'getptbl': {
            const t = line.trim();
            if (SCHEME_RE.test(t)) {
              table = { disk: fromCommand.disk, deviceId: deviceOfDisk(fromCommand.disk), scheme: t, geometry: null, partitions: [] };
              partitionTables.push(table);
              break;
            }
            if (!table || !/^\d/.test(t)) break;
            if (table.geometry === null && table.partitions.length === 0 && /^\d+\s+\d+\s+\d+\s+\d+$/.test(t)) {
              const [cylinders, heads, sectors, totalSectors] = words.map((w) => parseCount(w) ?? 0);
              table.geometry = { cylinders, heads, sectors, totalSectors };
              break;
            }
            table.partitions.push(partitionLine(words, lineNo));
            break;
          }
          case 'esx-conf':
            break;
        }
      }
      sectionInfo.push({ command: section.command, kind: firstKind, line: section.command === null ? section.firstLine : section.markerLine });
    }

    if (!recognised) unrecognized('ESX inventory: no esxcfg, esxcli, esx.conf or partedUtil output found');
    const details: EsxDetails = { sections: sectionInfo, systemUuid, devices, extents, vmhbaDevices, partitionTables };
    return detailsOnly('esx-inventory', details);
  });
}

/**
 * One row of `esxcli storage vmfs extent list`. Columns are cut at the spans of
 * the dashed underline (volume names hold spaces); when that does not yield a
 * UUID (TABs in place of padding) the row is read around its UUID token instead.
 */
function extentRow(line: string, spans: { start: number; end: number }[] | null, columns: Map<string, number> | null): EsxExtent[] {
  if (spans && columns) {
    const f = cut(line, spans);
    const at = (name: string): string | null => {
      const idx = columns.get(name);
      return idx === undefined ? null : (f[idx] ?? null);
    };
    const vmfsUuid = canonicalVmfsUuid(at('vmfs uuid'));
    const extentNumber = parseCount(at('extent number'));
    const deviceName = valueOrNull(at('device name'));
    if (vmfsUuid && deviceName && !/\s/.test(deviceName) && extentNumber !== null) {
      return [
        {
          volumeName: valueOrNull(at('volume name')),
          vmfsUuid,
          extentNumber,
          deviceId: canonicalEsxDevice(deviceName),
          devicePath: null,
          vmhba: null,
          partition: parseCount(at('partition')),
        },
      ];
    }
  }
  const words = line.trim().split(/\s+/);
  const u = words.findIndex((w) => canonicalVmfsUuid(w) !== null);
  if (u === -1 || words.length < u + 3) return [];
  const uuidToken = words[u];
  const before = line.slice(0, line.indexOf(uuidToken)).trim();
  return [
    {
      volumeName: before === '' ? null : before,
      vmfsUuid: canonicalVmfsUuid(uuidToken) as string,
      extentNumber: parseCount(words[u + 1]),
      deviceId: canonicalEsxDevice(words[u + 2]),
      devicePath: null,
      vmhba: null,
      partition: parseCount(words[u + 3] ?? null),
    },
  ];
}

/** `num start end GUID typeName attr` (GPT) or `num start end type attr` (MBR). */
function partitionLine(words: string[], lineNo: number): EsxPartition {
  const num = parseCount(words[0]);
  const start = parseCount(words[1] ?? null);
  const end = parseCount(words[2] ?? null);
  if (num === null || start === null || end === null || words.length < 4) {
    malformed('partedUtil partition line needs number, start, end and type', { line: lineNo });
  }
  const typeGuid = dashedGuid(words[3]);
  if (typeGuid !== null) {
    return {
      num,
      start,
      end,
      typeGuid,
      typeName: words.length >= 6 ? words[4] : null,
      mbrType: null,
      attr: parseCount(words[words.length >= 6 ? 5 : 4] ?? null),
    };
  }
  const mbrType = parseCount(words[3]);
  if (mbrType === null || mbrType > 255) {
    malformed(`partedUtil partition type is neither a GUID nor an MBR type: ${words[3].slice(0, 40)}`, { line: lineNo });
  }
  return { num, start, end, typeGuid: null, typeName: `0x${mbrType.toString(16).padStart(2, '0')}`, mbrType, attr: parseCount(words[4] ?? null) };
}
