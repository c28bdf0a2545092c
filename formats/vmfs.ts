/**
 * VMFS header dumps and `.vh.sf` copies (docs/formats.md, "VMFS on disk"):
 * partition lookup, LVM device header, volume table, FS descriptor. Field
 * offsets as that section gives them, with its sources: fox-it/dissect.vmfs
 * `c_lvm.py` (LVM_DevMetadata, SCSI_DiskId, LVM_VolDescriptor) and
 * glandium/vmfs-tools `libvmfs/vmfs_volume.h`.
 */
import { FormatError, isFormatError, someBytes, malformed, truncated } from './errors.js';
import { deviceIdFromIdBytes, deviceNameKeys, buildVml, naaDesignatorLength, toHex, VML_ID_TYPE } from './ids.js';
import { cleanDeep, fieldText } from './text-rule.js';
import { parsePartitionTable, GPT_TYPE_VMFS, MBR_TYPE_VMFS, viewOf, type PartitionTable, type CrcCheck } from './partition.js';
import type { ArtifactDetails, DeviceInfo, ParsedArtifact, PartitionInfo, VmfsInfo } from './types.js';

export const LVM_MAGIC = 0xc001d00d;
export const FS_MAGIC = 0x2fabf15e;
/** VMFS-L (ESXi 7 OSDATA) uses the next magic. */
export const FS_MAGIC_VMFSL = 0x2fabf15f;
/** LVM device header: partition + 1 MiB. */
export const LVM_HEADER_OFFSET = 0x100000;
/** FS descriptor: LV byte 0x200000 (and `.vh.sf` byte 0x200000). */
export const FS_DESCRIPTOR_OFFSET = 0x200000;
/** dataOffset as ESX writes it; used only when a header's own value is unusable. */
export const DEFAULT_DATA_OFFSET = 0x1100000;
/**
 * Where VMFS partitions start, in the order a wiped table is probed: the usual
 * 128, 2048, 63 (docs/formats.md "Partition tables"), then 1024 and 16384,
 * starts dissect.vmfs also looks at (its LVM bases 0x180000 and 0x900000).
 */
export const PROBE_LBAS = [128, 2048, 63, 1024, 16384] as const;

/** `0x` and the hex digits, as notes and errors name offsets and values. */
const hex = (n: number | bigint): string => '0x' + n.toString(16);
/** LVM_DevMetadata is 0xD6 bytes (dissect c_lvm.py). */
const LVM_HEADER_SIZE = 0xd6;
const VOLUME_ENTRY_SIZE = 0x200;
/** The FS descriptor fields end at 0xDD (sub-block size). */
const FS_DESCRIPTOR_SIZE = 0xdd;
/** LVM_MAX_VOLUMES_PER_DEV: 512 for LVM 5 and older, 1 for LVM 6 (dissect c_lvm.py). */
const MAX_VOLUMES_LVM5 = 512;
const MAX_VOLUMES_LVM6 = 1;
/** Beyond this a dataOffset is corrupt: ESX uses 17 MiB; support dumps stop at ~1.5 GiB. */
const MAX_PLAUSIBLE_DATA_OFFSET = 1 << 30;

/**
 * How the 44-byte id field at LVM header +0x2E was split (docs/formats.md "LVM
 * device header"): 'with-model-prefix' when the length at +0x0D counts the id
 * and the 6 model bytes after it (what ESX 3.5 writes: 22 for a 16-byte NAA);
 * 'id-then-model' when it counts the id alone; 'naa-designator' when neither
 * fits and the NAA type nibble of the first byte gave the id length.
 */
export type DeviceIdLayout = 'with-model-prefix' | 'id-then-model' | 'naa-designator';

/** What the caller knows about the bytes, to settle an ambiguous header. */
export interface VmfsHeaderHints {
  /**
   * The device the bytes were read from, in any spelling ESX prints
   * (`naa.…`, `naa.…:1`, `/vmfs/devices/disks/vml.…`, a file name holding one).
   */
  deviceName?: string;
}

export interface LvmDeviceHeader {
  /** Byte offset of the header in the dump. */
  offset: number;
  majorVersion: number;
  minorVersion: number;
  deviceIdType: number;
  /** The length byte at +0x0D as stored. */
  deviceIdLength: number;
  /** How that length was read. */
  deviceIdLayout: DeviceIdLayout;
  lun: number;
  scsiDeviceType: number;
  scsiLevel: number;
  vendor: string;
  model: string;
  revision: string;
  /** Raw bytes of vendor (+0x12, 8), model (+0x1A, 16) and revision (+0x2A, 4) as hex. */
  vendorHex: string;
  modelHex: string;
  revisionHex: string;
  /** The device-id bytes as read (without the model prefix), lower-case hex. */
  deviceIdHex: string;
  /** All 44 bytes of the id field at +0x2E, lower-case hex. */
  deviceIdFieldHex: string;
  /** The 6 model bytes that end the vml id, as text and as hex. */
  modelPrefix: string;
  modelPrefixHex: string;
  diskBlockSize: number;
  sizeBytes: number;
  numVolumes: number;
  numPEs: number;
  lastPEIndex: number;
  generation: number;
  dataOffset: number;
  extentUuid: string;
  initTimeUs: number;
  initTime: string | null;
  modifyTimeUs: number;
  modifyTime: string | null;
  mdAlignment: number;
  flags: number;
  /** flags bit 0: a VMFS-L (OSDATA) device. */
  vmfsL: boolean;
}

export interface VolumeTableEntry {
  index: number;
  offset: number;
  logicalSize: number;
  generation: number;
  state: number;
  stateName: 'invalid' | 'normal' | 'resignature-pending' | 'resignature-done' | 'unknown';
  /** The text at +0x14 (the volume's UUID as text). */
  name: string;
  /** Its raw bytes as hex, without the trailing NUL padding. */
  nameHex: string;
  segmentUuid: string;
  snapId: number;
  createdAtUs: number;
  createdAt: string | null;
  peCount: number;
  firstPE: number;
  lastPE: number;
  extentCount: number;
}

export interface FsDescriptor {
  offset: number;
  magic: string;
  vmfsL: boolean;
  rawVersion: number;
  minorVersion: number;
  version: string;
  vmfsUuid: string;
  configFlags: number;
  label: string;
  diskBlockSize: number;
  fileBlockSize: number;
  ctime: number;
  createdAt: string | null;
  snapId: number;
  segmentUuid: string;
  subBlockSize: number;
}

export interface PartitionTableSummary {
  scheme: PartitionTable['scheme'];
  sectorSize: number;
  protectiveMbr: boolean;
  entries: { index: number; type: string; typeName: string | null; startLba: number; endLba: number; name?: string }[];
  headerCrc: CrcCheck | null;
  entriesCrc: CrcCheck | null;
  notes: string[];
}

/** `details` of a vmfs-header artifact. */
export interface VmfsHeaderDetails extends ArtifactDetails {
  /** 'disk': the dump starts at LBA 0; 'partition': it starts at the VMFS partition. */
  layout: 'disk' | 'partition';
  /** Byte offset of the VMFS partition in the dump. */
  partitionOffset: number;
  lvm: LvmDeviceHeader;
  volumeTable: VolumeTableEntry[];
  fsDescriptor: FsDescriptor | null;
  partitionTable: PartitionTableSummary | null;
  notes: string[];
}

/** What the collector must read to capture a header dump that reaches the FS descriptor. */
export interface HeaderDumpPlan {
  partition: PartitionInfo | null;
  /** Byte offset of the VMFS partition from the start of the bytes given. */
  partitionOffset: number;
  dataOffset: number;
  /** partitionOffset + dataOffset + 0x200000 + 4096. */
  needBytes: number;
  notes: string[];
}

/**
 * Canonical VMFS UUID `%08x-%08x-%04x-<MAC>` from 16 stored bytes: three
 * little-endian integers, then the 6 MAC bytes in stored order (docs/formats.md "VMFS UUID").
 */
export function formatUuid(b: Uint8Array): string {
  if (b.length < 16) truncated('a VMFS UUID is 16 bytes', { offset: b.length });
  const v = viewOf(b);
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(v.getUint32(0, true), 8)}-${h(v.getUint32(4, true), 8)}-${h(v.getUint16(8, true), 4)}-${toHex(b.subarray(10, 16))}`;
}

/** Creation time (the UUID's first word, seconds) and creating host MAC of a canonical VMFS UUID. */
export function decodeUuid(uuid: string): { createdAt: string | null; creatorMac: string | null } {
  const m = /^([0-9a-f]{8})-[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f]{12})$/.exec(uuid);
  if (!m) return { createdAt: null, creatorMac: null };
  const secs = parseInt(m[1], 16);
  const mac = m[2];
  return {
    createdAt: secs > 0 ? new Date(secs * 1000).toISOString() : null,
    creatorMac: /^0+$/.test(mac) ? null : mac.match(/../g)!.join(':'),
  };
}

function isoFromUs(us: number): string | null {
  if (us <= 0) return null;
  const d = new Date(Math.floor(us / 1000));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function isoFromSecs(s: number): string | null {
  return s > 0 ? new Date(s * 1000).toISOString() : null;
}

/** Reads a u64 as a number; a value past 2^53 is clamped with a note rather than silently rounded. */
function u64(view: DataView, off: number, field: string, notes: string[]): number {
  const v = view.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    notes.push(`${field} ${hex(v)} exceeds 2^53; clamped`);
    return Number.MAX_SAFE_INTEGER;
  }
  return Number(v);
}

function hasU32(bytes: Uint8Array, off: number, magic: number): boolean {
  if (off < 0 || off + 4 > bytes.length) return false;
  return (bytes[off] | (bytes[off + 1] << 8) | (bytes[off + 2] << 16) | (bytes[off + 3] << 24)) >>> 0 === magic;
}

/** One way of cutting the id field into device-id bytes and the 6-byte vml tail. */
interface IdReading {
  layout: DeviceIdLayout;
  id: Uint8Array;
  tail: Uint8Array;
  deviceId: string | null;
  tailIsModel: boolean;
}

/** Model bytes compare with NUL and space padding taken as the same. */
function sameModelBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if ((a[i] || 0x20) !== (b[i] || 0x20)) return false;
  return true;
}

/**
 * The device id these bytes spell for their type, or why not. An NAA must also
 * agree with its own type nibble (8 or 16 bytes), so zeros are no NAA.
 */
function decodeId(idType: number, id: Uint8Array): { deviceId: string | null; why: string } {
  if ((idType === VML_ID_TYPE.naa || idType === VML_ID_TYPE.symm) && id.length > 0 && naaDesignatorLength(id[0]) !== id.length) {
    return { deviceId: null, why: `NAA type ${id[0] >> 4} does not describe a ${id.length}-byte id` };
  }
  try {
    return { deviceId: deviceIdFromIdBytes(idType, id), why: '' };
  } catch (e) {
    return { deviceId: null, why: (e as Error).message };
  }
}

function readingOf(layout: DeviceIdLayout, idType: number, field: Uint8Array, idLen: number, model6: Uint8Array): IdReading {
  const id = field.subarray(0, idLen);
  const tail = field.subarray(idLen, Math.min(idLen + 6, field.length));
  return { layout, id, tail, deviceId: decodeId(idType, id).deviceId, tailIsModel: sameModelBytes(tail, model6) };
}

/** The vml tail: the stored model bytes, or the model field's first 6 when those are missing or NUL. */
function vmlTail(r: IdReading, model6: Uint8Array): Uint8Array {
  if (r.tail.length === 6 && !r.tail.includes(0)) return r.tail;
  return Uint8Array.from(model6, (c) => c || 0x20);
}

function vmlOf(idType: number, deviceType: number, lun: number, r: IdReading, model6: Uint8Array): string {
  return buildVml({ idType, deviceType, lun, deviceIdBytes: r.id, model: vmlTail(r, model6) });
}

/**
 * Splits the 44-byte id field at +0x2E (docs/formats.md "LVM device header").
 * Real hosts store the id followed by the model's first 6 bytes and count both
 * in the length at +0x0D; older readings counted the id alone. Both are tried:
 * the device name the caller knows wins, then a reading whose id decodes for
 * its type, then one whose trailing 6 bytes are the model's; a tie is noted.
 */
function readDeviceIdField(b: Uint8Array, hints: VmfsHeaderHints, notes: string[]): { reading: IdReading; vml: string } {
  const idType = b[0x0c];
  const idLen = b[0x0d];
  const lun = b[0x0e] | (b[0x0f] << 8);
  const deviceType = b[0x10];
  const model6 = b.subarray(0x1a, 0x20);
  const field = b.subarray(0x2e, 0x5a);
  const candidates: IdReading[] = [];
  if (idLen > 6 && idLen <= field.length) candidates.push(readingOf('with-model-prefix', idType, field, idLen - 6, model6));
  if (idLen > 0 && idLen <= field.length) candidates.push(readingOf('id-then-model', idType, field, idLen, model6));
  if (idLen > field.length) notes.push(`device id length ${idLen} exceeds the 44-byte field`);

  const named = hints.deviceName ? deviceNameKeys(hints.deviceName) : { deviceId: null, vml: null };
  const score = (r: IdReading) =>
    (r.deviceId !== null && (r.deviceId === named.deviceId || vmlOf(idType, deviceType, lun, r, model6) === named.vml) ? 4 : 0) +
    (r.deviceId !== null ? 2 : 0) +
    (r.tailIsModel ? 1 : 0);
  // Stable sort: on equal scores the real-host layout (listed first) stays first.
  const ranked = [...candidates].sort((x, y) => score(y) - score(x));
  let reading = ranked[0];
  if (reading && ranked[1] && score(ranked[0]) === score(ranked[1]) && reading.deviceId !== null) {
    notes.push(`device id length ${idLen} reads as both layouts; taken as ${reading.layout} (${reading.id.length}-byte id)`);
  }

  const isNaa = idType === VML_ID_TYPE.naa || idType === VML_ID_TYPE.symm;
  if ((!reading || reading.deviceId === null) && isNaa && naaDesignatorLength(field[0]) > 0) {
    // A header that carries an NAA always yields it: its own type nibble says how long it is.
    const n = naaDesignatorLength(field[0]);
    reading = readingOf('naa-designator', idType, field, n, model6);
    notes.push(`device id length ${idLen} fits neither layout; NAA type ${field[0] >> 4} read as ${n} bytes`);
  }
  if (!reading) {
    notes.push(`device id length ${idLen}: no device id stored`);
    reading = readingOf('with-model-prefix', idType, field, 0, model6);
  } else if (reading.deviceId === null) {
    notes.push(`device id not decodable: ${decodeId(idType, reading.id).why}`);
  } else if (!reading.tailIsModel) {
    notes.push(`the 6 bytes after the device id (${toHex(reading.tail)}) are not the model's first 6 (${toHex(model6)})`);
  }
  return { reading, vml: vmlOf(idType, deviceType, lun, reading, model6) };
}

interface LvmRead {
  header: LvmDeviceHeader;
  deviceId: string;
  vml: string;
}

function parseLvmHeader(bytes: Uint8Array, h: number, notes: string[], hints: VmfsHeaderHints = {}): LvmRead {
  if (h + LVM_HEADER_SIZE > bytes.length) {
    truncated(`dump ends inside the LVM device header at ${hex(h)}`, { offset: bytes.length });
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset + h, LVM_HEADER_SIZE);
  const b = bytes.subarray(h, h + LVM_HEADER_SIZE);
  // SCSI_DiskId at +0x0C (dissect.vmfs c_lvm.py): type, length, LUN, device
  // type, level, vendor[8], model[16], revision[4], id[44].
  const { reading, vml } = readDeviceIdField(b, hints, notes);
  const initTimeUs = u64(v, 0x92, 'LVM init time', notes);
  const modifyTimeUs = u64(v, 0x9a, 'LVM modify time', notes);
  const flags = v.getUint32(0xd2, true);
  const header: LvmDeviceHeader = {
    offset: h,
    majorVersion: v.getUint32(0x04, true),
    minorVersion: v.getUint32(0x08, true),
    deviceIdType: b[0x0c],
    deviceIdLength: b[0x0d],
    deviceIdLayout: reading.layout,
    lun: v.getUint16(0x0e, true),
    scsiDeviceType: b[0x10],
    scsiLevel: b[0x11],
    vendor: fieldText(b.subarray(0x12, 0x1a)),
    model: fieldText(b.subarray(0x1a, 0x2a)),
    revision: fieldText(b.subarray(0x2a, 0x2e)),
    vendorHex: toHex(b.subarray(0x12, 0x1a)),
    modelHex: toHex(b.subarray(0x1a, 0x2a)),
    revisionHex: toHex(b.subarray(0x2a, 0x2e)),
    deviceIdHex: toHex(reading.id),
    deviceIdFieldHex: toHex(b.subarray(0x2e, 0x5a)),
    modelPrefix: fieldText(reading.tail),
    modelPrefixHex: toHex(reading.tail),
    diskBlockSize: v.getUint32(0x5a, true),
    // Full 8 bytes: a 4-byte read wraps past 4 GiB of sectors (docs/formats.md "LVM device header").
    sizeBytes: u64(v, 0x5e, 'device size', notes),
    numVolumes: v.getUint32(0x66, true),
    numPEs: v.getUint32(0x6a, true),
    lastPEIndex: v.getUint32(0x6e, true),
    generation: u64(v, 0x72, 'LVM generation', notes),
    dataOffset: u64(v, 0x7a, 'dataOffset', notes),
    extentUuid: formatUuid(b.subarray(0x82, 0x92)),
    initTimeUs,
    initTime: isoFromUs(initTimeUs),
    modifyTimeUs,
    modifyTime: isoFromUs(modifyTimeUs),
    mdAlignment: v.getUint32(0xca, true),
    flags,
    vmfsL: (flags & 1) === 1,
  };
  return { header, deviceId: reading.deviceId ?? '', vml };
}

/** S: volume table distance from the device header (docs/formats.md "VMFS on disk"; dissect.vmfs LVM_SIZEOF_LVM_DEVMETA). */
function volumeTableOffset(lvm: LvmDeviceHeader, notes: string[]): number {
  if (lvm.majorVersion < 6) return 0x200;
  const a = lvm.mdAlignment;
  if (a >= 0x200 && a <= 0x100000 && (a & (a - 1)) === 0) return a;
  notes.push(`LVM 6 mdAlignment ${hex(a)} unusable; assumed 0x1000`);
  return 0x1000;
}

const VOLUME_STATES: VolumeTableEntry['stateName'][] = ['invalid', 'normal', 'resignature-pending', 'resignature-done'];

function parseVolumeTable(bytes: Uint8Array, lvm: LvmDeviceHeader, notes: string[]): VolumeTableEntry[] {
  const start = lvm.offset + volumeTableOffset(lvm, notes);
  const max = lvm.majorVersion >= 6 ? MAX_VOLUMES_LVM6 : MAX_VOLUMES_LVM5;
  let count = lvm.numVolumes;
  if (count > max) {
    notes.push(`LVM header says ${count} volumes; at most ${max} read`);
    count = max;
  }
  const entries: VolumeTableEntry[] = [];
  for (let i = 0; i < count; i++) {
    const off = start + i * VOLUME_ENTRY_SIZE;
    if (off + VOLUME_ENTRY_SIZE > bytes.length) {
      notes.push(`dump ends before volume table entry ${i} at ${hex(off)}`);
      break;
    }
    const v = new DataView(bytes.buffer, bytes.byteOffset + off, VOLUME_ENTRY_SIZE);
    const b = bytes.subarray(off, off + VOLUME_ENTRY_SIZE);
    const state = v.getUint32(0x10, true);
    const createdAtUs = u64(v, 0x68, `volume ${i} creation time`, notes);
    entries.push({
      index: i,
      offset: off,
      logicalSize: u64(v, 0x00, `volume ${i} logical size`, notes),
      generation: u64(v, 0x08, `volume ${i} generation`, notes),
      state,
      stateName: VOLUME_STATES[state] ?? 'unknown',
      name: fieldText(b.subarray(0x14, 0x54)),
      nameHex: toHex(b.subarray(0x14, 0x54)).replace(/(00)+$/, ''),
      segmentUuid: formatUuid(b.subarray(0x54, 0x64)),
      snapId: v.getUint32(0x64, true),
      createdAtUs,
      createdAt: isoFromUs(createdAtUs),
      peCount: v.getUint32(0x74, true),
      firstPE: u64(v, 0x78, `volume ${i} first PE`, notes),
      lastPE: u64(v, 0x80, `volume ${i} last PE`, notes),
      extentCount: v.getUint32(0x90, true),
    });
  }
  return entries;
}

/** Raw FS version → VMFS major: 4 is VMFS3, 14 VMFS5, 24 and up VMFS6 (docs/formats.md "FS descriptor"). */
function vmfsMajor(raw: number): number {
  if (raw >= 24) return 6;
  if (raw >= 14) return 5;
  if (raw >= 3) return 3;
  return raw;
}

function parseFsDescriptor(bytes: Uint8Array, off: number, notes: string[]): FsDescriptor {
  const v = new DataView(bytes.buffer, bytes.byteOffset + off, FS_DESCRIPTOR_SIZE);
  const b = bytes.subarray(off, off + FS_DESCRIPTOR_SIZE);
  const magic = v.getUint32(0, true);
  const rawVersion = v.getUint32(0x04, true);
  const minorVersion = b[0x08];
  const ctime = v.getUint32(0xa9, true);
  return {
    offset: off,
    magic: hex(magic),
    vmfsL: magic === FS_MAGIC_VMFSL,
    rawVersion,
    minorVersion,
    version: `VMFS-${vmfsMajor(rawVersion)}.${minorVersion}`,
    vmfsUuid: formatUuid(b.subarray(0x09, 0x19)),
    configFlags: v.getUint32(0x19, true),
    label: fieldText(b.subarray(0x1d, 0x9d)),
    diskBlockSize: v.getUint32(0x9d, true),
    fileBlockSize: u64(v, 0xa1, 'file block size', notes),
    ctime,
    createdAt: isoFromSecs(ctime),
    snapId: v.getUint32(0xad, true),
    segmentUuid: formatUuid(b.subarray(0xb1, 0xc1)),
    subBlockSize: v.getUint32(0xd9, true),
  };
}

function hasFsDescriptor(bytes: Uint8Array, off: number): boolean {
  return off + FS_DESCRIPTOR_SIZE <= bytes.length && (hasU32(bytes, off, FS_MAGIC) || hasU32(bytes, off, FS_MAGIC_VMFSL));
}

interface Located {
  layout: 'disk' | 'partition';
  partition: PartitionInfo | null;
  partitionOffset: number;
  table: PartitionTable | null;
  notes: string[];
}

function isVmfsEntry(table: PartitionTable, type: string): boolean {
  return table.scheme === 'gpt' ? type === GPT_TYPE_VMFS : type === hex(MBR_TYPE_VMFS);
}

/**
 * Finds the LVM device header: through a VMFS partition table entry, then at
 * 0x100000 (a partition-relative dump), then by probing LBA 128, 2048 and 63
 * (a wiped or wrong table: the partition is reported missing).
 */
function locateVmfs(bytes: Uint8Array): Located {
  const notes: string[] = [];
  let table: PartitionTable | null = null;
  if (bytes.length >= 512) {
    try {
      table = parsePartitionTable(bytes);
      notes.push(...table.notes);
    } catch (e) {
      notes.push(`partition table unreadable: ${(e as Error).message}`);
    }
  }
  let unreachable: { offset: number } | null = null;
  if (table && table.scheme !== 'none') {
    for (const entry of table.entries) {
      if (!isVmfsEntry(table, entry.type)) continue;
      const partitionOffset = entry.startLba * table.sectorSize;
      const h = partitionOffset + LVM_HEADER_OFFSET;
      if (hasU32(bytes, h, LVM_MAGIC)) {
        const scheme = table.scheme;
        return {
          layout: 'disk',
          partition: { scheme, index: entry.index, type: entry.type, startLba: entry.startLba, endLba: entry.endLba, missing: false },
          partitionOffset,
          table,
          notes,
        };
      }
      if (h + 4 > bytes.length) unreachable ??= { offset: h };
      else notes.push(`partition ${entry.index} (VMFS type) at LBA ${entry.startLba} holds no LVM header`);
    }
  }
  if (hasU32(bytes, LVM_HEADER_OFFSET, LVM_MAGIC)) {
    return { layout: 'partition', partition: null, partitionOffset: 0, table: null, notes: [] };
  }
  for (const lba of PROBE_LBAS) {
    const partitionOffset = lba * 512;
    if (!hasU32(bytes, partitionOffset + LVM_HEADER_OFFSET, LVM_MAGIC)) continue;
    // An entry that starts here but has another type still describes the partition.
    const entry =
      table && table.scheme !== 'none' && table.sectorSize === 512
        ? table.entries.find((e) => e.startLba === lba && e.typeName !== 'GPT protective')
        : undefined;
    if (entry && table) {
      notes.push(`partition ${entry.index} at LBA ${lba} holds VMFS but is typed ${entry.type}`);
      return {
        layout: 'disk',
        partition: { scheme: table.scheme, index: entry.index, type: entry.type, startLba: lba, endLba: entry.endLba, missing: false },
        partitionOffset,
        table,
        notes,
      };
    }
    notes.push(`no partition table entry describes the VMFS found at LBA ${lba}`);
    return {
      layout: 'disk',
      partition: { scheme: 'none', index: 0, type: '', startLba: lba, endLba: 0, missing: true },
      partitionOffset,
      table,
      notes,
    };
  }
  if (unreachable && table) {
    // A 2 MiB dump (old scripts' `dd bs=512 count=4096`) of a disk whose VMFS partition starts at 1 MiB (GPT, LBA 2048) ends just before the LVM header.
    const parts = table.entries.filter((e) => isVmfsEntry(table!, e.type)).map((e) => `${e.index} at LBA ${e.startLba}–${e.endLba}`);
    throw new FormatError(
      'truncated',
      `dump ends at ${hex(bytes.length)}, before the VMFS partition's LVM header at ${hex(unreachable.offset)}: it names no device; ` +
        `its ${table.scheme} table holds partition ${parts.join(', ')}; dump again with the collector`,
      { offset: bytes.length },
    );
  }
  if (bytes.length < LVM_HEADER_OFFSET + 4) {
    truncated('dump too short to reach an LVM header (needs more than 1 MiB)', { offset: bytes.length });
  }
  throw new FormatError('bad_magic', `no LVM magic 0xC001D00D through the partition table, at 0x100000, or at LBA ${PROBE_LBAS.join('/')}`, {
    offset: LVM_HEADER_OFFSET,
  });
}

function summarizeTable(table: PartitionTable | null): PartitionTableSummary | null {
  if (!table) return null;
  return {
    scheme: table.scheme,
    sectorSize: table.sectorSize,
    protectiveMbr: table.mbr?.protective ?? false,
    entries: table.entries.map((e) => ({
      index: e.index,
      type: e.type,
      typeName: e.typeName,
      startLba: e.startLba,
      endLba: e.endLba,
      ...(e.name !== undefined ? { name: e.name } : {}),
    })),
    headerCrc: table.gpt?.headerCrc ?? null,
    entriesCrc: table.gpt?.entriesCrc ?? null,
    notes: table.notes,
  };
}

function vmfsVersionFromLvm(major: number): string {
  // LVM 4 came with ESX 4 and still carries VMFS3; there is no VMFS-4.
  return `VMFS-${major === 4 ? 3 : major}`;
}

function deviceFromLvm(lvm: LvmRead): DeviceInfo {
  const h = lvm.header;
  return {
    deviceId: lvm.deviceId,
    vml: lvm.vml,
    lun: h.lun,
    vendor: h.vendor,
    model: h.model,
    revision: h.revision,
    sizeBytes: h.sizeBytes,
    extentUuid: h.extentUuid,
  };
}

/** Identity of the volume; creation time and MAC come from the VMFS UUID, else from the segment UUID made with it. */
function vmfsInfo(version: string, fs: FsDescriptor | null, segmentUuid: string | null): VmfsInfo {
  const source = fs?.vmfsUuid ?? segmentUuid;
  const decoded = source ? decodeUuid(source) : { createdAt: null, creatorMac: null };
  return {
    vmfsUuid: fs?.vmfsUuid ?? null,
    label: fs ? fs.label : null,
    version,
    blockSize: fs ? fs.fileBlockSize : null,
    segmentUuid,
    createdAt: decoded.createdAt ?? fs?.createdAt ?? null,
    creatorMac: decoded.creatorMac,
  };
}

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isFormatError(e)) throw e;
    malformed(`${what}: ${(e as Error)?.message ?? String(e)}`, { offset: 0 });
  }
}

/**
 * Parses a VMFS header dump, disk- or partition-relative: partition, LVM device
 * header, volume table and, when the dump reaches it, the FS descriptor.
 * `hints.deviceName` (the device the dump was read from) settles a device id
 * field that reads both ways.
 */
export function parseVmfsHeader(bytes: Uint8Array, hints: VmfsHeaderHints = {}): ParsedArtifact {
  return wrap('vmfs header', () => {
    someBytes(bytes);
    const where = locateVmfs(bytes);
    const notes = where.notes;
    const read = parseLvmHeader(bytes, where.partitionOffset + LVM_HEADER_OFFSET, notes, hints);
    const lvm = read.header;
    const volumeTable = parseVolumeTable(bytes, lvm, notes);
    let fsDescriptor: FsDescriptor | null = null;
    const fsOff = where.partitionOffset + lvm.dataOffset + FS_DESCRIPTOR_OFFSET;
    if (lvm.dataOffset === 0 || lvm.dataOffset > MAX_PLAUSIBLE_DATA_OFFSET) {
      notes.push(`dataOffset ${hex(lvm.dataOffset)} implausible; FS descriptor not looked for`);
    } else if (fsOff + FS_DESCRIPTOR_SIZE > bytes.length) {
      notes.push(`dump ends before the FS descriptor at ${hex(fsOff)}`);
    } else if (hasFsDescriptor(bytes, fsOff)) {
      fsDescriptor = parseFsDescriptor(bytes, fsOff, notes);
    } else {
      // A later extent of a spanned volume has no descriptor at its LV start.
      notes.push(`no FS descriptor magic at ${hex(fsOff)}`);
    }
    const segmentUuid = volumeTable[0]?.segmentUuid ?? fsDescriptor?.segmentUuid ?? null;
    const details: VmfsHeaderDetails = {
      layout: where.layout,
      partitionOffset: where.partitionOffset,
      lvm,
      volumeTable,
      fsDescriptor,
      partitionTable: summarizeTable(where.table),
      notes,
    };
    return cleanDeep<ParsedArtifact>({
      kind: 'vmfs-header',
      partition: where.partition,
      device: deviceFromLvm(read),
      vmfs: vmfsInfo(fsDescriptor?.version ?? vmfsVersionFromLvm(lvm.majorVersion), fsDescriptor, segmentUuid),
      details,
    });
  });
}

/** Parses a `.vh.sf` copy: its byte 0 is LV byte 0, so the FS descriptor is at 0x200000. */
export function parseVhSf(bytes: Uint8Array): ParsedArtifact {
  return wrap('.vh.sf', () => {
    someBytes(bytes);
    if (bytes.length < FS_DESCRIPTOR_OFFSET + FS_DESCRIPTOR_SIZE) {
      truncated('.vh.sf copy ends before the FS descriptor at 0x200000', { offset: bytes.length });
    }
    if (!hasFsDescriptor(bytes, FS_DESCRIPTOR_OFFSET)) {
      throw new FormatError('bad_magic', 'no FS descriptor magic 0x2FABF15E at 0x200000', { offset: FS_DESCRIPTOR_OFFSET });
    }
    const notes: string[] = [];
    const fs = parseFsDescriptor(bytes, FS_DESCRIPTOR_OFFSET, notes);
    return cleanDeep<ParsedArtifact>({
      kind: 'vh-sf',
      partition: null,
      device: null,
      vmfs: vmfsInfo(fs.version, fs, fs.segmentUuid),
      details: { fsDescriptor: fs, notes },
    });
  });
}

/**
 * From the first few MiB of a disk or partition, where its VMFS partition is and
 * how many bytes a header dump must hold to include the FS descriptor.
 */
export function planHeaderDump(firstBytes: Uint8Array): HeaderDumpPlan {
  return wrap('header dump plan', () => {
    someBytes(firstBytes);
    const where = locateVmfs(firstBytes);
    const notes = where.notes;
    const lvm = parseLvmHeader(firstBytes, where.partitionOffset + LVM_HEADER_OFFSET, notes).header;
    let dataOffset = lvm.dataOffset;
    if (dataOffset === 0 || dataOffset > MAX_PLAUSIBLE_DATA_OFFSET) {
      notes.push(`dataOffset ${hex(dataOffset)} implausible; planned with ${hex(DEFAULT_DATA_OFFSET)}`);
      dataOffset = DEFAULT_DATA_OFFSET;
    }
    return {
      partition: where.partition,
      partitionOffset: where.partitionOffset,
      dataOffset,
      needBytes: where.partitionOffset + dataOffset + FS_DESCRIPTOR_OFFSET + 4096,
      notes,
    };
  });
}

/** True when the bytes hold an LVM header where a VMFS dump would (used by detect). */
export function looksLikeVmfsHeader(bytes: Uint8Array): boolean {
  // Every LVM header locateVmfs finds lies LVM_HEADER_OFFSET or more into the bytes: shorter
  // ones (any text artifact) hold none, answered without the two errors locateVmfs would throw.
  if (bytes.length < LVM_HEADER_OFFSET + 4) return false;
  try {
    locateVmfs(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Byte offsets of the VMFS partitions a partition table in the first sectors names
 * (none when it names none or cannot be read). Detect takes a dump naming one as a
 * header dump (a short `part-backup` dump); a planner reads at one next when a
 * disk's first bytes end before its VMFS (a datastore on an ESXi boot disk starts GiBs in).
 */
export function vmfsPartitionOffsets(bytes: Uint8Array): number[] {
  try {
    const t = parsePartitionTable(bytes);
    return t.entries.filter((e) => isVmfsEntry(t, e.type)).map((e) => e.startLba * t.sectorSize);
  } catch {
    return [];
  }
}

/** True when an FS descriptor magic sits at 0x200000 (a `.vh.sf` copy). */
export function looksLikeVhSf(bytes: Uint8Array): boolean {
  return hasFsDescriptor(bytes, FS_DESCRIPTOR_OFFSET);
}
