/**
 * MBR and GPT partition tables (docs/formats.md "Partition tables"; UEFI spec ch. 5, util-linux
 * libfdisk gpt.c for field meaning). CRC mismatches are reported, never fatal:
 * a damaged table is exactly what a recovery operator needs to see.
 */
import { FormatError, someBytes, malformed, truncated } from './errors.js';
import { cleanText } from './text-rule.js';

/** One partition as a restore needs it. */
export interface PartitionEntry {
  /** 1-based slot number (MBR slot 1–4, GPT entry number). */
  index: number;
  /** `0xfb` style for MBR; the upper-case type GUID for GPT. */
  type: string;
  /** `VMFS`, `vmkDiagnostic`, `VMware reserved`, `vSAN`, `OSDATA`, `GPT protective`, … or null when unnamed. */
  typeName: string | null;
  startLba: number;
  /** Inclusive last LBA. */
  endLba: number;
  sectors: number;
  /** MBR boot flag (0x80). */
  bootable: boolean;
  /** GPT only: partition name (UTF-16LE), unique GUID, attribute bits as hex. */
  name?: string;
  uniqueGuid?: string;
  attributes?: string;
}

export interface CrcCheck {
  stored: string;
  computed: string;
  ok: boolean;
}

export interface GptHeader {
  revision: string;
  headerSize: number;
  currentLba: number;
  backupLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  entriesLba: number;
  entryCount: number;
  entrySize: number;
  headerCrc: CrcCheck;
  /** null when the dump ends before the whole entry array. */
  entriesCrc: CrcCheck | null;
}

export interface PartitionTable {
  /** 'none' when neither an MBR signature nor a GPT header is present. */
  scheme: 'mbr' | 'gpt' | 'none';
  /** 512, or 4096 when the GPT header sits at byte 4096 (4Kn disk). */
  sectorSize: number;
  mbr: { signature: boolean; protective: boolean; diskSignature: string; entries: PartitionEntry[] } | null;
  gpt: GptHeader | null;
  /** The entries that describe the disk: GPT entries under GPT, the used MBR slots otherwise. */
  entries: PartitionEntry[];
  notes: string[];
}

export const MBR_TYPE_VMFS = 0xfb;
export const MBR_TYPE_VMKCORE = 0xfc;
export const MBR_TYPE_GPT_PROTECTIVE = 0xee;
export const GPT_TYPE_VMFS = 'AA31E02A-400F-11DB-9590-000C2911D1B8';

/** VMware partition type GUIDs (docs/formats.md "Partition tables"). */
export const GPT_TYPE_NAMES: Record<string, string> = {
  [GPT_TYPE_VMFS]: 'VMFS',
  '9D275380-40AD-11DB-BF97-000C2911D1B8': 'vmkDiagnostic',
  '9198EFFC-31C0-11DB-8F78-000C2911D1B8': 'VMware reserved',
  '381CFCCC-7288-11E0-92EE-000C2911D0B2': 'vSAN',
  '4EB2EA39-7855-4790-A79E-FAE495E21F8D': 'OSDATA',
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'EFI system',
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'basic data',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux filesystem',
};

const MBR_TYPE_NAMES: Record<number, string> = {
  [MBR_TYPE_VMFS]: 'VMFS',
  [MBR_TYPE_VMKCORE]: 'vmkDiagnostic',
  [MBR_TYPE_GPT_PROTECTIVE]: 'GPT protective',
  5: 'extended',
  15: 'extended',
  131: 'Linux',
  7: 'NTFS',
};

const GPT_SIGNATURE = 'EFI PART';
/** Upper bound on an entry array we will read (the spec minimum is 16 KiB; 1 MiB is generous). */
const MAX_ENTRY_ARRAY = 1 << 20;

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, reflected, as GPT uses). */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function hex32(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/** A mixed-endian GUID (first three fields little-endian) as upper-case text. */
export function formatGuid(b: Uint8Array): string {
  const h = (i: number) => b[i].toString(16).padStart(2, '0');
  const le = (idx: number[]) => idx.map(h).join('');
  return `${le([3, 2, 1, 0])}-${le([5, 4])}-${le([7, 6])}-${le([8, 9])}-${le([10, 11, 12, 13, 14, 15])}`.toUpperCase();
}

/** Reads a u64 that must stay an exact JS number (LBAs); larger values are corrupt, not big. */
export function readSafeU64(view: DataView, off: number, field: string, base = 0): number {
  const v = view.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    malformed(`${field} 0x${v.toString(16)} exceeds 2^53`, { offset: base + off });
  }
  return Number(v);
}

/** A DataView over exactly these bytes (a subarray's own window of its buffer). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function parseMbr(bytes: Uint8Array): NonNullable<PartitionTable['mbr']> {
  const view = viewOf(bytes);
  const signature = bytes[0x1fe] === 0x55 && bytes[0x1ff] === 0xaa;
  const entries: PartitionEntry[] = [];
  let protective = false;
  for (let i = 0; i < 4; i++) {
    const off = 0x1be + i * 16;
    const type = bytes[off + 4];
    const startLba = view.getUint32(off + 8, true);
    const sectors = view.getUint32(off + 12, true);
    if (type === 0 && startLba === 0 && sectors === 0) continue;
    if (type === MBR_TYPE_GPT_PROTECTIVE) protective = true;
    entries.push({
      index: i + 1,
      type: '0x' + type.toString(16).padStart(2, '0'),
      typeName: MBR_TYPE_NAMES[type] ?? null,
      startLba,
      endLba: sectors > 0 ? startLba + sectors - 1 : startLba,
      sectors,
      bootable: bytes[off] === 0x80,
    });
  }
  return { signature, protective, diskSignature: hex32(view.getUint32(0x1b8, true)), entries };
}

/** GPT partition name: UTF-16LE up to the first NUL, under the text rule (lone surrogates escaped). */
function utf16Name(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    const c = b[i] | (b[i + 1] << 8);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return cleanText(s).trim();
}

function parseGpt(bytes: Uint8Array, sectorSize: number, notes: string[]): { header: GptHeader; entries: PartitionEntry[] } {
  const base = sectorSize;
  const view = viewOf(bytes);
  const hv = new DataView(bytes.buffer, bytes.byteOffset + base, Math.min(sectorSize, bytes.length - base));
  const rev = hv.getUint32(8, true);
  let headerSize = hv.getUint32(12, true);
  const storedHeaderCrc = hv.getUint32(16, true);
  // CRC over headerSize bytes with the CRC field zeroed (UEFI 5.3.2).
  let computedHeaderCrc = 0;
  if (headerSize < 92 || headerSize > hv.byteLength) {
    notes.push(`GPT header size ${headerSize} out of range; CRC checked over 92 bytes`);
    headerSize = 92;
  }
  // A real copy: Buffer#slice is a view, and zeroing the CRC field in a view would
  // corrupt the caller's bytes (a header dump the collector is about to upload).
  const copy = Uint8Array.prototype.slice.call(bytes, base, base + headerSize);
  copy.fill(0, 16, 20);
  computedHeaderCrc = crc32(copy);
  const header: GptHeader = {
    revision: `${rev >>> 16}.${rev & 0xffff}`,
    headerSize,
    currentLba: readSafeU64(hv, 24, 'GPT current LBA', base),
    backupLba: readSafeU64(hv, 32, 'GPT backup LBA', base),
    firstUsableLba: readSafeU64(hv, 40, 'GPT first usable LBA', base),
    lastUsableLba: readSafeU64(hv, 48, 'GPT last usable LBA', base),
    diskGuid: formatGuid(bytes.subarray(base + 56, base + 72)),
    entriesLba: readSafeU64(hv, 72, 'GPT entry array LBA', base),
    entryCount: hv.getUint32(80, true),
    entrySize: hv.getUint32(84, true),
    headerCrc: { stored: hex32(storedHeaderCrc), computed: hex32(computedHeaderCrc), ok: storedHeaderCrc === computedHeaderCrc },
    entriesCrc: null,
  };
  if (!header.headerCrc.ok) notes.push('GPT header CRC mismatch');
  const entries: PartitionEntry[] = [];
  const { entrySize, entryCount } = header;
  if (entrySize < 128 || entrySize % 8 !== 0 || entrySize > 4096) {
    notes.push(`GPT entry size ${entrySize} invalid; entries not read`);
    return { header, entries };
  }
  const arrayBytes = entryCount * entrySize;
  if (arrayBytes > MAX_ENTRY_ARRAY) {
    notes.push(`GPT entry array of ${entryCount} entries too large; entries not read`);
    return { header, entries };
  }
  const arrayStart = header.entriesLba * sectorSize;
  if (arrayStart + arrayBytes <= bytes.length) {
    const stored = hv.getUint32(88, true);
    const computed = crc32(bytes.subarray(arrayStart, arrayStart + arrayBytes));
    header.entriesCrc = { stored: hex32(stored), computed: hex32(computed), ok: stored === computed };
    if (!header.entriesCrc.ok) notes.push('GPT entry array CRC mismatch');
  } else {
    notes.push('dump ends inside the GPT entry array; its CRC was not checked');
  }
  for (let i = 0; i < entryCount; i++) {
    const off = arrayStart + i * entrySize;
    if (off + 128 > bytes.length) break;
    const typeBytes = bytes.subarray(off, off + 16);
    if (typeBytes.every((b) => b === 0)) continue;
    const type = formatGuid(typeBytes);
    let startLba: number;
    let endLba: number;
    try {
      startLba = readSafeU64(view, off + 32, `GPT entry ${i + 1} first LBA`);
      endLba = readSafeU64(view, off + 40, `GPT entry ${i + 1} last LBA`);
    } catch (e) {
      // One corrupt entry must not hide the others (the VMFS one may be intact).
      notes.push(`${(e as Error).message}; entry skipped`);
      continue;
    }
    entries.push({
      index: i + 1,
      type,
      typeName: GPT_TYPE_NAMES[type] ?? null,
      startLba,
      endLba,
      sectors: endLba >= startLba ? endLba - startLba + 1 : 0,
      bootable: false,
      name: utf16Name(bytes.subarray(off + 56, off + 128)),
      uniqueGuid: formatGuid(bytes.subarray(off + 16, off + 32)),
      attributes:
        '0x' +
        view
          .getBigUint64(off + 48, true)
          .toString(16)
          .padStart(16, '0'),
    });
  }
  return { header, entries };
}

function hasGptSignature(bytes: Uint8Array, at: number): boolean {
  if (bytes.length < at + 92) return false;
  for (let i = 0; i < 8; i++) if (bytes[at + i] !== GPT_SIGNATURE.charCodeAt(i)) return false;
  return true;
}

/**
 * Reads the MBR at LBA 0 and, when present, the GPT header at LBA 1 (512 or
 * 4096-byte sectors) with its entry array. No table at all is scheme 'none'.
 */
export function parsePartitionTable(bytes: Uint8Array): PartitionTable {
  someBytes(bytes);
  if (bytes.length < 512) truncated('a partition table needs the first 512-byte sector', { offset: bytes.length });
  try {
    const notes: string[] = [];
    const mbr = parseMbr(bytes);
    const sectorSize = hasGptSignature(bytes, 512) ? 512 : hasGptSignature(bytes, 4096) ? 4096 : 0;
    if (sectorSize) {
      if (!mbr.protective) notes.push('GPT header without a protective MBR entry');
      const { header, entries } = parseGpt(bytes, sectorSize, notes);
      return { scheme: 'gpt', sectorSize, mbr, gpt: header, entries, notes };
    }
    if (!mbr.signature)
      return { scheme: 'none', sectorSize: 512, mbr: null, gpt: null, entries: [], notes: ['no MBR signature 0x55AA at 0x1FE and no GPT header'] };
    if (mbr.protective) notes.push(bytes.length < 1024 ? 'protective MBR; dump ends before the GPT header' : 'protective MBR but no GPT header at LBA 1');
    return { scheme: 'mbr', sectorSize: 512, mbr, gpt: null, entries: mbr.entries, notes };
  } catch (e) {
    if (e instanceof FormatError) throw e;
    malformed(`partition table: ${(e as Error).message}`, { offset: 0 });
  }
}
