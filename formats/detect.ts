/**
 * Names the kind of an artifact: content first (magics, XML roots, listing
 * headers), file name second. Never throws.
 */
import type { ArtifactKind } from './types.js';
import { looksLikeVhSf, looksLikeVmfsHeader, vmfsPartitionOffsets } from './vmfs.js';

/** Text detection looks at this much of the start of a file. */
const TEXT_WINDOW = 64 * 1024;

const latin1 = new TextDecoder('latin1');

/**
 * The collector stores several command outputs in one file, each after a
 * `# vmfs-collector: <command>` line (formats/text.ts): the command names the
 * kind even when every output is empty (no snapshots, `Found 0 LU(s)`).
 */
function collectorSectionKind(text: string): ArtifactKind | null {
  const marker = /^[ \t]*# vmfs-collector:[ \t]*(\S+)([^\r\n]*)/gm;
  for (let m = marker.exec(text); m; m = marker.exec(text)) {
    const program = m[1].split('/').pop()!;
    const rest = m[2];
    if (program === 'svccfg') {
      if (/\biscsitgt\b/.test(rest)) return 'iscsitgt-smf';
      if (/\bstmf\b/.test(rest)) return 'stmf-smf';
    }
    if (program === 'stmfadm' || program === 'sbdadm' || program === 'itadm') return 'comstar-listing';
    if (program === 'esxcli' || program.startsWith('esxcfg-') || program === 'partedUtil' || /esx\.conf/.test(rest)) return 'esx-inventory';
    if (program === 'zfs') return 'zfs-snapshots';
  }
  return null;
}

// Line-start patterns use [ \t]*, never \s*: under /m a \s* run crosses newlines
// and turns a file of blank lines into quadratic work.
function textKind(text: string): ArtifactKind | null {
  if (/<service_bundle[\s>]/.test(text)) {
    // Legacy target: svc:/system/iscsitgt; COMSTAR: svc:/system/stmf (docs/formats.md "SMF exports").
    if (/name=['"](system\/)?iscsitgt['"]/.test(text)) return 'iscsitgt-smf';
    if (/name=['"](system\/)?stmf['"]/.test(text)) return 'stmf-smf';
    if (text.includes('iscsitgt')) return 'iscsitgt-smf';
    if (text.includes('stmf')) return 'stmf-smf';
  }
  const bySection = collectorSectionKind(text);
  if (bySection) return bySection;
  // docs/formats.md "COMSTAR listings": the headers each COMSTAR listing starts its records with.
  if (
    /^[ \t]*LU Name:[ \t]/m.test(text) ||
    /^[ \t]*View Entry:[ \t]*\d/m.test(text) ||
    /^[ \t]*Found \d+ LU\(s\)/m.test(text) ||
    /^[ \t]*TARGET NAME[ \t]+STATE[ \t]+SESSIONS/m.test(text) ||
    /^[ \t]*TARGET PORTAL GROUP[ \t]+PORTAL COUNT/m.test(text)
  ) {
    return 'comstar-listing';
  }
  // docs/formats.md "ESX inventory": esx.conf, esxcfg-vmhbadevs, esxcli tables and device lists, partedUtil.
  if (
    /^[ \t]*\/system\/uuid[ \t]*=/m.test(text) ||
    /^[ \t]*vmhba\d+:\d+:\d+(:\d+)?[ \t]+\/dev\/sd[a-z]+\d*/m.test(text) ||
    (/Volume Name/.test(text) && /VMFS UUID/.test(text) && /Device Name/.test(text)) ||
    (/^[ \t]+Devfs Path:/m.test(text) && /^[ \t]+Display Name:/m.test(text)) ||
    /^(gpt|msdos)\r?\n\d+ \d+ \d+ \d+\r?\n/.test(text)
  ) {
    return 'esx-inventory';
  }
  // docs/formats.md "ZFS snapshots": `zfs list -H -p` rows are TAB-separated name@snap, seconds, bytes.
  if (/^[^\s@]+@[^\s@]+\t\d+\t\d+\r?$/m.test(text)) return 'zfs-snapshots';
  return null;
}

function nameKind(fileName: string): ArtifactKind | null {
  const base = fileName.split(/[\\/]/).pop()!.toLowerCase();
  if (base.includes('undelete')) return 'vmfs-undelete';
  // vmfs-bu style names: `<host>-<uuid>-vh.sf.bu`, `.vh.sf`.
  if (/vh\.sf(\.bu)?$/.test(base)) return 'vh-sf';
  // vmfs-bu's `vmfs-header-backup-sdX.hex` / `part-backup-sdX.hex`, the collector's `vmfs-header-<dev>.bin`.
  if (base.startsWith('vmfs-header') || /^part-backup-.*\.hex$/.test(base) || base.endsWith('.hex')) return 'vmfs-header';
  if (base.endsWith('.xml')) {
    if (base.includes('iscsitgt')) return 'iscsitgt-smf';
    if (base.includes('stmf')) return 'stmf-smf';
  }
  return null;
}

/** Names an artifact's kind from its bytes, then its file name; 'unknown' otherwise. */
export function detect(bytes: Uint8Array, fileName?: string): ArtifactKind {
  try {
    if (looksLikeVmfsHeader(bytes)) return 'vmfs-header';
    if (looksLikeVhSf(bytes)) return 'vh-sf';
    const text = latin1.decode(bytes.subarray(0, TEXT_WINDOW));
    const byText = textKind(text);
    if (byText) return byText;
    // A table naming a VMFS partition whose header the bytes do not reach: a
    // first-sector `part-backup` dump, or a 2 MiB legacy dump of a GPT disk.
    if (vmfsPartitionOffsets(bytes).length > 0) return 'vmfs-header';
    if (fileName) return nameKind(fileName) ?? 'unknown';
    return 'unknown';
  } catch {
    return 'unknown';
  }
}
