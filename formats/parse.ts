/**
 * One entry point from (kind, bytes) to a ParsedArtifact, so the collector's
 * `inspect` and the catalog's ingest parse every artifact the same way.
 */
import { isFormatError, malformed, unrecognized } from './errors.js';
import { detailsOnly, type ArtifactKind, type ParsedArtifact } from './types.js';
import { cleanDeep } from './text-rule.js';
import { parseVmfsHeader, parseVhSf, type VmfsHeaderHints } from './vmfs.js';
import { parseIscsitgtSmf, parseStmfSmf } from './smf.js';
import { parseComstarListing } from './comstar.js';
import { parseEsxInventory } from './esx.js';
import { parseZfsSnapshots } from './zfs.js';

/** vmfs-undelete archives have no public format (docs/formats.md "vmfs-undelete archives"): kept opaque, never parsed. */
function opaqueUndelete(bytes: Uint8Array): ParsedArtifact {
  return detailsOnly('vmfs-undelete', { opaque: true, size: bytes.length });
}

/**
 * The parsers' revision. The catalog stores it with every parse and reuses a parse of the
 * same bytes (and hints) only when it was made at this revision: raise it with any change to
 * what a parser returns for the same input, and the next commit of each artifact parses it
 * afresh (`reindex` re-parses what is already stored).
 */
export const PARSER_VERSION = 1;

/** What the caller knows about where the bytes came from; every field optional. */
export type ParseHints = VmfsHeaderHints;

/** Bounds on what a parse may make, past which it stops with FormatError 'too_large'. */
export interface ParseBounds {
  /** The most heap its outcome may hold, by the catalog's heap model; only listings whose rows can pass it (zfs) count as they go. */
  maxHeapBytes?: number;
}

function dispatch(kind: ArtifactKind, bytes: Uint8Array, hints: ParseHints, bounds: ParseBounds): ParsedArtifact {
  switch (kind) {
    case 'vmfs-header':
      return parseVmfsHeader(bytes, hints);
    case 'vh-sf':
      return parseVhSf(bytes);
    case 'vmfs-undelete':
      return opaqueUndelete(bytes);
    case 'iscsitgt-smf':
      return parseIscsitgtSmf(bytes);
    case 'stmf-smf':
      return parseStmfSmf(bytes);
    case 'comstar-listing':
      return parseComstarListing(bytes);
    case 'esx-inventory':
      return parseEsxInventory(bytes);
    case 'zfs-snapshots':
      return parseZfsSnapshots(bytes, bounds.maxHeapBytes);
    case 'unknown':
      return unrecognized('artifact kind unknown; nothing to parse', { offset: 0 });
    default:
      unrecognized(`no parser for kind ${JSON.stringify(kind)}`, { offset: 0 });
  }
}

/**
 * Parses bytes as the given artifact kind; every failure is a FormatError.
 * Every parser applies the text rule (text-rule.ts) itself; the result is
 * walked once more here so no string leaves formats/ without it.
 */
export function parseArtifact(kind: ArtifactKind, bytes: Uint8Array, hints: ParseHints = {}, bounds: ParseBounds = {}): ParsedArtifact {
  try {
    return cleanDeep(dispatch(kind, bytes, hints, bounds));
  } catch (e) {
    if (isFormatError(e)) throw e;
    malformed(`${kind} parser failed: ${(e as Error)?.message ?? String(e)}`, { offset: 0 });
  }
}
