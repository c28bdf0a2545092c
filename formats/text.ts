/**
 * Shared helpers for the text parsers (SMF XML, COMSTAR listings, ESX inventory,
 * ZFS snapshot lists): decoding with a size bound, line splitting that survives
 * CRLF, the collector's section convention, and identifier normalisation.
 * Everything here is linear in the input: no backtracking-prone regexes.
 */
import { FormatError, isFormatError, malformed, unrecognized } from './errors.js';
import { canonicalDeviceId } from './ids.js';
import { cleanDeep, decodeUtf8 } from './text-rule.js';

/** Largest text listing accepted. Real listings are KB; a 100k-snapshot zfs list is ~10 MB. */
export const MAX_TEXT_BYTES = 32 * 1024 * 1024;
/** Largest SMF export accepted. Real exports are KB–MB. */
export const MAX_XML_BYTES = 16 * 1024 * 1024;

/** The line the collector writes before each command's output when it stores several in one file. */
export const SECTION_MARKER = '# vmfs-collector:';

/** Placeholders stmfadm/sbdadm print instead of a value (stmfadm.c printExtLuProps). */
const PLACEHOLDERS = new Set(['not set', '-', '<error retrieving property>', 'prop unavailable in standby', '<none>', 'unknown', '']);

/**
 * Bytes or text in, text out; refuses oversize input ('too_large') and input
 * holding nothing but whitespace ('empty'). A UTF-8 BOM is dropped; a byte that
 * is not UTF-8 reads `\xNN` (text-rule.ts).
 */
export function decodeInput(input: Uint8Array | string, maxBytes: number, what: string): string {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    unrecognized(`${what}: input is neither text nor bytes`);
  }
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size > maxBytes) {
    throw new FormatError('too_large', `${what}: ${size} bytes is over the ${maxBytes}-byte limit`);
  }
  let text = typeof input === 'string' ? input : decodeUtf8(input);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new FormatError('empty', `${what}: input is empty`);
  return text;
}

/** Split on LF, CRLF or a lone CR; no line keeps its terminator. */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

/** One command's output inside a collector file. `firstLine` is the 1-based line number of `lines[0]`. */
export interface Section {
  /** The command line after `# vmfs-collector:`; null for output with no marker (a bare capture). */
  command: string | null;
  /** 1-based line of the marker, or 0 for the unmarked preamble. */
  markerLine: number;
  firstLine: number;
  lines: string[];
}

/** A listing's sections: `decodeInput` with the text bound, binary input refused ('unrecognized'), then `splitSections`. */
export function textSections(input: Uint8Array | string, what: string): Section[] {
  const text = decodeInput(input, MAX_TEXT_BYTES, what);
  if (looksBinary(text)) unrecognized(`${what}: binary input`);
  return splitSections(splitLines(text));
}

/**
 * Cut the collector's concatenated captures at each `# vmfs-collector: <command>`
 * line. Text before the first marker becomes a section with a null command; it
 * is dropped when it is blank.
 */
export function splitSections(lines: string[]): Section[] {
  const sections: Section[] = [];
  let current: Section = { command: null, markerLine: 0, firstLine: 1, lines: [] };
  // A section's lines are sliced out whole at the next marker, not pushed one by one (a 32 MiB
  // listing of short lines is millions of them, most often in one section).
  const close = (end: number) => {
    current.lines = lines.slice(current.firstLine - 1, end);
    if (current.command !== null || current.lines.some((l) => l.trim() !== '')) sections.push(current);
  };
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i].trimStart();
    if (trimmed.startsWith(SECTION_MARKER)) {
      close(i);
      current = { command: trimmed.slice(SECTION_MARKER.length).trim(), markerLine: i + 1, firstLine: i + 2, lines: [] };
    }
  }
  close(lines.length);
  return sections;
}

/** Split a command line into words (no quoting rules: the collector's commands have none). */
export function commandWords(command: string): string[] {
  return command
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
}

/** Trimmed value, or null for the placeholders stmfadm, sbdadm and itadm print. */
export function valueOrNull(raw: string | undefined | null): string | null {
  if (raw === undefined || raw === null) return null;
  const v = raw.trim();
  return PLACEHOLDERS.has(v.toLowerCase()) ? null : v;
}

/** A non-negative safe integer from decimal digits, else null. */
export function parseCount(raw: string | null | undefined): number | null {
  if (raw === null || raw === undefined) return null;
  const v = raw.trim();
  if (!/^\d{1,16}$/.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

const HEX_RE = /^[0-9a-fA-F]+$/;

/**
 * A device id as `naa.<lower hex>` from an LU GUID as stmfadm (upper case),
 * sbdadm (lower case) or iscsitgt (maybe `0x`-prefixed) print it; null when
 * the text is not 16 or 32 hex digits (ids.ts canonicalDeviceId would throw;
 * these parsers keep going with a null).
 */
export function deviceIdFromGuid(raw: string | null | undefined): string | null {
  if (!raw) return null;
  let v = raw.trim();
  if (/^naa\./i.test(v)) v = v.slice(4);
  else if (/^0x/i.test(v)) v = v.slice(2);
  if ((v.length !== 32 && v.length !== 16) || !HEX_RE.test(v)) return null;
  return canonicalDeviceId(v);
}

/**
 * A device name as ESX prints it, canonical where ids.ts can make it so
 * (`naa.`/`eui.` lower-case); anything else (a `/dev/sdX` path, an odd id)
 * kept as printed.
 */
export function canonicalEsxDevice(raw: string): string {
  const v = raw.trim();
  try {
    return canonicalDeviceId(v);
  } catch (e) {
    if (isFormatError(e)) return v;
    throw e;
  }
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A VMFS (or ESX system) UUID `8-8-4-12` in lower case, or null when it is not one. */
export function canonicalVmfsUuid(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const v = raw.trim();
  return UUID_RE.test(v) ? v.toLowerCase() : null;
}

/** True when the text holds NUL bytes: binary, not a listing. */
export function looksBinary(text: string): boolean {
  const probe = text.length > 65536 ? text.slice(0, 65536) : text;
  return probe.includes('\u0000');
}

/**
 * Run a parser body and let only FormatError out: anything else (a bug, a
 * stack overflow on hostile input) becomes 'malformed'. The result leaves with
 * the text rule applied to every string in it (text-rule.ts).
 */
export function guarded<T>(what: string, body: () => T): T {
  try {
    return cleanDeep(body());
  } catch (e) {
    if (isFormatError(e)) throw e;
    const message = e instanceof Error ? e.message : String(e);
    malformed(`${what}: ${message.slice(0, 200)}`);
  }
}
