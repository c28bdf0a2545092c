/**
 * The DR plan for one volume, as a pure function: from the VMFS UUID's extents (the
 * device ids and LUNs written in their LVM headers) to the LU that presents each device
 * on a storage host, its backing zvol and that zvol's snapshots, and from there to the
 * storage commands, in the order to run them, that bring the LUN back with the NAA the
 * VMFS header expects. The caller gathers the catalog rows (api/dr/gather.ts); this
 * module only decides and renders, so every branch is tested by tables.
 *
 * Command facts, from the tools' own sources and manuals:
 * - legacy iscsitgt keeps its whole configuration in the SMF service `iscsitgt`
 *   (illumos-gate `usr/src/cmd/iscsi/iscsitgtd/`): `svccfg import` of a saved export
 *   brings it back; an LU's zvol is the `backing-store` property of group
 *   `param_<target>_<lun>`; TPGTs and initiators are `iscsitadm` objects.
 * - COMSTAR (`stmfadm(8)`, `itadm(8)`, `sbdadm(8)`; illumos-gate `usr/src/man/man8/`,
 *   `usr/src/cmd/stmfadm/stmfadm.c`): `import-lu` re-registers a zvol that still holds its
 *   LU metadata, with its GUID, block size, alias and cache setting, so it comes first;
 *   `create-lu -p guid=<32 hex>` gives a new LU the GUID we saved (ESX then reports
 *   `naa.<guid>`), and takes one `-p prop=value` per property: `blk` (default 512) and
 *   `guid` only at creation, `alias` and `wcd` (write-back cache disable) also later.
 *   stmfadm splits each `-p` argument with strtok at every `=`, so a value holding `=`
 *   cannot be passed. Views map the LU to a LUN number per host/target group; a view with
 *   no target group reaches the LU through every target. `itadm create-tpg <name> <portal>…`
 *   and `create-target -n <iqn> -l <alias> -t <tpg>[,<tpg>]`; a target on the `default`
 *   portal group listens on every address, port 3260.
 * - ESX treats a LUN whose device id differs from the one in its VMFS header as a
 *   snapshot LUN (VMware KB 1011387): it mounts only after a resignature, which gives
 *   the volume a new VMFS UUID.
 */
import { shellWord, visible } from '../../formats/printable.js';
import { encodePgName } from '../../formats/smf.js';
import { datasetOfBackingStore } from '../../formats/zfs.js';
import { sourceCommand } from '../bundle/restore-script.js';

/** An artifact a step comes from, named as it appears in the restore bundle. */
export interface PlanSource {
  artifactId: string;
  kind: string;
  host: string;
  fileName: string;
  collectedAt: string;
  /** Path inside the restore bundle, when the bundle carries the artifact. */
  bundlePath: string | null;
}

export interface PlanExtent {
  deviceId: string;
  lun: number | null;
  vml: string | null;
  host: string;
  source: PlanSource;
  /**
   * The restore extent is disputed (api/bundle/extents.ts): its hosts' newest header dumps
   * of the device disagree on its partition table. The plan's storage steps do not depend on
   * the table, so they stand; the NAA check says restore.sh will not write it unpicked, and
   * gives the line that picks each host. Null or absent: no dispute.
   */
  dispute?: PlanDispute | null;
}

/** A disputed extent as the plan names it. */
export interface PlanDispute {
  /** The extent's number in the restore bundle: the N of restore.sh's `--source N=HOST`. */
  extent: number;
  /** Each host whose dump is a candidate, newest dump first, with the LUN that dump reports. */
  candidates: Array<{ host: string; lun: number | null }>;
}

export interface PlanGroup {
  name: string;
  members: string[];
}

/** A COMSTAR iSCSI target that reaches the LU, as `itadm list-target -v` showed it. */
export interface PlanTarget {
  iqn: string;
  alias: string | null;
  /** Names of the portal groups it is bound to; empty: the `default` group. */
  tpgs: string[];
}

export interface PlanLu {
  stack: 'iscsitgt' | 'comstar';
  storageHost: string;
  /** `naa.<32 lower hex>`: the GUID the target presents. */
  deviceId: string;
  lun: number | null;
  iqn: string | null;
  alias: string | null;
  backingStore: string | null;
  sizeBytes: number | null;
  /**
   * iscsitgt: the export shows the service disabled (formats/smf.ts `enabled`). A host moved to
   * COMSTAR still exports its old iscsitgt configuration: the LU it serves is COMSTAR's.
   */
  serviceDisabled?: boolean;
  /**
   * iscsitgt: the export's `enabled` as parsed (formats/smf.ts): true or false; null when the
   * export names no instance; absent when the capture was parsed before the catalog read it
   * (`catalog reindex` reads it).
   */
  serviceEnabled?: boolean | null;
  /** iscsitgt: the target's local name (`target_<name>` group); needed for `param_<name>_<lun>`. */
  targetName?: string | null;
  /** iscsitgt: TPGT tags and their addresses; COMSTAR: TPG tags and portals. */
  portalGroups: { tag: string; addresses: string[] }[];
  /** Initiators allowed: iscsitgt local name → IQN; COMSTAR: host group members. */
  initiators: { name: string; iqn: string }[];
  /** COMSTAR view groups (null = All). */
  hostGroup?: PlanGroup | null;
  targetGroup?: PlanGroup | null;
  /** Whether the capture shows CHAP configured (secrets are never kept). */
  chap: boolean;
  /**
   * iscsitgt, CHAP configured: every initiator the export defines, on the target's ACL or not
   * (the passwords group may hold a secret for each) — each secret is set again. Absent: the ACL's.
   */
  chapInitiators?: string[];
  /**
   * COMSTAR: the iSCSI targets the LU's view reaches — the view's target group's members, or,
   * for a view to All targets, every target `itadm list-target` showed. Absent: only `iqn`.
   */
  targets?: PlanTarget[];
  /** COMSTAR: portal groups captured on the host that none of `targets` is bound to. */
  unboundPortalGroups?: { tag: string; addresses: string[] }[];
  /** COMSTAR LU properties from `stmfadm list-lu -v`, which create-lu would otherwise default. */
  luAlias?: string | null;
  blockSize?: number | null;
  writebackCacheDisabled?: boolean | null;
  source: PlanSource;
  /** Other captures of the same LU whose fields filled gaps in this one (see luFor). */
  alsoFrom?: PlanSource[];
}

export interface PlanSnapshot {
  host: string;
  dataset: string;
  snapshot: string;
  createdAt: string;
  source: PlanSource;
}

export interface DrPlanInput {
  vmfsUuid: string;
  label: string | null;
  /** The point in time asked for (ISO), or null for "latest". */
  at: string | null;
  extents: PlanExtent[];
  lus: PlanLu[];
  snapshots: PlanSnapshot[];
  /**
   * LUs in `lus` taken from a storage capture after the time asked for, as no capture at or
   * before it presents their device (api/dr/later-storage.ts). Absent or empty: none.
   */
  storageFactsFrom?: Omit<StorageFactsFrom, 'message'>[];
}

/** A storage host whose facts for a device come from a capture after the time the plan was asked for. */
export interface StorageFactsFrom {
  storageHost: string;
  deviceId: string;
  /** The host's first capture after `requestedAt` that presents the device (ISO 8601): the LU facts are from it. */
  collectedAt: string;
  requestedAt: string;
  /** The host was captured at or before `requestedAt` too, without presenting the device. */
  capturedBefore: boolean;
  /**
   * That capture's storage artifacts (SMF exports, COMSTAR listings) the steps read: a bundle
   * of the requested time does not carry them; /v1/artifacts/{id}/content downloads each.
   */
  artifactIds: string[];
  /** One sentence for the plan's reader. */
  message: string;
}

/**
 * The sentence a plan gives a storage host whose facts are from after the time asked for.
 * `files`: the saved files of that capture the steps read by their bare name (a bundle of the
 * requested time does not carry them), each with the download that puts it there.
 */
function storageFactsMessage(f: Omit<StorageFactsFrom, 'message'>, files: PlanSource[]): string {
  const first = f.capturedBefore
    ? `storage host ${f.storageHost}'s captures at or before the requested time ${f.requestedAt} do not present ${f.deviceId}; the first that does is of ${f.collectedAt}`
    : `storage host ${f.storageHost} first captured at ${f.collectedAt}, after the requested time ${f.requestedAt}`;
  return (
    `${first}: its facts for ${f.deviceId} (LU, GUID, LUN, target, backing store) are from then, not from the requested time — ` +
    'check no LU was re-created or re-numbered in between before running the steps; a snapshot is still cloned only if one taken at or before the requested time was captured' +
    (f.artifactIds.length
      ? `; the saved configuration is artifact ${f.artifactIds.join(', ')} (GET /v1/artifacts/{id}/content), not in a bundle of the requested time` +
        files.map((s) => `; the steps read it as ${s.fileName}: fetch it there first, ${fetchCommand(s)}`).join('') +
        '.'
      : '.')
  );
}

/**
 * The download of a saved file a step reads by its bare name, as an operator runs it beside the
 * plan: the catalog's address and an operator token are the operator's, named as variables; one
 * left unset stops it with the shell saying which to set (`${VAR:?…}`), not a curl error. -L: on
 * AWS Lambda a large artifact is a 302 to a presigned GET in the bucket (api/routes/artifacts.ts).
 * curl sends a -H Authorization to the redirect's target only on the same host and port (7.58
 * onwards; port and scheme since 7.83), so the bearer token stays with the catalog — S3 refuses a
 * presigned GET that carries a second authorization.
 */
function fetchCommand(s: PlanSource): string {
  return (
    `curl -fLo ${shellWord(s.fileName)} -H "Authorization: Bearer \${TOKEN:?set TOKEN to an operator token}" ` +
    `"\${CATALOG_URL:?set CATALOG_URL to the catalog address}/v1/artifacts/${encodeURIComponent(s.artifactId)}/content"`
  );
}

export interface PlanStep {
  /** 1-based, in the order to run. */
  n: number;
  stage: 'storage' | 'zfs' | 'esx';
  title: string;
  /** Shell commands, arguments quoted; empty for a step that is a check to read. */
  commands: string[];
  /** Why, and when to skip. */
  note: string | null;
  from: PlanSource[];
}

export type NaaVerdict = 'match' | 'mismatch' | 'no-lu';

export interface NaaCheck {
  deviceId: string;
  /** What the saved VMFS header expects. */
  headerDeviceId: string;
  /** What the captured LU presents (null: no captured LU presents it). */
  luDeviceId: string | null;
  verdict: NaaVerdict;
  /** The step that makes the target present the header's id. */
  guaranteedBy: string | null;
  headerLun: number | null;
  luLun: number | null;
  /** The LU's LUN differs from the one in the header: ESX would see a snapshot LUN. */
  lunMismatch: boolean;
  /** What checks the id once more on the night, before anything is written. */
  checkedBy: string;
  message: string;
  /**
   * The extent is disputed: for each candidate host (newest dump first) the LUN its dump
   * reports and the restore.sh line that restores the table from its dump. Null: no dispute.
   */
  dispute: { extent: number; candidates: Array<{ host: string; lun: number | null; command: string }> } | null;
  /**
   * More than one storage host's captures present this id (a LU moved or replicated, a stale
   * export sent again, or a collector sending another host's configuration): each host, newest
   * capture first. The steps follow the first; the plan is then not complete. Absent: one host.
   */
  presenters?: Array<{ host: string; stack: PlanLu['stack']; collectedAt: string }>;
}

/** The restore script's own guard, the same for every extent. */
const RESTORE_CHECK = (deviceId: string) =>
  `restore.sh --apply reads the LVM header on the device it is about to write and refuses unless it names ${deviceId}`;

/**
 * The NAA check's sentences on a disputed extent ('' when there is no dispute). The extent's
 * LUN is its newest dump's (`ext.host`'s); when the candidates' dumps report different LUNs,
 * each is named.
 */
function disputeNote(ext: PlanExtent): string {
  const d = ext.dispute;
  if (!d?.candidates.length) return '';
  const lunOf = (lun: number | null) => (lun === null ? 'no LUN' : `LUN ${lun}`);
  const luns =
    new Set(d.candidates.map((c) => c.lun)).size > 1
      ? ` Their dumps report different LUNs (${d.candidates.map((c) => `${c.host}: ${lunOf(c.lun)}`).join(', ')}); ` +
        `the LUN above is from ${ext.host}'s dump, the newest.`
      : '';
  return (
    ` The header dumps of ${ext.deviceId} from ${d.candidates.map((c) => c.host).join(', ')} disagree on its partition table: ` +
    `restore.sh --apply writes no table to it until --source ${d.extent}=HOST picks the host whose dump is right ` +
    `(RESTORE.md shows each dump); the line for each host follows.${luns}`
  );
}

/** The NAA check's account of a disputed extent: each candidate with the restore.sh line that picks it. */
function disputeOf(ext: PlanExtent): NaaCheck['dispute'] {
  const d = ext.dispute;
  if (!d?.candidates.length) return null;
  return { extent: d.extent, candidates: d.candidates.map((c) => ({ ...c, command: sourceCommand(d.extent, c.host) })) };
}

export interface MissingLink {
  link: 'extent' | 'storage-lu' | 'backing-store' | 'snapshots';
  deviceId: string | null;
  message: string;
  /** Which collector run would provide it. */
  collector: string;
}

export interface DrPlan {
  vmfsUuid: string;
  label: string | null;
  at: string | null;
  complete: boolean;
  naaChecks: NaaCheck[];
  missing: MissingLink[];
  /** Storage hosts whose facts come from a capture after `at` (the first that presents the device); empty: none. */
  storageFactsFrom: StorageFactsFrom[];
  steps: PlanStep[];
}

/**
 * POSIX single-quote quoting: safe to paste into sh, dash, ksh, bash and busybox sh.
 * Control characters (a newline in a collector-supplied name) become `?`, so every command
 * stays one line an operator can copy alone; no real IQN, zvol or group name holds one.
 */
export function shellQuote(arg: string): string {
  return shellWord(arg.replace(/[\u0000-\u001f\u007f]/g, '?'));
}

/** One command line from its words, each quoted. */
export function command(...words: string[]): string {
  return words.map(shellQuote).join(' ');
}

/** `naa.600144f0…` → the 32 upper-case hex digits stmfadm takes as a GUID; null for other ids. */
export function guidOf(deviceId: string): string | null {
  const m = /^naa\.([0-9a-f]{32})$/i.exec(deviceId);
  return m ? m[1].toUpperCase() : null;
}

/**
 * The snapshot to clone for a point in time: the newest of `host`'s snapshots of `dataset` taken
 * at or before `at` (the newest of all without). Only the storage host that presents the LU: pool
 * and dataset names repeat across hosts (`tank/iscsi/vol1` on two arrays), and another host's
 * snapshot cannot be cloned where the LU lives.
 */
export function chooseSnapshot(snapshots: PlanSnapshot[], dataset: string, at: string | null, host: string): PlanSnapshot | null {
  const limit = at ? Date.parse(at) : Infinity;
  let best: PlanSnapshot | null = null;
  for (const s of snapshots) {
    if (s.dataset !== dataset || s.host.toLowerCase() !== host.toLowerCase()) continue;
    const t = Date.parse(s.createdAt);
    if (t > limit) continue;
    if (!best || t > Date.parse(best.createdAt) || (t === Date.parse(best.createdAt) && s.snapshot > best.snapshot)) best = s;
  }
  return best;
}

/** A clone name that says what it is and when: `<last path part>-<snapshot>`, safe as a dataset name. */
function cloneName(dataset: string, snapshot: string): string {
  const base = dataset.split('/').pop() ?? dataset;
  return `${base}-${snapshot}`.replace(/[^A-Za-z0-9_.:-]/g, '_');
}

/** The saved file's path for a command: the bundle path when the bundle carries it. */
function savedFile(source: PlanSource): string {
  return source.bundlePath ?? source.fileName;
}

function describeSource(s: PlanSource): string {
  return `${s.kind} ${s.fileName} from ${s.host} at ${s.collectedAt}`;
}

/** The LU to rebuild for a device: an exact GUID match first, newest capture first. */
/**
 * The LU to rebuild for a device: the newest capture that presents its GUID, preferring one
 * that names the backing store. A COMSTAR host is seen through several artifacts of one
 * capture — the stmf SMF export (views and groups; its LU data files are opaque provider
 * data) and the stmfadm/itadm listings (data file, target, portals) — so the gaps of the
 * chosen row are filled from the other rows of the same storage host and stack.
 */
function luFor(lus: PlanLu[], deviceId: string): PlanLu | null {
  // Of one capture's rows: COMSTAR or an enabled iscsitgt first, then an iscsitgt export whose
  // state is not known (a host moved to COMSTAR still exports its old one), a disabled one last.
  const stackRank = (l: PlanLu) => (l.serviceDisabled ? 2 : stateUnknown(l) ? 1 : 0);
  const matches = lus.filter((l) => l.deviceId.toLowerCase() === deviceId.toLowerCase());
  matches.sort(
    (a, b) =>
      Date.parse(b.source.collectedAt) - Date.parse(a.source.collectedAt) ||
      stackRank(a) - stackRank(b) ||
      Number(b.backingStore !== null) - Number(a.backingStore !== null),
  );
  if (!matches.length) return null;
  const lu: PlanLu = { ...matches[0], alsoFrom: [] };
  for (const m of matches.slice(1)) {
    if (m.storageHost !== lu.storageHost || m.stack !== lu.stack || (lu.lun !== null && m.lun !== null && m.lun !== lu.lun)) continue;
    const before = JSON.stringify(lu);
    lu.backingStore ??= m.backingStore;
    lu.iqn ??= m.iqn;
    lu.alias ??= m.alias;
    lu.lun ??= m.lun;
    lu.sizeBytes ??= m.sizeBytes;
    lu.targetName ??= m.targetName;
    lu.hostGroup ??= m.hostGroup;
    lu.targetGroup ??= m.targetGroup;
    if (!lu.portalGroups.length) lu.portalGroups = m.portalGroups;
    if (!lu.initiators.length) lu.initiators = m.initiators;
    lu.chap ||= m.chap;
    if (!lu.chapInitiators?.length && m.chapInitiators?.length) lu.chapInitiators = m.chapInitiators;
    if (!lu.targets?.length && m.targets?.length) lu.targets = m.targets;
    if (!lu.unboundPortalGroups?.length && m.unboundPortalGroups?.length) lu.unboundPortalGroups = m.unboundPortalGroups;
    lu.luAlias ??= m.luAlias;
    lu.blockSize ??= m.blockSize;
    lu.writebackCacheDisabled ??= m.writebackCacheDisabled;
    if (JSON.stringify(lu) !== before && m.source.artifactId !== lu.source.artifactId) lu.alsoFrom!.push(m.source);
  }
  return lu;
}

/** Each storage host whose captures present `deviceId`, with its newest such capture's stack and time, newest first. */
function presentersOf(lus: PlanLu[], deviceId: string): Array<{ host: string; stack: PlanLu['stack']; collectedAt: string }> {
  const byHost = new Map<string, { host: string; stack: PlanLu['stack']; collectedAt: string }>();
  for (const l of lus) {
    if (l.deviceId.toLowerCase() !== deviceId.toLowerCase()) continue;
    const prev = byHost.get(l.storageHost);
    if (!prev || Date.parse(l.source.collectedAt) > Date.parse(prev.collectedAt))
      byHost.set(l.storageHost, { host: l.storageHost, stack: l.stack, collectedAt: l.source.collectedAt });
  }
  return [...byHost.values()].sort((a, b) => Date.parse(b.collectedAt) - Date.parse(a.collectedAt));
}

/** The captures a step of this LU comes from. */
function sourcesOf(lu: PlanLu): PlanSource[] {
  return [lu.source, ...(lu.alsoFrom ?? [])];
}

/**
 * A value as svccfg's own command line reads it: svccfg joins its arguments and splits them
 * again, so a path holding a blank needs svccfg's double quotes, inside which `\` and `"` are
 * escaped with `\` (Oracle Solaris "Managing System Services", svccfg setprop: "Setting a Value
 * that Contains Embedded Spaces"). A value of path characters only is left bare, as svccfg reads
 * it the same; the shell quoting goes around either.
 */
export function svccfgString(value: string): string {
  return /^[\w/.:@+,%-]+$/.test(value) ? value : `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/** One LU of an iscsitgt export the plan brings back: the clone to back it with, the LUN the VMFS header expects. */
interface IscsitgtEntry {
  lu: PlanLu;
  clonePath: string | null;
  /** The header's LUN, else the saved one. */
  lun: number | null;
}

/** A property group name that sed and svccfg take as written: what encodePgName makes of an iscsitgtd name. */
const PLAIN_PG = /^[A-Za-z0-9_-]+$/;

/**
 * The steps that bring back one saved iscsitgt export and the LUs of it the plan needs, once
 * per export: `svccfg delete` replaces the whole configuration, so a second import for a second
 * LU of the same host would undo what the steps did for the first (its clone's backing store).
 *
 * An LU whose saved LUN is not the one its VMFS header expects is moved there in the repository
 * before the daemon starts, so it keeps its GUID: the copy of the export imported has its
 * `param_<target>_<lun>` group renamed (iscsitgtd reads the LUN from the group's name,
 * mgmt_scf.c `mgmt_param_save2scf`) and the target's `lun-list` trades the old number for the
 * new (svccfg(8) delpropvalue, addpropvalue). Re-creating the LU at the new LUN with iscsitadm
 * instead would give it a new GUID: a new LU's parameters start with guid 0 and it is given
 * one when it first comes online (mgmt_create.c `create_lun`), so ESX would see another device.
 */
function stepsForIscsitgt(entries: IscsitgtEntry[]): Omit<PlanStep, 'n'>[] {
  const steps: Omit<PlanStep, 'n'>[] = [];
  const first = entries[0].lu;
  const from = [...new Map(entries.flatMap((e) => sourcesOf(e.lu)).map((s) => [s.artifactId, s])).values()];
  const saved = savedFile(first.source);
  const moves: Array<{ target: string; from: number; to: number; group: string; newGroup: string }> = [];
  const byHand: string[] = [];
  for (const { lu, lun } of entries) {
    if (lu.targetName === null || lu.targetName === undefined || lu.lun === null || lun === null || lun === lu.lun) continue;
    const group = encodePgName(`param_${lu.targetName}_${lu.lun}`);
    const newGroup = encodePgName(`param_${lu.targetName}_${lun}`);
    const targetGroup = encodePgName(`target_${lu.targetName}`);
    if (PLAIN_PG.test(targetGroup)) moves.push({ target: lu.targetName, from: lu.lun, to: lun, group, newGroup });
    else
      byHand.push(
        `LUN ${lu.lun} of target ${JSON.stringify(lu.targetName)} must become LUN ${lun} (its name is not one sed and svccfg take as written: rename group ${JSON.stringify(group)} and its lun-list value by hand)`,
      );
  }
  const lunFile = moves.length ? saved.replace(/(\.xml)?$/i, `.lun${moves.map((m) => m.to).join('-')}.xml`) : saved;
  // The delete, and the lun-list trades after the import, run only where the export they follow
  // is: the plan is also read from the API, away from the bundle, and pasted there a bare delete
  // removed the whole configuration while the import after it found no file. grep names a file
  // that is not there; an empty one (a sed that failed into its redirect) fails it quietly after
  // sed's own message. No -q: Solaris 10's /usr/bin/grep, where iscsitgt runs, has none.
  const ifHere = (file: string, line: string) => `grep iscsitgt ${shellQuote(file)} >/dev/null && ${line}`;
  const commands = [command('svcadm', 'disable', 'iscsitgt'), ifHere(saved, command('svccfg', 'delete', 'iscsitgt'))];
  if (moves.length) {
    // One sed for every move, so each group is renamed once from the saved names (svccfg export quotes with ' or ").
    const script = moves.flatMap((m) => ['-e', `s/name=\\(["']\\)${m.group}\\1/name=\\1${m.newGroup}\\1/`]);
    commands.push(`${command('sed', ...script, saved)} > ${shellQuote(lunFile)}`);
  }
  commands.push(command('svccfg', 'import', lunFile));
  for (const m of moves) {
    const list = `${encodePgName(`target_${m.target}`)}/lun-list`;
    commands.push(
      ifHere(lunFile, command('svccfg', '-s', 'iscsitgt', 'delpropvalue', list, String(m.from))),
      ifHere(lunFile, command('svccfg', '-s', 'iscsitgt', 'addpropvalue', list, String(m.to))),
    );
  }
  const lunNote = moves.length
    ? ` The VMFS header expects ${moves.map((m) => `LUN ${m.to} where target ${m.target} had LUN ${m.from}`).join('; ')}: the import takes a copy of the export (${lunFile}) ` +
      `whose parameter group is renamed to the new LUN (${moves.map((m) => `${m.group} → ${m.newGroup}`).join(', ')}), and the target's lun-list trades the old number for the new, ` +
      'so the LU keeps its GUID; otherwise ESX sees a snapshot LUN. Do not re-create it with iscsitadm create target -u instead: a new LU gets a new GUID when it first comes online. ' +
      `If the target's saved lun-list already holds ${moves.map((m) => m.to).join(' or ')}, another LU has that LUN: move that one first.` +
      (moves.some((m) => m.from === 0)
        ? ' iscsitgtd wants LUN 0 to be the first LU of a target made and the last removed: a target left without LUN 0 may need another LU moved to 0.'
        : '')
    : '';
  steps.push({
    stage: 'storage',
    title: `Restore the iscsitgt configuration on ${first.storageHost}`,
    commands,
    note:
      'svccfg delete replaces the whole target configuration: run it only when the saved export is to become the whole configuration ' +
      '(a rebuilt or DR storage host); to add this target to a running configuration, skip it. Secrets are never uploaded: the saved ' +
      "export's `passwords` group holds the placeholder REDACTED where each CHAP or RADIUS secret was, and the import sets it" +
      (entries.some((e) => e.lu.chap)
        ? ' (the CHAP step below sets them again).'
        : '; set any secret the target used again (iscsitadm modify admin -C / -R).') +
      lunNote +
      (byHand.length ? ` Left out: ${byHand.join('; ')}.` : ''),
    from,
  });
  for (const { lu, clonePath, lun } of entries) {
    const target = lu.targetName ?? null;
    if (target === null || lu.lun === null) continue;
    // The group as the steps above left it: renamed to the header's LUN when it was moved.
    const at = moves.some((m) => m.target === target && m.from === lu.lun) ? (lun ?? lu.lun) : lu.lun;
    const newPath = clonePath ?? lu.backingStore ?? '<new backing store>';
    steps.push({
      stage: 'storage',
      title: `Point LUN ${at} of target ${target} at ${clonePath ? 'the clone' : 'the DR path'}`,
      commands: [
        command('svccfg', '-s', 'iscsitgt', 'setprop', `${encodePgName(`param_${target}_${at}`)}/backing-store`, '=', 'astring:', svccfgString(newPath)),
        command('svcadm', 'refresh', 'iscsitgt'),
      ],
      note: clonePath
        ? 'Tests the point in time on a clone; replication to the original zvol is not touched.'
        : `Only when the DR pool or path differs from the saved ${lu.backingStore ?? '(unknown)'}; otherwise skip.`,
      from: sourcesOf(lu),
    });
  }
  steps.push({ stage: 'storage', title: 'Start the target', commands: [command('svcadm', 'enable', 'iscsitgt')], note: null, from });
  const fix: string[] = [];
  for (const { lu } of entries) {
    const target = lu.targetName ?? null;
    for (const g of lu.portalGroups) {
      fix.push(command('iscsitadm', 'create', 'tpgt', g.tag));
      for (const a of g.addresses) fix.push(command('iscsitadm', 'modify', 'tpgt', '-i', a, g.tag));
      if (target) fix.push(command('iscsitadm', 'modify', 'target', '-p', g.tag, target));
    }
    for (const i of lu.initiators) {
      fix.push(command('iscsitadm', 'create', 'initiator', '-n', i.iqn, i.name));
      if (target) fix.push(command('iscsitadm', 'modify', 'target', '-l', i.name, target));
    }
  }
  if (fix.length) {
    steps.push({
      stage: 'storage',
      title: 'Re-create portal groups and the ACL when addresses or initiators differ',
      commands: [...new Set(fix)],
      note: "Only when the DR site's addresses or initiators differ from the saved ones (the import restored the saved ones).",
      from,
    });
  }
  const chap = entries.filter((e) => e.lu.chap);
  if (chap.length) {
    steps.push({
      stage: 'storage',
      title: 'Set the CHAP secrets again (not optional)',
      commands: [
        command('iscsitadm', 'modify', 'admin', '-C'),
        ...[...new Set(chap.flatMap(({ lu }) => [...lu.initiators.map((i) => i.name), ...(lu.chapInitiators ?? [])]))].map((name) =>
          command('iscsitadm', 'modify', 'initiator', '-C', name),
        ),
      ],
      note:
        'CHAP was configured. The import set each secret to the placeholder REDACTED (secrets are never uploaded), so CHAP logins fail ' +
        'until each is set again; -C prompts for it. Skip the admin line if the target had no secret of its own, and an initiator line for an initiator that had none; a RADIUS secret: iscsitadm modify admin -R.',
      from,
    });
  }
  return steps;
}

/**
 * The LU properties create-lu is given besides the GUID: the captured block size, write-back
 * cache disabled, alias. An alias stmfadm cannot take back as it was (empty, holding `=` or a
 * control character, longer than 255) is left out and named in `left`.
 */
function luProps(lu: PlanLu): { props: string[]; left: string[] } {
  const props: string[] = [];
  const left: string[] = [];
  if (lu.blockSize) props.push(`blk=${lu.blockSize}`);
  if (lu.writebackCacheDisabled === true) props.push('wcd=true');
  const alias = lu.luAlias ?? null;
  if (alias !== null) {
    if (alias !== '' && alias.length <= 255 && !/[=\u0000-\u001f\u007f]/.test(alias)) props.push(`alias=${alias}`);
    else left.push(`the LU alias ${JSON.stringify(alias)} (stmfadm splits -p at each '=' and takes at most 255 printable characters)`);
  }
  return { props, left };
}

/** iSCSI target names itadm creates (IQN or EUI); target group members may also be FC ports, which it does not. */
const ISCSI_NAME = /^(iqn\.|eui\.)/i;

function stepsForComstar(lu: PlanLu, headerDeviceId: string, clonePath: string | null, headerLun: number | null = null): Omit<PlanStep, 'n'>[] {
  const steps: Omit<PlanStep, 'n'>[] = [];
  const guid = guidOf(headerDeviceId) ?? guidOf(lu.deviceId) ?? lu.deviceId;
  const zvol = clonePath ?? lu.backingStore ?? '<zvol>';
  const { props, left } = luProps(lu);
  const create = command('stmfadm', 'create-lu', ...['-p', `guid=${guid}`], ...props.flatMap((p) => ['-p', p]), zvol);
  if (clonePath) {
    // A clone carries the original zvol's LU metadata: on the host still serving the LU, its GUID is taken.
    steps.push({
      stage: 'storage',
      title: `Only if ${lu.storageHost} still serves LU ${guid}: take it off, keeping its views`,
      commands: [command('stmfadm', 'list-lu', '-v', guid), command('stmfadm', 'delete-lu', '-k', guid)],
      note:
        `Run delete-lu only when list-lu shows ${guid} (this host still serves it, from ${lu.backingStore ?? 'the original zvol'}). ` +
        'The clone holds the same LU metadata, so while that LU is registered both import-lu and create-lu below fail (the GUID is in use). ' +
        'delete-lu deregisters the LU and leaves its data intact; -k keeps its views, so the clone is reached through them (the add-view step then ' +
        `reports they exist: skip it). ESX hosts lose the LU until the next step. To go back to the original later: ` +
        `${command('stmfadm', 'delete-lu', '-k', guid)}, then ${command('stmfadm', 'import-lu', lu.backingStore ?? '<original zvol>')}.`,
      from: sourcesOf(lu),
    });
  }
  steps.push({
    stage: 'storage',
    title: `Bring back the LU with the GUID the VMFS header expects (${guid})`,
    commands: [`${command('stmfadm', 'import-lu', zvol)} || ${create}`, command('stmfadm', 'list-lu', '-v', guid)],
    note:
      `import-lu re-registers the LU from the metadata ${zvol} still holds (the original zvol, or a replica received with its properties), ` +
      'with its GUID, block size, alias and cache setting; only when it fails (the zvol holds no LU metadata, e.g. it was received without its properties) ' +
      `does create-lu make the LU with the saved GUID${props.length ? ` and the captured ${props.map((p) => p.replace(/^alias=.*/, 'alias')).join(', ')}` : ''}. ` +
      `Builds without stmfadm import-lu have \`${command('sbdadm', 'import-lu', zvol)}\`. list-lu -v must show ${guid}: if the import brought ` +
      "another GUID, the zvol held another LU's metadata — delete-lu that LU and run the create-lu alone." +
      (left.length ? ` Left out of create-lu: ${left.join('; ')}; set it by hand.` : ''),
    from: sourcesOf(lu),
  });
  // A view with no target group reaches the LU through every target, so every captured target is re-created.
  const targets: PlanTarget[] = lu.targets?.length ? lu.targets : lu.iqn ? [{ iqn: lu.iqn, alias: lu.alias, tpgs: lu.portalGroups.map((g) => g.tag) }] : [];
  const tpgs = new Set(targets.flatMap((t) => t.tpgs));
  // A captured name that begins with '-' would be read as an option where it is an operand: such a command is left out.
  const refused: string[] = [];
  const operands = (...words: string[]) => {
    const bad = words.filter((w) => w.startsWith('-'));
    refused.push(...bad);
    return bad.length === 0;
  };
  const groups: string[] = [];
  if (lu.hostGroup && operands(lu.hostGroup.name)) {
    groups.push(command('stmfadm', 'create-hg', lu.hostGroup.name));
    if (lu.hostGroup.members.length && operands(...lu.hostGroup.members))
      groups.push(command('stmfadm', 'add-hg-member', '-g', lu.hostGroup.name, ...lu.hostGroup.members));
  }
  if (lu.targetGroup && operands(lu.targetGroup.name)) groups.push(command('stmfadm', 'create-tg', lu.targetGroup.name));
  for (const g of lu.portalGroups)
    if (tpgs.has(g.tag) && g.addresses.length && operands(g.tag, ...g.addresses)) groups.push(command('itadm', 'create-tpg', g.tag, ...g.addresses));
  for (const t of targets) {
    if (!ISCSI_NAME.test(t.iqn)) continue;
    const words = ['itadm', 'create-target', '-n', t.iqn];
    if (t.alias) words.push('-l', t.alias);
    if (t.tpgs.length) words.push('-t', t.tpgs.join(','));
    groups.push(command(...words));
  }
  if (lu.targetGroup?.members.length && operands(lu.targetGroup.name, ...lu.targetGroup.members)) {
    for (const m of lu.targetGroup.members) groups.push(command('stmfadm', 'offline-target', m));
    groups.push(command('stmfadm', 'add-tg-member', '-g', lu.targetGroup.name, ...lu.targetGroup.members));
    for (const m of lu.targetGroup.members) groups.push(command('stmfadm', 'online-target', m));
  }
  const unbound = (lu.unboundPortalGroups ?? []).filter((g) => !tpgs.has(g.tag));
  const noPortals = [...tpgs].filter((tag) => !lu.portalGroups.some((g) => g.tag === tag && g.addresses.length));
  const notes = [
    'Skip what already exists on this storage host.',
    lu.targetGroup ? '' : 'The view is for all targets: every target the capture showed is re-created.',
    lu.targetGroup && !lu.targetGroup.members.length
      ? `The members of target group ${lu.targetGroup.name} were not captured (stmfadm list-tg -v): create its targets and add them with stmfadm add-tg-member.`
      : '',
    targets.some((t) => ISCSI_NAME.test(t.iqn) && !t.tpgs.length)
      ? 'A target without -t uses the default portal group (every address, port 3260), as captured.'
      : '',
    unbound.length
      ? `Portal groups captured on this host that none of these targets is bound to: ${unbound.map((g) => `${g.tag} (${g.addresses.join(', ') || 'no portals'})`).join('; ')}; re-create them with itadm create-tpg only for other targets.`
      : '',
    noPortals.length
      ? `No portals were captured for ${noPortals.join(', ')} (itadm list-tpg -v): create each with itadm create-tpg NAME ADDRESS[:PORT] before create-target.`
      : '',
    lu.chap ? 'CHAP was configured: set the secret again (itadm modify-target -s); it was redacted at capture.' : '',
    refused.length
      ? `Left out: commands whose operands begin with '-' (${refused.map((w) => JSON.stringify(w)).join(', ')}), which the tool would read as options.`
      : '',
  ];
  if (groups.length) {
    steps.push({
      stage: 'storage',
      title: 'Re-create the host group, target group, portal group and target',
      commands: groups,
      note: notes.filter(Boolean).join(' '),
      from: sourcesOf(lu),
    });
  }
  // The LUN the VMFS header expects, as the NAA check says to present it; else the saved view's.
  const lun = headerLun ?? lu.lun;
  const view = ['stmfadm', 'add-view'];
  if (lun !== null) view.push('-n', String(lun));
  if (lu.hostGroup) view.push('-h', lu.hostGroup.name);
  if (lu.targetGroup) view.push('-t', lu.targetGroup.name);
  view.push(guid);
  steps.push({
    stage: 'storage',
    title: `Present the LU as LUN ${lun ?? '?'}`,
    commands: [command(...view), command('stmfadm', 'list-view', '-l', guid)],
    note:
      lun === null
        ? 'The saved view had no LUN number: use the LUN in the VMFS header, or ESX treats the volume as a snapshot LUN.'
        : lu.lun !== null && lu.lun !== lun
          ? `The capture showed it as LUN ${lu.lun}; the VMFS header expects LUN ${lun}, so it is presented as ${lun}, or ESX sees a snapshot LUN (NAA check).`
          : null,
    from: sourcesOf(lu),
  });
  return steps;
}

/** Builds the plan: NAA checks, missing links, and the steps in the order to run them. */
export function buildDrPlan(input: DrPlanInput): DrPlan {
  const naaChecks: NaaCheck[] = [];
  const missing: MissingLink[] = [];
  let steps: Omit<PlanStep, 'n'>[] = [];
  const iscsitgtExports = new Map<string, { mark: Omit<PlanStep, 'n'>; entries: IscsitgtEntry[] }>();
  const extents = dedupeExtents(input.extents);
  if (!extents.length) {
    missing.push({
      link: 'extent',
      deviceId: null,
      message: `no header dump names a device of volume ${input.vmfsUuid}, so there is no NAA to restore against`,
      collector: 'collect on the ESX host (or the storage host reading the LU) to capture the LVM header dumps',
    });
  }
  for (const ext of extents) {
    const lu = luFor(input.lus, ext.deviceId);
    if (!lu) {
      // A replica under another GUID: an LU on a storage host whose zvol carries this volume is not known by GUID,
      // so say what the header expects and both ways out.
      naaChecks.push({
        deviceId: ext.deviceId,
        headerDeviceId: ext.deviceId,
        luDeviceId: null,
        verdict: 'no-lu',
        guaranteedBy: null,
        headerLun: ext.lun,
        luLun: null,
        lunMismatch: false,
        checkedBy: RESTORE_CHECK(ext.deviceId),
        message:
          `no captured LU presents ${ext.deviceId}: either the storage host was never collected, or the LU now has another GUID ` +
          '(a replica presented under a new GUID). Ways out: give the LU the saved GUID (stmfadm create-lu -p guid=…), ' +
          'or mount the copy with a resignature (new VMFS UUID; VMs must be re-registered).' +
          disputeNote(ext),
        dispute: disputeOf(ext),
      });
      missing.push({
        link: 'storage-lu',
        deviceId: ext.deviceId,
        message: `no iscsitgt or COMSTAR capture presents ${ext.deviceId}`,
        collector: 'collect on the storage host (svccfg export iscsitgt, or svccfg export -a stmf and the stmfadm/itadm listings)',
      });
      continue;
    }
    const late = (input.storageFactsFrom ?? []).find((f) => f.storageHost === lu.storageHost && f.deviceId.toLowerCase() === ext.deviceId.toLowerCase());
    const dataset = datasetOfBackingStore(lu.backingStore);
    let clonePath: string | null = null;
    if (!dataset) {
      missing.push({
        link: 'backing-store',
        deviceId: ext.deviceId,
        message: `the LU ${lu.deviceId} on ${lu.storageHost} has no zvol backing store on record (${lu.backingStore ?? 'none'})`,
        collector: 'collect on the storage host with the COMSTAR listings (stmfadm list-lu -v shows the data file)',
      });
    } else {
      const snap = chooseSnapshot(input.snapshots, dataset, input.at, lu.storageHost);
      if (!snap) {
        missing.push({
          link: 'snapshots',
          deviceId: ext.deviceId,
          message:
            `no snapshot of ${dataset} on ${lu.storageHost}${input.at ? ` taken at or before ${input.at}` : ''} is on record` +
            (late ? ` (the host's snapshot lists start after that time: none older is invented)` : ''),
          collector: `collect on ${lu.storageHost} (zfs list -H -p -t snapshot)`,
        });
      } else if (input.at) {
        const pool = dataset.split('/')[0];
        const clone = `${pool}/clones/${cloneName(dataset, snap.snapshot)}`;
        clonePath = `/dev/zvol/rdsk/${clone}`;
        steps.push({
          stage: 'zfs',
          title: `On ${lu.storageHost}: clone ${dataset}@${snap.snapshot} (newest snapshot at or before ${input.at})`,
          commands: [command('zfs', 'create', '-p', `${pool}/clones`), command('zfs', 'clone', `${dataset}@${snap.snapshot}`, clone)],
          note: `The LU is then backed by ${clonePath}; the replicated zvol ${dataset} stays untouched.`,
          from: [snap.source],
        });
      }
    }
    const headerGuid = guidOf(ext.deviceId);
    const presenters = presentersOf(input.lus, ext.deviceId);
    // The same capture also shows the LU in a disabled iscsitgt export: say why the steps are not its.
    const disabledBeside = input.lus.some(
      (l) =>
        l.serviceDisabled &&
        l.stack !== lu.stack &&
        l.storageHost === lu.storageHost &&
        l.source.collectedAt === lu.source.collectedAt &&
        l.deviceId.toLowerCase() === ext.deviceId.toLowerCase(),
    );
    // The same capture shows the LU in the other stack too, and an iscsitgt export there does not say whether its service runs.
    const unsureBeside = input.lus.find(
      (l) =>
        l.stack !== lu.stack &&
        (stateUnknown(l) || stateUnknown(lu)) &&
        l.storageHost === lu.storageHost &&
        l.source.collectedAt === lu.source.collectedAt &&
        l.deviceId.toLowerCase() === ext.deviceId.toLowerCase(),
    );
    const unsureExport = unsureBeside && (stateUnknown(lu) ? lu : unsureBeside);
    const match = lu.deviceId.toLowerCase() === ext.deviceId.toLowerCase();
    const lunMatch = ext.lun === null || lu.lun === null || ext.lun === lu.lun;
    if (lu.stack === 'iscsitgt') {
      // One set of steps per saved export, where its first LU comes (stepsForIscsitgt).
      const entry = { lu, clonePath, lun: ext.lun ?? lu.lun };
      const held = iscsitgtExports.get(lu.source.artifactId);
      if (held) held.entries.push(entry);
      else {
        const mark: Omit<PlanStep, 'n'> = { stage: 'storage', title: '', commands: [], note: null, from: [] };
        iscsitgtExports.set(lu.source.artifactId, { mark, entries: [entry] });
        steps.push(mark);
      }
    } else steps.push(...stepsForComstar(lu, ext.deviceId, clonePath, ext.lun));
    const guaranteeStep =
      lu.stack === 'iscsitgt'
        ? 'svccfg import (the saved param_ group carries the GUID)'
        : `stmfadm import-lu (the zvol's LU metadata carries the GUID), else stmfadm create-lu -p guid=${headerGuid ?? '…'}`;
    naaChecks.push({
      deviceId: ext.deviceId,
      headerDeviceId: ext.deviceId,
      luDeviceId: lu.deviceId,
      verdict: match ? 'match' : 'mismatch',
      guaranteedBy: guaranteeStep,
      headerLun: ext.lun,
      luLun: lu.lun,
      lunMismatch: !lunMatch,
      checkedBy: RESTORE_CHECK(ext.deviceId),
      message:
        `the VMFS header expects ${ext.deviceId}${ext.lun !== null ? ` at LUN ${ext.lun}` : ''}; ${lu.storageHost} presents ${lu.deviceId}` +
        `${lu.lun !== null ? ` as LUN ${lu.lun}` : ''} (${lu.stack}); ${guaranteeStep} keeps that id.` +
        (lunMatch
          ? ''
          : ` The LUN differs (${lu.lun} ≠ ${ext.lun}): present it as LUN ${ext.lun}, or ESX sees a snapshot LUN` +
            (lu.stack === 'iscsitgt'
              ? ' (the restore step below moves it there before the target starts, keeping its GUID).'
              : ' (the add-view step below does).')) +
        (disabledBeside
          ? ` ${lu.storageHost}'s iscsitgt export of the same capture holds this LU too, with that service disabled (a host moved to COMSTAR keeps its old configuration): the steps follow COMSTAR; do not enable iscsitgt there.`
          : '') +
        (unsureExport
          ? ` ${lu.storageHost}'s capture of ${lu.source.collectedAt} holds this LU in both an iscsitgt export and COMSTAR, and the iscsitgt export ` +
            (unsureExport.serviceEnabled === null
              ? 'names no instance, so whether that service was enabled is not known'
              : 'was parsed before the catalog read whether that service was enabled (run `catalog reindex` to read it and make this certain)') +
            `: the steps follow ${lu.stack === 'comstar' ? 'COMSTAR, as a host moved from iscsitgt to COMSTAR still exports its old configuration' : 'iscsitgt'}; ` +
            `check which one serves it on ${lu.storageHost} (svcs iscsitgt stmf) before running them.`
          : '') +
        ` Before writing, ${RESTORE_CHECK(ext.deviceId)}.` +
        (late ? ` ${lu.storageHost}'s facts are from its capture of ${late.collectedAt}, after the requested time ${late.requestedAt}.` : '') +
        (presenters.length > 1
          ? ` Captures from ${presenters.length} storage hosts present ${ext.deviceId}: ` +
            `${presenters.map((p) => `${p.host} (${p.stack}, ${p.collectedAt})`).join(', ')}. The steps below follow ${lu.storageHost}'s, ` +
            "the newest: confirm which host really serves this LU before running them (a moved LU, a stale export, or one host sending another's configuration)."
          : '') +
        disputeNote(ext),
      dispute: disputeOf(ext),
      ...(presenters.length > 1 ? { presenters } : {}),
    });
  }
  const marks = new Map([...iscsitgtExports.values()].map((x) => [x.mark, x.entries]));
  steps = steps.flatMap((st) => {
    const entries = marks.get(st);
    return entries ? stepsForIscsitgt(entries) : [st];
  });
  const lateFacts = (input.storageFactsFrom ?? [])
    .filter((f) => extents.some((e) => e.deviceId.toLowerCase() === f.deviceId.toLowerCase()))
    .map((f) => {
      // The files of that capture a step's commands read by their bare name (no bundle path), once each.
      const files = new Map<string, PlanSource>();
      for (const st of steps)
        for (const src of st.from)
          if (src.bundlePath === null && f.artifactIds.includes(src.artifactId) && st.commands.some((c) => c.split(' ').includes(shellWord(src.fileName))))
            files.set(src.artifactId, src);
      return { ...f, message: storageFactsMessage(f, [...files.values()]) };
    });
  if (extents.length) {
    steps.push({
      stage: 'esx',
      title: 'Rescan on the ESX host and check the volume mounts with its old UUID',
      commands: [
        command('esxcli', 'storage', 'core', 'adapter', 'rescan', '--all'),
        command('esxcli', 'storage', 'vmfs', 'snapshot', 'list'),
        command('esxcli', 'storage', 'vmfs', 'extent', 'list'),
      ],
      note:
        `ESX 3.x/4.x: esxcfg-rescan <vmhba>, then esxcfg-scsidevs -m (or esxcfg-vmhbadevs -m). ${input.vmfsUuid} must be listed on ` +
        `${extents.map((e) => e.deviceId).join(', ')} and must not appear as a snapshot (unresolved) volume; if it does, the device id or LUN ` +
        'differs from the header: fix the LU rather than resignature, unless a new VMFS UUID is acceptable.',
      from: extents.map((e) => e.source),
    });
  }
  return {
    vmfsUuid: input.vmfsUuid,
    label: input.label,
    at: input.at,
    // Facts from a later capture are not the requested time's: the LU may have been re-created or re-numbered in between.
    complete: missing.length === 0 && naaChecks.every((c) => c.verdict === 'match' && !c.presenters) && lateFacts.length === 0,
    naaChecks,
    missing,
    storageFactsFrom: lateFacts,
    steps: steps.map((s, i) => ({ n: i + 1, ...s })),
  };
}

/**
 * Why a plan is not complete, one short phrase each, in the order its notes come; empty for a
 * complete plan. The headline of the text plan and of RESTORE.md's plan: the first line an
 * operator reads must say what to check, not only that something is amiss.
 */
export function incompleteReasons(plan: DrPlan): string[] {
  const out: string[] = [];
  const hosts = [...new Set((plan.storageFactsFrom ?? []).map((f) => f.storageHost))];
  if (hosts.length)
    out.push(`the storage facts of ${hosts.join(', ')} are from a capture after the requested time ${plan.at ?? ''} (confirm no LU changed in between)`);
  if (plan.naaChecks.some((c) => c.verdict !== 'match')) out.push('an NAA differs or no captured LU presents it');
  if (plan.naaChecks.some((c) => c.presenters)) out.push('more than one storage host presents an NAA (confirm which serves it)');
  if (plan.missing.length) out.push(`missing: ${[...new Set(plan.missing.map((m) => m.link))].join(', ')}`);
  return out;
}

/** An iscsitgt row whose export does not say whether the service was enabled (not read yet, or no instance named). */
function stateUnknown(l: PlanLu): boolean {
  return l.stack === 'iscsitgt' && !l.serviceDisabled && l.serviceEnabled !== true;
}

/**
 * What a complete plan still asks the operator to see done, one short phrase each: an LU the
 * steps present at another LUN than the capture had it (its VMFS header's). The headline says
 * it beside "complete", so the first line read is not "nothing to watch".
 */
export function completeButCautions(plan: DrPlan): string[] {
  const moved = plan.naaChecks.filter((c) => c.lunMismatch);
  return moved.length
    ? [
        `${moved.map((c) => `${c.deviceId} moves from LUN ${c.luLun} to LUN ${c.headerLun}`).join(', ')} (its VMFS header's; a step below does it: run it before the rescan, or ESX sees a snapshot LUN)`,
      ]
    : [];
}

/** One extent per device id: the newest header's. */
function dedupeExtents(extents: PlanExtent[]): PlanExtent[] {
  const byDevice = new Map<string, PlanExtent>();
  for (const e of extents) {
    const key = e.deviceId.toLowerCase();
    const prev = byDevice.get(key);
    if (!prev || Date.parse(e.source.collectedAt) > Date.parse(prev.source.collectedAt)) byDevice.set(key, e);
  }
  return [...byDevice.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
}

/**
 * Text from captures on one line, as restore.sh and RESTORE.md show it (formats/printable.ts):
 * a newline in a collector-supplied name must not start a pasteable line, and a bidi override
 * must not make a comment read otherwise than it runs.
 */
function oneLine(text: string): string {
  return visible(text);
}

/** Above a disputed extent's candidate lines, which are comments: pasting them all would apply each table in turn. */
export const PICK_ONE = "#   Pick ONE host's table and run its line alone, without the leading '#':";

/**
 * The plan as plain text: what `restore.sh --plan` prints and DR-PLAN.txt holds. Every line is
 * a `#` comment or one quoted command, so text from captures (names, labels, messages) can
 * only ever be a comment, even when an operator pastes the whole plan into a shell.
 */
export function renderDrPlanText(plan: DrPlan): string {
  const out: string[] = [];
  out.push(`# ${oneLine(`DR plan for ${plan.vmfsUuid}${plan.label ? ` (${plan.label})` : ''}${plan.at ? ` as of ${plan.at}` : ''}`)}`);
  out.push(
    plan.complete
      ? `# ${oneLine(`The chain is complete and every NAA matches${completeButCautions(plan).length ? `, but ${completeButCautions(plan).join('; ')}` : ''}.`)}`
      : `# ${oneLine(`The plan is NOT complete: ${incompleteReasons(plan).join('; ')}. Read the notes below before running any step.`)}`,
  );
  // Before the checks: every fact below about these LUs is from then.
  for (const f of plan.storageFactsFrom ?? []) out.push(`# ${oneLine(`Storage facts from after the requested time: ${f.message}`)}`);
  for (const c of plan.naaChecks) {
    out.push(`# ${oneLine(`NAA check (${c.verdict}): ${c.message}`)}`);
    // Quoted as restore.sh matches the host (sourceCommand): each is one line, to paste alone.
    // Comments even so: run one after another (a whole plan pasted) the last would win.
    if (c.dispute?.candidates.length) out.push(PICK_ONE, ...c.dispute.candidates.map((d) => `#   ${d.command}`));
  }
  for (const m of plan.missing) out.push(`# ${oneLine(`Missing ${m.link}: ${m.message} — ${m.collector}`)}`);
  for (const s of plan.steps) {
    out.push('');
    out.push(`# ${oneLine(`${s.n}. [${s.stage}] ${s.title}`)}`);
    // Quoted word by word, control characters already `?` (shellQuote): each is one line.
    for (const c of s.commands) out.push(`   ${c}`);
    if (s.note) out.push(`   # ${oneLine(s.note)}`);
    out.push(`   # from: ${oneLine(s.from.map(describeSource).join('; '))}`);
  }
  return out.join('\n') + '\n';
}
