/**
 * Device identifiers (naa./eui./t10./mpx./vml.), VMFS UUID spellings and the
 * typed search query a pasted term becomes (docs/formats.md, "Device identifiers").
 */
import { FormatError, malformed, truncated } from './errors.js';
import { cleanDeep } from './text-rule.js';

const HEX = /^[0-9a-f]+$/i;

/** vml "uuid type" byte (docs/formats.md "Device identifiers"; VMware KB 2078730): how the device-id bytes are to be read. */
export const VML_ID_TYPE = { mpx: 0, serial: 1, naa: 2, symm: 3 } as const;

/** Lower-case hex of some bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i].toString(16).padStart(2, '0');
  return s;
}

/** Bytes of an even-length hex string (caller checks it is hex). */
export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function printableAscii(bytes: Uint8Array): string | null {
  let s = '';
  for (const b of bytes) {
    if (b < 0x20 || b > 0x7e) return null;
    s += String.fromCharCode(b);
  }
  return s;
}

/**
 * Canonical device id: `naa.`/`eui.` + lower-case hex, `t10.`/`mpx.` with the
 * prefix lower-cased and the rest as printed; a bare 16 or 32 hex digit string is
 * taken as an NAA id. Throws FormatError 'malformed' for anything else.
 */
export function canonicalDeviceId(s: string): string {
  const t = s.trim();
  const prefix = t.slice(0, 4).toLowerCase();
  const rest = t.slice(4);
  if (prefix === 'naa.') {
    // NAA type 5 ids are 8 bytes, type 6 16 bytes (docs/formats.md "Device identifiers"); ESX prints both.
    if (HEX.test(rest) && (rest.length === 16 || rest.length === 32)) return 'naa.' + rest.toLowerCase();
    malformed(`naa. id needs 16 or 32 hex digits: ${JSON.stringify(t.slice(0, 80))}`, { offset: 4 });
  }
  if (prefix === 'eui.') {
    // EUI-64 (16 digits); NVMe namespaces also show 24/32-digit EUI/NGUID forms.
    if (HEX.test(rest) && (rest.length === 16 || rest.length === 24 || rest.length === 32)) return 'eui.' + rest.toLowerCase();
    malformed(`eui. id needs 16, 24 or 32 hex digits: ${JSON.stringify(t.slice(0, 80))}`, { offset: 4 });
  }
  if (prefix === 't10.' || prefix === 'mpx.') {
    // t10 ids carry vendor/product text whose case is significant as printed.
    if (rest.length > 0 && rest.length <= 256 && /^[\x21-\x7e]+$/.test(rest)) return prefix + rest;
    malformed(`${prefix} id has no printable body`, { offset: 4 });
  }
  if (HEX.test(t) && (t.length === 16 || t.length === 32)) return 'naa.' + t.toLowerCase();
  malformed(`not a device id: ${JSON.stringify(t.slice(0, 80))}`, { offset: 0 });
}

/**
 * The device id that a vml id type and its device-id bytes stand for: NAA (and
 * EMC SYMM, which carries an NAA designator) → `naa.<hex>`; serial → `t10.<ascii>`;
 * mpx → `mpx.<ascii>`. Throws FormatError 'malformed' when the bytes do not fit the type.
 * A serial-type vml holds only the serial, not the vendor/product ESX puts in
 * front of it in a `t10.` id, so that spelling is a search key, not ESX's name.
 */
export function deviceIdFromIdBytes(idType: number, idBytes: Uint8Array): string {
  if (idType === VML_ID_TYPE.naa || idType === VML_ID_TYPE.symm) {
    if (idBytes.length === 8 || idBytes.length === 16) return 'naa.' + toHex(idBytes);
    malformed(`NAA device id must be 8 or 16 bytes, got ${idBytes.length}`, { offset: 0 });
  }
  if (idType === VML_ID_TYPE.serial || idType === VML_ID_TYPE.mpx) {
    const text = printableAscii(idBytes)?.trim().replace(/\s+/g, '_');
    if (text) return (idType === VML_ID_TYPE.mpx ? 'mpx.' : 't10.') + text;
    malformed('serial/mpx device id is not printable ASCII', { offset: 0 });
  }
  malformed(`unknown device id type ${idType}`, { offset: 0 });
}

/**
 * The canonical id of a device as an operator pastes it: naa./eui./t10./mpx. or 16/32 hex
 * digits, maybe with the `:N` partition suffix `esxcfg-scsidevs -m` and esxcli's extent list
 * print (the device's partition N, so the device). Throws FormatError 'malformed' for anything
 * else. The catalog's `/v1/luns/{deviceId}` (which also takes a `vml.` id) and
 * `collector restore --device` read it alike.
 */
export function deviceIdOf(s: string): string {
  const t = s.trim();
  const partition = /^(.+):\d{1,3}$/.exec(t);
  try {
    return canonicalDeviceId(t);
  } catch (e) {
    if (!partition) throw e;
    return canonicalDeviceId(partition[1]);
  }
}

/**
 * Length in bytes of the NAA designator that starts with this byte, from its
 * high nibble (the NAA field, T10 SPC-4 "NAA designator format"): types 1, 2,
 * 3 and 5 are 8 bytes, type 6 (IEEE Registered Extended) 16; 0 otherwise.
 */
export function naaDesignatorLength(firstByte: number): 0 | 8 | 16 {
  const naa = firstByte >> 4;
  if (naa === 6) return 16;
  if (naa === 1 || naa === 2 || naa === 3 || naa === 5) return 8;
  return 0;
}

/**
 * The device a name stands for, when the name spells one: `naa.…`/`eui.…`
 * (maybe with the `:1` partition suffix `esxcfg-scsidevs -m` and
 * `/vmfs/devices/disks` print, maybe inside a path or file name) or `vml.…`.
 */
export function deviceNameKeys(name: string): { deviceId: string | null; vml: string | null } {
  const base = name.trim().slice(name.trim().lastIndexOf('/') + 1);
  const vml = /vml\.((?:[0-9a-f]{2}){6,128})(?![0-9a-f])/i.exec(base);
  const id = /\b(naa\.(?:[0-9a-f]{32}|[0-9a-f]{16})|eui\.(?:[0-9a-f]{32}|[0-9a-f]{24}|[0-9a-f]{16}))(?![0-9a-f])/i.exec(base);
  return { deviceId: id ? id[1].toLowerCase() : null, vml: vml ? 'vml.' + vml[1].toLowerCase() : null };
}

export interface VmlParts {
  /** Canonical `vml.<lower hex>`. */
  vml: string;
  deviceId: string;
  lun: number;
  idType: number;
  deviceType: number;
  /** The first 6 bytes of the model as stored (may be '' when absent). */
  modelPrefix: string;
}

/**
 * Decodes a `vml.` id (docs/formats.md "Device identifiers"; VMware KB 2078730,
 * KB 379673): id type, device type, LUN low byte first, a reserved 00, the
 * device-id bytes, then the first 6 ASCII bytes of the model.
 */
export function parseVml(s: string): VmlParts {
  const t = s.trim();
  if (t.slice(0, 4).toLowerCase() !== 'vml.') malformed('vml id must start with vml.', { offset: 0 });
  const hex = t.slice(4);
  if (!HEX.test(hex) || hex.length % 2 !== 0) malformed('vml id body must be an even number of hex digits', { offset: 4 });
  if (hex.length > 256) throw new FormatError('too_large', 'vml id longer than 128 bytes', { offset: 4 });
  const b = fromHex(hex);
  if (b.length < 6) truncated('vml id shorter than its 5-byte prefix plus an id', { offset: 4 + b.length * 2 });
  const idType = b[0];
  const deviceType = b[1];
  const lun = b[2] | (b[3] << 8);
  const body = b.subarray(5);
  let idBytes: Uint8Array;
  let modelBytes: Uint8Array;
  if ((idType === VML_ID_TYPE.naa || idType === VML_ID_TYPE.symm) && (body.length === 8 || body.length === 16)) {
    // Some tools print the vml without its model tail.
    idBytes = body;
    modelBytes = new Uint8Array(0);
  } else if (body.length > 6) {
    idBytes = body.subarray(0, body.length - 6);
    modelBytes = body.subarray(body.length - 6);
  } else {
    truncated('vml id has no device-id bytes', { offset: 14 });
  }
  let deviceId: string;
  try {
    deviceId = deviceIdFromIdBytes(idType, idBytes);
  } catch (e) {
    malformed(`vml device id: ${(e as Error).message}`, { offset: 14 });
  }
  const modelPrefix = printableAscii(modelBytes) ?? '';
  return { vml: 'vml.' + hex.toLowerCase(), deviceId, lun, idType, deviceType, modelPrefix };
}

/**
 * A device as an operator pastes it: any spelling `deviceIdOf` takes, or a `vml.` id, decoded
 * (`parseVml`) to the device and the LUN it names (null for the other spellings). Throws
 * FormatError naming what is wrong (`vml id body must be an even number of hex digits`). The
 * catalog's `/v1/luns/{deviceId}` (api/http/params.ts) and `collector restore --device` read an
 * id through this one function, so the collector refuses, before sending, what the catalog would.
 */
export function deviceOf(s: string): { deviceId: string; lun: number | null } {
  const t = s.trim();
  if (t.slice(0, 4).toLowerCase() !== 'vml.') return { deviceId: deviceIdOf(t), lun: null };
  const v = parseVml(t);
  return { deviceId: v.deviceId, lun: v.lun };
}

/**
 * Builds the `vml.` id ESX derives from a device's SCSI identity (docs/formats.md
 * "Device identifiers"): the 5-byte head, then the id bytes, then 6 model bytes.
 */
export function buildVml(parts: { idType: number; deviceType: number; lun: number; deviceIdBytes: Uint8Array; model: string | Uint8Array }): string {
  const head = new Uint8Array([parts.idType & 0xff, parts.deviceType & 0xff, parts.lun & 0xff, (parts.lun >> 8) & 0xff, 0]);
  let model: Uint8Array;
  if (typeof parts.model === 'string') {
    model = new Uint8Array(6).fill(0x20);
    for (let i = 0; i < Math.min(6, parts.model.length); i++) model[i] = parts.model.charCodeAt(i) & 0xff;
  } else {
    model = parts.model.subarray(0, 6);
  }
  return 'vml.' + toHex(head) + toHex(parts.deviceIdBytes) + toHex(model);
}

/**
 * Canonical VMFS UUID (`8-8-4-12`, lower case) from any spelling with or without
 * dashes; null when the text is not 32 hex digits.
 */
export function canonicalVmfsUuid(s: string): string | null {
  const hex = s.trim().replace(/-/g, '');
  if (hex.length !== 32 || !HEX.test(hex)) return null;
  return dashUuid(hex.toLowerCase());
}

/** Inserts the VMFS UUID dashes (after digits 8, 16, 20) into up to 32 hex digits. */
function dashUuid(hex: string): string {
  const parts = [hex.slice(0, 8), hex.slice(8, 16), hex.slice(16, 20), hex.slice(20)];
  return parts.filter((p) => p.length > 0).join('-');
}

/** What a pasted search term is taken to mean; see parseQuery for the rules. */
export type SearchQuery =
  | { type: 'vmfsUuid'; raw: string; vmfsUuid: string }
  | { type: 'uuidPrefix'; raw: string; prefix: string }
  | { type: 'deviceId'; raw: string; deviceId: string }
  | { type: 'vml'; raw: string; vml: string; deviceId: string; lun: number }
  | { type: 'iqn'; raw: string; iqn: string }
  | { type: 'backingStore'; raw: string; path: string; dataset: string | null }
  | { type: 'hex'; raw: string; hex: string; vmfsUuid: string | null; deviceId: string | null }
  | { type: 'text'; raw: string; text: string };

const ZVOL_PATH = /^\/dev\/zvol\/r?dsk\/(.+)$/;
const ZFS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]*(\/[A-Za-z0-9_.:-]+)+(@[A-Za-z0-9_.:-]+)?$/;
/** A VMFS UUID cut short, its dashes where 8-8-4-12 puts them. */
const UUID_PREFIX = /^[0-9a-f]{8}-([0-9a-f]{0,8}|[0-9a-f]{8}-([0-9a-f]{0,4}|[0-9a-f]{4}-[0-9a-f]{0,12}))$/i;

/**
 * Turns any term a user pastes into a typed query. Rules, first match wins
 * (the term is trimmed, and loses a pair of quotes around it with a comma after them, as a
 * value copied out of JSON has; an empty term throws FormatError 'empty'):
 * 1. `vml.<hex>` that decodes → vml (device id and LUN decoded).
 * 2. `naa.`/`eui.`/`t10.`/`mpx.` (any case) that canonicalises → deviceId.
 * 3. `iqn.…` → iqn, lower-cased (RFC 3720 names compare case-insensitively).
 * 4. An absolute path → backingStore; `/dev/zvol/(r)dsk/<ds>` names dataset `<ds>`.
 *    A ZFS name `pool/ds[/…][@snap]` → backingStore with that dataset.
 * 5. `8-8-4-12` hex with dashes → vmfsUuid.
 * 6. 32 bare hex digits → hex: always a VMFS UUID spelling; also an NAA id when
 *    the first digit is 6 (the only 16-byte NAA type).
 * 7. 16 bare hex digits → deviceId `naa.<hex>` (an 8-byte NAA id).
 * 8. 8 to 31 hex digits, dashes only where a VMFS UUID has them → uuidPrefix,
 *    returned lower-case with canonical dashes.
 * 9. Anything else (label fragment, host name, malformed ids) → text.
 */
export function parseQuery(term: string): SearchQuery {
  // A pasted term can carry control bytes; what leaves here follows the text rule.
  return cleanDeep(readQuery(term));
}

/** A vSphere datastore URL, `ds:///vmfs/volumes/<uuid>/`: its path. */
const DATASTORE_URL = /^ds:\/\/(\/vmfs\/volumes\/.+)$/i;
/** A vSphere datastore path, `[label] folder/file.vmx`: the label. */
const DATASTORE_PATH = /^\[([^\]]+)\]/;
/** A WWN or NAA written in colon-separated bytes, as arrays and SAN switches print it (`60:06:01:60:…`). */
const COLON_BYTES = /^[0-9a-f]{2}(?::[0-9a-f]{2}){7}(?:(?::[0-9a-f]{2}){8})?$/i;

/**
 * A WWN as a Linux host at the DR site spells it: udev's /dev/disk/by-id names (`wwn-0x…`,
 * `scsi-3…`, `dm-uuid-mpath-3…`: the 3 is SCSI's designator type for an NAA), lsscsi's `0x…`,
 * and multipath's or scsi_id's 33 digits `3…`.
 */
const LINUX_WWN = /^(?:\/dev\/disk\/by-id\/)?(?:wwn-0x|0x|scsi-3|dm-uuid-mpath-3)([0-9a-f]{32}|[0-9a-f]{16})$|^3([0-9a-f]{32})$/i;
/** A 16-byte id written as a GUID, 8-4-4-4-12 (Windows, some array tools). */
const DASHED_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The id inside the spellings an operator copies from vSphere, an array's tools or a Linux
 * host, or the term as it is: a datastore URL is its `/vmfs/volumes/…` path, a datastore path
 * its label, colon-separated bytes, a GUID's dashes or Linux's WWN names their hex.
 */
function unwrapped(t: string): string {
  const url = DATASTORE_URL.exec(t);
  if (url) return url[1];
  const path = DATASTORE_PATH.exec(t);
  const label = path?.[1].trim();
  if (label) return label;
  if (COLON_BYTES.test(t) || DASHED_GUID.test(t)) return t.replace(/[:-]/g, '');
  const wwn = LINUX_WWN.exec(t);
  if (wwn) return wwn[1] ?? wwn[2];
  return t;
}

/** Quotes around the whole term: a JSON string, a shell word, a quotation in a ticket or chat. */
const QUOTED = /^(["'`\u201c\u2018])(.+)(["'`\u201d\u2019])$/s;
const CLOSING: Record<string, string> = { '"': '"', "'": "'", '`': '`', '\u201c': '\u201d', '\u2018': '\u2019' };

/** The term without the comma after it and the pair of quotes around it that a value copied out of JSON (`"5a1c…",`) or a quoted line carries. */
function unquoted(t: string): string {
  const m = QUOTED.exec(t.replace(/,$/, '').trim());
  return m && CLOSING[m[1]] === m[3] && m[2].trim() ? m[2].trim() : t;
}

function readQuery(term: string): SearchQuery {
  const raw = term;
  if (term.trim().length === 0) throw new FormatError('empty', 'empty search term', { offset: 0 });
  const t = unwrapped(unquoted(term.trim()));
  const lower = t.toLowerCase();
  if (lower.startsWith('vml.')) {
    try {
      const v = parseVml(t);
      return { type: 'vml', raw, vml: v.vml, deviceId: v.deviceId, lun: v.lun };
    } catch {
      return { type: 'text', raw, text: t };
    }
  }
  if (/^(naa|eui|t10|mpx)\./.test(lower)) {
    try {
      return { type: 'deviceId', raw, deviceId: canonicalDeviceId(t) };
    } catch {
      return { type: 'text', raw, text: t };
    }
  }
  if (lower.startsWith('iqn.') && !/\s/.test(t)) return { type: 'iqn', raw, iqn: lower };
  if (t.startsWith('/') && !/\s/.test(t)) {
    const m = ZVOL_PATH.exec(t);
    return { type: 'backingStore', raw, path: t, dataset: m ? m[1].replace(/\/+$/, '') || null : null };
  }
  if (ZFS_NAME.test(t)) {
    const dataset = t.split('@')[0];
    return { type: 'backingStore', raw, path: t, dataset };
  }
  if (/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(t)) return { type: 'vmfsUuid', raw, vmfsUuid: lower };
  if (HEX.test(t) && t.length === 32) {
    return { type: 'hex', raw, hex: lower, vmfsUuid: dashUuid(lower), deviceId: lower[0] === '6' ? 'naa.' + lower : null };
  }
  if (HEX.test(t) && t.length === 16) return { type: 'deviceId', raw, deviceId: 'naa.' + lower };
  const digits = lower.replace(/-/g, '');
  if (digits.length >= 8 && digits.length < 32 && (HEX.test(t) || UUID_PREFIX.test(t))) {
    return { type: 'uuidPrefix', raw, prefix: dashUuid(digits) };
  }
  return { type: 'text', raw, text: t };
}
