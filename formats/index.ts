/**
 * formats/: pure parsers shared by the collector and the catalog.
 * Bytes or text in, a typed result or a FormatError out. No I/O, no globals.
 */
export { FormatError, isFormatError, type FormatErrorCode } from './errors.js';
export * from './types.js';
export * from './protocol.js';
// Binary formats and identifiers.
export { parsePartitionTable, type PartitionTable, type PartitionEntry } from './partition.js';
export {
  parseVmfsHeader,
  parseVhSf,
  planHeaderDump,
  vmfsPartitionOffsets,
  LVM_HEADER_OFFSET,
  formatUuid,
  type VmfsHeaderDetails,
  type HeaderDumpPlan,
  type LvmDeviceHeader,
  type DeviceIdLayout,
  type VmfsHeaderHints,
} from './vmfs.js';
export { canonicalDeviceId, parseVml, buildVml, parseQuery, canonicalVmfsUuid, type SearchQuery } from './ids.js';
// Text formats.
export { parseIscsitgtSmf, parseStmfSmf } from './smf.js';
export { parseComstarListing } from './comstar.js';
export { parseEsxInventory } from './esx.js';
export { parseZfsSnapshots } from './zfs.js';
export { redactSecrets } from './redact.js';
// Dispatch.
export { detect } from './detect.js';
export { parseArtifact, type ParseHints } from './parse.js';
// The text rule every returned string follows.
export { cleanText, cleanDeep } from './text-rule.js';
