/**
 * COMSTAR listings: `stmfadm list-lu -v`, `stmfadm list-view -l <GUID>`,
 * `sbdadm list-lu`, `itadm list-target -v`, `itadm list-tpg -v` (and, when
 * present, `stmfadm list-hg -v` / `list-tg -v` for group members). One bare
 * output, or several stored by the collector as sections introduced by
 * `# vmfs-collector: <command line>`.
 *
 * Layouts follow illumos-gate: stmfadm.c prints properties as `    %-18s: `
 * and view fields as `    %-13s: `; sbdadm.c prints `guid  %-19s  source`;
 * itadm.c prints target rows `%-61s%-9s%-9s` and TAB-indented `%-20s\t`
 * details, TPG rows `%-30s%-9d` and `    portals:\t…`. Lines that fit none of
 * these (stderr mixed in) are skipped.
 */
import { malformed, unrecognized } from './errors.js';
import { detailsOnly, type ParsedArtifact, type TargetLu } from './types.js';
import { commandWords, deviceIdFromGuid, guarded, parseCount, valueOrNull, textSections } from './text.js';

export interface ComstarLu {
  guid: string;
  deviceId: string | null;
  operationalStatus: string | null;
  provider: string | null;
  alias: string | null;
  viewEntryCount: number | null;
  dataFile: string | null;
  metaFile: string | null;
  sizeBytes: number | null;
  blockSize: number | null;
  managementUrl: string | null;
  vendor: string | null;
  product: string | null;
  serial: string | null;
  writeProtect: boolean | null;
  writebackCache: boolean | null;
  accessState: string | null;
}

export interface ComstarView {
  /** From the `-l <GUID>` of the command line; null for a bare list-view output. */
  guid: string | null;
  deviceId: string | null;
  entry: number;
  /** null = All. */
  hostGroup: string | null;
  /** null = All. */
  targetGroup: string | null;
  lun: number | null;
}

export interface ComstarTarget {
  iqn: string;
  state: string | null;
  sessions: number | null;
  alias: string | null;
  auth: string | null;
  /** True when itadm marked the auth method `(defaults)`. */
  authFromDefaults: boolean;
  chapUser: string | null;
  /** Whether a target CHAP secret is configured; the secret itself is never kept. */
  chapSecretSet: boolean | null;
  tpgTags: { tpg: string; tag: number | null }[];
}

export interface ComstarTpg {
  tag: string;
  portalCount: number | null;
  portals: string[];
}

export interface SbdLu {
  guid: string;
  deviceId: string | null;
  sizeBytes: number | null;
  source: string | null;
}

export interface ComstarGroup {
  name: string;
  members: string[];
}

export type ComstarSectionKind = 'list-lu' | 'list-view' | 'sbdadm-list-lu' | 'list-target' | 'list-tpg' | 'list-hg' | 'list-tg';

export interface ComstarDetails {
  [key: string]: unknown;
  sections: { command: string | null; kind: ComstarSectionKind | null; line: number }[];
  lus: ComstarLu[];
  views: ComstarView[];
  targets: ComstarTarget[];
  tpgs: ComstarTpg[];
  sbd: SbdLu[];
  hostGroups: ComstarGroup[];
  targetGroups: ComstarGroup[];
  targetLus: TargetLu[];
  redacted: string[];
}

const GUID32 = /^[0-9a-fA-F]{32}$/;

/** Which listing a collector command line produced, and the LU GUID of a list-view. */
function classifyCommand(command: string): { kind: ComstarSectionKind | null; guid: string | null } {
  const words = commandWords(command).map((w) => w.replace(/^.*\//, ''));
  const tool = words.findIndex((w) => w === 'stmfadm' || w === 'sbdadm' || w === 'itadm');
  if (tool === -1) return { kind: null, guid: null };
  const sub = words[tool + 1] ?? '';
  if (words[tool] === 'sbdadm') return { kind: sub === 'list-lu' ? 'sbdadm-list-lu' : null, guid: null };
  if (words[tool] === 'itadm') {
    if (sub === 'list-target') return { kind: 'list-target', guid: null };
    if (sub === 'list-tpg') return { kind: 'list-tpg', guid: null };
    return { kind: null, guid: null };
  }
  if (sub === 'list-lu') return { kind: 'list-lu', guid: null };
  if (sub === 'list-hg') return { kind: 'list-hg', guid: null };
  if (sub === 'list-tg') return { kind: 'list-tg', guid: null };
  if (sub === 'list-view') {
    let guid: string | null = null;
    for (let i = tool + 2; i < words.length; i++) {
      const w = words[i];
      if ((w === '-l' || w === '--lu-name') && GUID32.test(words[i + 1] ?? '')) guid = words[i + 1];
      else if (w.startsWith('--lu-name=') && GUID32.test(w.slice(10))) guid = w.slice(10);
      else if (w.startsWith('-l') && GUID32.test(w.slice(2))) guid = w.slice(2);
    }
    return { kind: 'list-view', guid: guid ? guid.toUpperCase() : null };
  }
  return { kind: null, guid: null };
}

/** The line that opens each listing; a bare capture is recognised by it. */
function kindOfLine(line: string): ComstarSectionKind | null {
  if (line.startsWith('LU Name:')) return 'list-lu';
  if (line.startsWith('View Entry:')) return 'list-view';
  if (/^Found \d+ LU\(s\)/.test(line) || /^\s*GUID\s+DATA SIZE\s+SOURCE/.test(line)) return 'sbdadm-list-lu';
  if (/^TARGET NAME\s+STATE\s+SESSIONS/.test(line)) return 'list-target';
  if (/^TARGET PORTAL GROUP\s+PORTAL COUNT/.test(line)) return 'list-tpg';
  if (line.startsWith('Host Group:')) return 'list-hg';
  if (line.startsWith('Target Group:')) return 'list-tg';
  return null;
}

/** Split `    Label   : value` at its first colon. */
function labelled(line: string): { label: string; value: string } | null {
  const colon = line.indexOf(':');
  if (colon === -1) return null;
  return { label: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() };
}

function enabled(v: string | null): boolean | null {
  if (v === null) return null;
  const l = v.toLowerCase();
  if (l === 'enabled' || l === 'true') return true;
  if (l === 'disabled' || l === 'false') return false;
  return null;
}

function emptyLu(guid: string): ComstarLu {
  return {
    guid,
    deviceId: deviceIdFromGuid(guid),
    operationalStatus: null,
    provider: null,
    alias: null,
    viewEntryCount: null,
    dataFile: null,
    metaFile: null,
    sizeBytes: null,
    blockSize: null,
    managementUrl: null,
    vendor: null,
    product: null,
    serial: null,
    writeProtect: null,
    writebackCache: null,
    accessState: null,
  };
}

function applyLuProperty(lu: ComstarLu, label: string, raw: string): void {
  const v = valueOrNull(raw);
  switch (label.toLowerCase()) {
    case 'operational status':
      lu.operationalStatus = v;
      break;
    case 'provider name':
      lu.provider = v;
      break;
    case 'alias':
      lu.alias = v;
      break;
    case 'view entry count':
      lu.viewEntryCount = parseCount(v);
      break;
    case 'data file':
      lu.dataFile = v;
      break;
    case 'meta file':
      lu.metaFile = v;
      break;
    case 'size':
      lu.sizeBytes = parseCount(v);
      break;
    case 'block size':
      lu.blockSize = parseCount(v);
      break;
    case 'management url':
      lu.managementUrl = v;
      break;
    case 'vendor id':
      lu.vendor = v;
      break;
    case 'product id':
      lu.product = v;
      break;
    case 'serial num':
      lu.serial = v;
      break;
    case 'write protect':
      lu.writeProtect = enabled(v);
      break;
    case 'writeback cache':
      lu.writebackCache = enabled(v);
      break;
    case 'access state':
      lu.accessState = v;
      break;
    default:
      break;
  }
}

const SECRET_VALUES_NOT_SECRET = new Set(['set', 'unset', '-', '<none>', '']);

/** Parse COMSTAR listings (bare or collector sections) into LUs, views, targets, TPGs and joined TargetLu rows. */
export function parseComstarListing(input: Uint8Array | string): ParsedArtifact {
  return guarded('COMSTAR listing', () => {
    const sections = textSections(input, 'COMSTAR listing');

    const lus = new Map<string, ComstarLu>();
    const views: ComstarView[] = [];
    const targets: ComstarTarget[] = [];
    const tpgs: ComstarTpg[] = [];
    const sbd: SbdLu[] = [];
    const hostGroups: ComstarGroup[] = [];
    const targetGroups: ComstarGroup[] = [];
    const redacted: string[] = [];
    const sectionInfo: ComstarDetails['sections'] = [];
    let recognised = false;

    for (const section of sections) {
      const fromCommand = section.command === null ? { kind: null, guid: null } : classifyCommand(section.command);
      let mode: ComstarSectionKind | null = fromCommand.kind;
      const viewGuid = fromCommand.guid;
      // A marked section for a command we do not read is skipped whole.
      if (section.command !== null && mode === null) {
        sectionInfo.push({ command: section.command, kind: null, line: section.markerLine });
        continue;
      }
      if (mode !== null) recognised = true;
      let firstKind: ComstarSectionKind | null = mode;
      let lu: ComstarLu | null = null;
      let view: ComstarView | null = null;
      let target: ComstarTarget | null = null;
      let tpg: ComstarTpg | null = null;
      let group: ComstarGroup | null = null;

      for (let i = 0; i < section.lines.length; i++) {
        const lineNo = section.firstLine + i;
        const line = section.lines[i].trimEnd();
        if (line.trim() === '') continue;
        const opens = kindOfLine(line);
        if (opens !== null) {
          mode = opens;
          firstKind ??= opens;
          recognised = true;
        }
        if (mode === null) continue;
        const indented = /^\s/.test(line);

        switch (mode) {
          case 'list-lu': {
            if (line.startsWith('LU Name:')) {
              const guid = line.slice('LU Name:'.length).trim();
              if (!GUID32.test(guid)) malformed(`LU Name is not 32 hex digits: ${guid.slice(0, 40)}`, { line: lineNo });
              const key = guid.toUpperCase();
              lu = lus.get(key) ?? emptyLu(key);
              lus.set(key, lu);
            } else if (indented && lu) {
              const kv = labelled(line);
              if (kv) applyLuProperty(lu, kv.label, kv.value);
            }
            break;
          }
          case 'list-view': {
            if (line.startsWith('View Entry:')) {
              const n = line.slice('View Entry:'.length).trim();
              if (!/^\d{1,9}$/.test(n)) malformed(`View Entry is not a number: ${n.slice(0, 40)}`, { line: lineNo });
              view = { guid: viewGuid, deviceId: deviceIdFromGuid(viewGuid), entry: Number(n), hostGroup: null, targetGroup: null, lun: null };
              views.push(view);
            } else if (indented && view) {
              const kv = labelled(line);
              if (!kv) break;
              const label = kv.label.toLowerCase();
              // stmfadm prints `All` for a view open to every host or target.
              if (label === 'host group') view.hostGroup = kv.value === 'All' ? null : valueOrNull(kv.value);
              else if (label === 'target group') view.targetGroup = kv.value === 'All' ? null : valueOrNull(kv.value);
              else if (label === 'lun') view.lun = parseCount(kv.value);
            }
            break;
          }
          case 'sbdadm-list-lu': {
            const head = line.trimStart().slice(0, 32);
            if (!GUID32.test(head)) break;
            const rest = line.trimStart().slice(32).trim();
            const m = /^(\d{1,20})\s+(.*)$/.exec(rest);
            const guid = head.toLowerCase();
            if (m) sbd.push({ guid, deviceId: deviceIdFromGuid(guid), sizeBytes: parseCount(m[1]), source: valueOrNull(m[2]) });
            else sbd.push({ guid, deviceId: deviceIdFromGuid(guid), sizeBytes: parseCount(rest), source: null });
            break;
          }
          case 'list-target': {
            if (/^TARGET NAME\s/.test(line)) break;
            if (!indented) {
              const words = line.split(/\s+/);
              // stderr can land between a row and its details (it is unbuffered): skip it, keep the row open.
              if (!/^(iqn|eui|naa|wwn)\./i.test(words[0])) break;
              target = {
                iqn: words[0],
                state: valueOrNull(words[1] ?? null),
                sessions: parseCount(words[2] ?? null),
                alias: null,
                auth: null,
                authFromDefaults: false,
                chapUser: null,
                chapSecretSet: null,
                tpgTags: [],
              };
              targets.push(target);
            } else if (target) {
              const kv = labelled(line);
              if (!kv) break;
              switch (kv.label.toLowerCase()) {
                case 'alias':
                  target.alias = valueOrNull(kv.value);
                  break;
                case 'auth': {
                  const defaults = kv.value.endsWith('(defaults)');
                  target.authFromDefaults = defaults;
                  target.auth = valueOrNull(defaults ? kv.value.slice(0, -'(defaults)'.length) : kv.value);
                  break;
                }
                case 'targetchapuser':
                  target.chapUser = valueOrNull(kv.value);
                  break;
                case 'targetchapsecret': {
                  // itadm prints set/unset; anything else is a secret that slipped through: name it, drop it.
                  const v = kv.value.toLowerCase();
                  if (v === 'set') target.chapSecretSet = true;
                  else if (v === 'unset') target.chapSecretSet = false;
                  else if (!SECRET_VALUES_NOT_SECRET.has(v)) {
                    target.chapSecretSet = true;
                    redacted.push(`${target.iqn}/targetchapsecret`);
                  }
                  break;
                }
                case 'tpg-tags': {
                  if (kv.value === 'default' || kv.value === '') break;
                  for (const part of kv.value.split(',')) {
                    const eq = part.lastIndexOf('=');
                    const tpgName = (eq === -1 ? part : part.slice(0, eq)).trim();
                    if (tpgName === '') continue;
                    target.tpgTags.push({ tpg: tpgName, tag: eq === -1 ? null : parseCount(part.slice(eq + 1)) });
                  }
                  break;
                }
                default:
                  break;
              }
            }
            break;
          }
          case 'list-tpg': {
            if (/^TARGET PORTAL GROUP\s/.test(line)) break;
            if (!indented) {
              const words = line.split(/\s+/);
              if (words.length < 2 || parseCount(words[1]) === null) break;
              tpg = { tag: words[0], portalCount: parseCount(words[1]), portals: [] };
              tpgs.push(tpg);
            } else if (tpg) {
              const kv = labelled(line);
              if (kv && kv.label.toLowerCase() === 'portals') {
                // The value itself holds colons (ip:port); take everything after the first one.
                tpg.portals =
                  kv.value === '<none>'
                    ? []
                    : kv.value
                        .split(',')
                        .map((p) => p.trim())
                        .filter((p) => p !== '');
              }
            }
            break;
          }
          case 'list-hg':
          case 'list-tg': {
            const isHost = mode === 'list-hg';
            const opener = isHost ? 'Host Group:' : 'Target Group:';
            if (line.startsWith(opener)) {
              group = { name: line.slice(opener.length).trim(), members: [] };
              (isHost ? hostGroups : targetGroups).push(group);
            } else if (indented && group) {
              const kv = labelled(line);
              if (kv && kv.label.toLowerCase() === 'member' && kv.value !== '') group.members.push(kv.value);
            }
            break;
          }
        }
      }
      sectionInfo.push({ command: section.command, kind: firstKind, line: section.command === null ? section.firstLine : section.markerLine });
    }

    if (!recognised) unrecognized('COMSTAR listing: no stmfadm, sbdadm or itadm output found');

    const sbdByDevice = new Map(sbd.map((s) => [s.deviceId, s]));
    const luList = [...lus.values()];
    const luByDevice = new Map(luList.map((l) => [l.deviceId, l]));
    const targetByIqn = new Map(targets.map((t) => [t.iqn, t]));
    const membersOf = (groups: ComstarGroup[], name: string | null): string[] | null => {
      if (name === null) return null;
      const g = groups.find((x) => x.name === name);
      return g ? g.members : null;
    };

    const targetLus: TargetLu[] = [];
    const seen = new Set<string>();
    const push = (row: TargetLu): void => {
      const key = `${row.iqn}|${row.lun}|${row.deviceId}|${row.acl.join(',')}`;
      if (seen.has(key)) return;
      seen.add(key);
      targetLus.push(row);
    };
    const deviceIds = new Set<string | null>([...luList.map((l) => l.deviceId), ...sbd.map((s) => s.deviceId), ...views.map((v) => v.deviceId)]);
    for (const deviceId of deviceIds) {
      if (deviceId === null) continue;
      const lu = luByDevice.get(deviceId);
      const s = sbdByDevice.get(deviceId);
      const backingStore = lu?.dataFile ?? s?.source ?? null;
      const sizeBytes = lu?.sizeBytes ?? s?.sizeBytes ?? null;
      const own = views.filter((v) => v.deviceId === deviceId);
      if (own.length === 0) {
        push({ stack: 'comstar', iqn: null, alias: null, lun: null, deviceId, backingStore, sizeBytes, tpgs: [], acl: [] });
        continue;
      }
      for (const v of own) {
        const acl = v.hostGroup === null ? [] : (membersOf(hostGroups, v.hostGroup) ?? []);
        // Target group All → no IQN; a named group → its members when list-tg was captured, else unknown (null).
        const members = membersOf(targetGroups, v.targetGroup);
        const iqns: (string | null)[] = v.targetGroup === null || members === null ? [null] : members;
        for (const iqn of iqns) {
          const t = iqn === null ? undefined : targetByIqn.get(iqn);
          push({
            stack: 'comstar',
            iqn,
            alias: t?.alias ?? null,
            lun: v.lun,
            deviceId,
            backingStore,
            sizeBytes,
            tpgs: t ? t.tpgTags.map((x) => x.tpg) : [],
            acl: [...acl],
          });
        }
      }
    }

    const details: ComstarDetails = {
      sections: sectionInfo,
      lus: luList,
      views,
      targets,
      tpgs,
      sbd,
      hostGroups,
      targetGroups,
      targetLus,
      redacted: [...new Set(redacted)],
    };
    return detailsOnly('comstar-listing', details);
  });
}
