/**
 * SMF exports (`svccfg export iscsitgt`, `svccfg export -a stmf`): the legacy
 * iSCSI target's targets and LUs, and COMSTAR's groups, LUs and views.
 *
 * The XML is untrusted. It never reaches a parser that could fetch a DTD,
 * expand an entity or follow an XInclude: entity declarations are refused,
 * the DOCTYPE line is blanked before parsing, fast-xml-parser runs with
 * entity processing off, and only the five predefined entities and character
 * references are decoded afterwards, in one linear pass.
 */
import { XMLParser, XMLValidator, type EntityDecoderOptions, type X2jOptions } from 'fast-xml-parser';
import { malformed, unrecognized } from './errors.js';
import { detailsOnly, type ParsedArtifact, type TargetLu } from './types.js';
import { MAX_XML_BYTES, decodeInput, deviceIdFromGuid, guarded, looksBinary } from './text.js';

/** One property: its SMF type and every value (a propval has one). */
export interface SmfProperty {
  type: string;
  values: string[];
}

/** One property group as exported, with the level it came from. */
export interface SmfPropertyGroup {
  name: string;
  type: string;
  service: string;
  instance: string | null;
  properties: Map<string, SmfProperty>;
}

/**
 * An instance as exported, with the state `svcadm enable`/`disable` left it in: the `enabled`
 * attribute of `<instance>` or `<create_default_instance>` (service_bundle(4), illumos-gate
 * usr/src/cmd/svc/dtd/service_bundle.dtd.1: `enabled (true | false) #REQUIRED` on both).
 */
export interface SmfInstance {
  service: string;
  name: string;
  enabled: boolean | null;
}

function enabledAttr(node: XmlNode): boolean | null {
  const v = attr(node, 'enabled');
  return v === 'true' ? true : v === 'false' ? false : null;
}

/** Property names whose values are secrets wherever they appear (CHAP and RADIUS secrets, passwords). */
export const SECRET_PROPERTY_RE = /secret|chap|passw/i;

// Authorization properties iscsitgtd adds to every group (mgmt_scf.c); not data.
const AUTH_PROPS = new Set(['read_authorization', 'modify_authorization', 'value_authorization']);

const ARRAY_TAGS = new Set(['service', 'instance', 'property_group', 'propval', 'property', 'value_node']);

const IDENTITY_ENTITY_DECODER: EntityDecoderOptions = {
  setExternalEntities(): void {},
  reset(): void {},
  setXmlVersion(): void {},
  addInputEntities(): void {},
  decode: (value: string): string => value,
};

/**
 * The one parser's options. The collector bundle writes the fixed ones into fast-xml-parser's
 * code (infra/build.mjs, infra/xml-options-folded.json): a test holds the two to the same values.
 */
export const XML_PARSER_OPTIONS: X2jOptions = {
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '@',
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
  maxNestedTags: 64,
  // Callbacks get a matcher instead of a built path string: the parse runs about twice as fast.
  jPath: false,
  isArray: (name: string) => ARRAY_TAGS.has(name),
  // Entities stay as written (processEntities is off and `<!ENTITY` is refused before
  // parsing): an identity decoder says so explicitly, and lets the collector bundle
  // leave the library's entity tables out (infra/build.mjs).
  entityDecoder: IDENTITY_ENTITY_DECODER,
};

const xmlParser = new XMLParser(XML_PARSER_OPTIONS);

/** Line (1-based) of a character offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Decode the five predefined XML entities and character references; anything else stays literal. */
function decodeEntities(v: string): string {
  if (!v.includes('&')) return v;
  return v.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g, (whole, ent: string) => {
    if (ent === 'amp') return '&';
    if (ent === 'lt') return '<';
    if (ent === 'gt') return '>';
    if (ent === 'quot') return '"';
    if (ent === 'apos') return "'";
    const code = ent[1] === 'x' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/**
 * Refuse entity declarations and internal DTD subsets, then blank the DOCTYPE
 * declaration (keeping line numbers) so nothing downstream ever sees it.
 */
function neutraliseDoctype(text: string): string {
  const entity = text.search(/<!ENTITY/i);
  if (entity !== -1) {
    malformed('SMF export declares an entity; entity declarations are refused', { line: lineAt(text, entity) });
  }
  const start = text.search(/<!DOCTYPE/i);
  if (start === -1) return text;
  const end = text.indexOf('>', start);
  if (end === -1) malformed('unclosed DOCTYPE', { line: lineAt(text, start) });
  const decl = text.slice(start, end + 1);
  if (decl.includes('[')) {
    malformed('DOCTYPE with an internal subset is refused', { line: lineAt(text, start) });
  }
  if (text.slice(end + 1).search(/<!DOCTYPE/i) !== -1) {
    malformed('more than one DOCTYPE', { line: lineAt(text, end) });
  }
  return text.slice(0, start) + decl.replace(/[^\n]/g, ' ') + text.slice(end + 1);
}

type XmlNode = Record<string, unknown>;

function asNodes(v: unknown): XmlNode[] {
  if (Array.isArray(v)) return v.filter((x): x is XmlNode => typeof x === 'object' && x !== null);
  if (typeof v === 'object' && v !== null) return [v as XmlNode];
  return [];
}

function attr(node: XmlNode, name: string): string | null {
  const attrs = node['@'];
  if (typeof attrs !== 'object' || attrs === null) return null;
  const v = (attrs as Record<string, unknown>)[name];
  return typeof v === 'string' ? decodeEntities(v) : null;
}

function readPropertyGroup(pg: XmlNode, service: string, instance: string | null): SmfPropertyGroup {
  const properties = new Map<string, SmfProperty>();
  for (const pv of asNodes(pg.propval)) {
    const name = attr(pv, 'name');
    if (name === null) continue;
    properties.set(name, { type: attr(pv, 'type') ?? '', values: [attr(pv, 'value') ?? ''] });
  }
  for (const p of asNodes(pg.property)) {
    const name = attr(p, 'name');
    if (name === null) continue;
    const values: string[] = [];
    // `<astring_list>`, `<count_list>`, `<opaque_list>`, … each holding value_node elements.
    for (const [key, child] of Object.entries(p)) {
      if (!key.endsWith('_list')) continue;
      for (const list of asNodes(child)) {
        for (const vn of asNodes(list.value_node)) values.push(attr(vn, 'value') ?? '');
      }
    }
    properties.set(name, { type: attr(p, 'type') ?? '', values });
  }
  return { name: attr(pg, 'name') ?? '', type: attr(pg, 'type') ?? '', service, instance, properties };
}

/**
 * Parse an SMF export into its property groups (service level and instance
 * level, in document order). Throws FormatError for anything that is not a
 * well-formed service bundle.
 */
export function readSmfExport(input: Uint8Array | string, what: string, instances?: SmfInstance[]): SmfPropertyGroup[] {
  const raw = decodeInput(input, MAX_XML_BYTES, what);
  if (looksBinary(raw) || !raw.includes('<service_bundle')) {
    unrecognized(`${what}: no <service_bundle> element`);
  }
  const text = neutraliseDoctype(raw);
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    malformed(`${what}: ${valid.err.msg}`, { line: valid.err.line });
  }
  let doc: XmlNode;
  try {
    doc = xmlParser.parse(text) as XmlNode;
  } catch (e) {
    // The validator lets a few oddities through (an unclosed processing instruction) that the parser refuses.
    malformed(`${what}: ${e instanceof Error ? e.message.slice(0, 200) : 'unreadable XML'}`);
  }
  const bundles = asNodes(doc.service_bundle);
  if (bundles.length === 0) unrecognized(`${what}: no <service_bundle> element`);
  const groups: SmfPropertyGroup[] = [];
  for (const bundle of bundles) {
    for (const svc of asNodes(bundle.service)) {
      const service = attr(svc, 'name') ?? '';
      for (const pg of asNodes(svc.property_group)) groups.push(readPropertyGroup(pg, service, null));
      for (const d of asNodes(svc.create_default_instance)) instances?.push({ service, name: 'default', enabled: enabledAttr(d) });
      for (const inst of asNodes(svc.instance)) {
        const instance = attr(inst, 'name') ?? '';
        instances?.push({ service, name: instance, enabled: enabledAttr(inst) });
        for (const pg of asNodes(inst.property_group)) groups.push(readPropertyGroup(pg, service, instance));
      }
    }
  }
  return groups;
}

function first(pg: SmfPropertyGroup | undefined, name: string): string | null {
  const p = pg?.properties.get(name);
  if (!p || p.values.length === 0) return null;
  return p.values[0];
}

function list(pg: SmfPropertyGroup | undefined, name: string): string[] {
  const p = pg?.properties.get(name);
  return p ? p.values.filter((v) => v !== '') : [];
}

/** iscsitgtd writes `:` as `__2` and `.` as `__1` in group names (mgmt_scf.c pgname_encode). */
export function decodePgName(name: string): string {
  return name.replace(/__[12]/g, (m) => (m === '__2' ? ':' : '.'));
}

/** A group name as iscsitgtd writes it into SMF (mgmt_scf.c pgname_encode): `:` → `__2`, `.` → `__1`. */
export function encodePgName(name: string): string {
  return name.replace(/[:.]/g, (c) => (c === ':' ? '__2' : '__1'));
}

/**
 * Block count as iscsitgtd reads it (`strtoll(str, NULL, 0)`: `0x` hex,
 * leading-0 octal, else decimal), times 512; null when it is not a number.
 */
export function blocksToBytes(raw: string | null): number | null {
  if (raw === null) return null;
  const v = raw.trim();
  let blocks: bigint;
  if (/^0x[0-9a-fA-F]{1,16}$/i.test(v)) blocks = BigInt(v);
  else if (/^0[0-7]{1,21}$/.test(v)) blocks = BigInt('0o' + v.slice(1));
  else if (/^[0-9]{1,20}$/.test(v)) blocks = BigInt(v);
  else return null;
  const bytes = blocks * 512n;
  return bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : null;
}

// ───────────────────────────── legacy iscsitgt ─────────────────────────────

export interface IscsitgtTarget {
  /** The local name (the part after `target_`, decoded). */
  name: string;
  iqn: string | null;
  alias: string | null;
  type: string | null;
  luns: number[];
  /** Initiator IQNs allowed, resolved through `initiator_<name>/iscsi-name`. */
  acl: string[];
  /** ACL entries as written (initiator local names). */
  aclNames: string[];
  /** ACL names with no matching initiator group. */
  unresolvedAcl: string[];
  tpgts: string[];
}

export interface IscsitgtInitiator {
  name: string;
  iqn: string | null;
}

export interface IscsitgtTpgt {
  tag: string;
  addresses: string[];
}

export interface IscsitgtLu {
  target: string;
  lun: number;
  /** The GUID as stored; `0` until the LU first came online. */
  guid: string | null;
  deviceId: string | null;
  backingStore: string | null;
  sizeBytes: number | null;
  vid: string | null;
  pid: string | null;
  dtype: string | null;
  /** False for a `param_` group whose target has no `target_` group. */
  targetKnown: boolean;
}

export interface IscsitgtDetails {
  [key: string]: unknown;
  service: string | null;
  targets: IscsitgtTarget[];
  initiators: IscsitgtInitiator[];
  tpgts: IscsitgtTpgt[];
  lus: IscsitgtLu[];
  targetLus: TargetLu[];
  redacted: string[];
  /**
   * Whether the export shows the service's default instance enabled; null when it names none.
   * A host moved to COMSTAR keeps its iscsitgt configuration, disabled, and still exports it.
   */
  enabled?: boolean | null;
}

/** Names of secret-bearing properties in a group, as `group/property`. */
function secretNames(pg: SmfPropertyGroup, whole: boolean): string[] {
  const names: string[] = [];
  for (const name of pg.properties.keys()) {
    if (AUTH_PROPS.has(name)) continue;
    if (whole || SECRET_PROPERTY_RE.test(name)) names.push(`${pg.name}/${name}`);
  }
  return names;
}

/** Parse `svccfg export iscsitgt`: targets, initiators, TPGTs and LUs, with secrets named but never returned. */
export function parseIscsitgtSmf(input: Uint8Array | string): ParsedArtifact {
  return guarded('iscsitgt SMF export', () => {
    const instances: SmfInstance[] = [];
    const groups = readSmfExport(input, 'iscsitgt SMF export', instances);
    const targetPgs = new Map<string, SmfPropertyGroup>();
    const initiatorPgs = new Map<string, SmfPropertyGroup>();
    const tpgtPgs = new Map<string, SmfPropertyGroup>();
    const paramPgs: { target: string; lun: number; pg: SmfPropertyGroup }[] = [];
    const redacted: string[] = [];
    let service: string | null = null;

    for (const pg of groups) {
      if (pg.name === 'passwords') {
        redacted.push(...secretNames(pg, true));
        continue;
      }
      redacted.push(...secretNames(pg, false));
      const decoded = decodePgName(pg.name);
      const cut = decoded.indexOf('_');
      if (cut === -1) continue;
      const prefix = decoded.slice(0, cut);
      const rest = decoded.slice(cut + 1);
      if (rest === '') continue;
      if (prefix === 'target') targetPgs.set(rest, pg);
      else if (prefix === 'initiator') initiatorPgs.set(rest, pg);
      else if (prefix === 'tpgt') tpgtPgs.set(rest, pg);
      else if (prefix === 'param') {
        // param_<target>_<lun>: the target's local name may itself hold `_`, so cut at the last one.
        const last = rest.lastIndexOf('_');
        if (last <= 0) continue;
        const lunText = rest.slice(last + 1);
        if (!/^\d{1,5}$/.test(lunText)) continue;
        paramPgs.push({ target: rest.slice(0, last), lun: Number(lunText), pg });
      } else continue;
      service ??= pg.service;
    }

    if (targetPgs.size === 0 && paramPgs.length === 0 && initiatorPgs.size === 0 && tpgtPgs.size === 0) {
      const named = groups.find((g) => /iscsitgt/.test(g.service));
      if (!named) unrecognized('iscsitgt SMF export: no target, initiator, tpgt or param groups');
      service = named.service;
    }

    const initiators: IscsitgtInitiator[] = [...initiatorPgs].map(([name, pg]) => ({ name, iqn: first(pg, 'iscsi-name') }));
    const iqnOfInitiator = new Map(initiators.map((i) => [i.name, i.iqn]));
    const tpgts: IscsitgtTpgt[] = [...tpgtPgs].map(([tag, pg]) => ({ tag, addresses: list(pg, 'ip-address-list') }));

    const targets: IscsitgtTarget[] = [...targetPgs].map(([name, pg]) => {
      const aclNames = list(pg, 'acl-list');
      const acl: string[] = [];
      const unresolvedAcl: string[] = [];
      for (const a of aclNames) {
        const iqn = iqnOfInitiator.get(a);
        if (iqn) acl.push(iqn);
        // An entry that already is an IQN/EUI needs no lookup.
        else if (/^(iqn|eui)\./i.test(a)) acl.push(a);
        else {
          unresolvedAcl.push(a);
          acl.push(a);
        }
      }
      const luns = list(pg, 'lun-list')
        .map((l) => Number(l))
        .filter((n) => Number.isInteger(n) && n >= 0);
      return {
        name,
        iqn: first(pg, 'iscsi-name'),
        alias: first(pg, 'alias'),
        type: first(pg, 'type'),
        luns,
        acl,
        aclNames,
        unresolvedAcl,
        tpgts: list(pg, 'tpgt-list'),
      };
    });
    const targetByName = new Map(targets.map((t) => [t.name, t]));

    const lus: IscsitgtLu[] = paramPgs.map(({ target, lun, pg }) => {
      const guid = first(pg, 'guid');
      return {
        target,
        lun,
        guid,
        // `guid` stays 0 (a count) until the LU first came online: no device id yet.
        deviceId: guid === null || /^0+$/.test(guid.trim()) ? null : deviceIdFromGuid(guid),
        backingStore: first(pg, 'backing-store'),
        sizeBytes: blocksToBytes(first(pg, 'size')),
        vid: first(pg, 'vid'),
        pid: first(pg, 'pid'),
        dtype: first(pg, 'dtype'),
        targetKnown: targetByName.has(target),
      };
    });

    const targetLus: TargetLu[] = [];
    for (const t of targets) {
      const own = lus.filter((l) => l.target === t.name);
      const lunsSeen = new Set(own.map((l) => l.lun));
      const rows: { lun: number; lu: IscsitgtLu | null }[] = own.map((lu) => ({ lun: lu.lun, lu }));
      for (const n of t.luns) if (!lunsSeen.has(n)) rows.push({ lun: n, lu: null });
      rows.sort((a, b) => a.lun - b.lun);
      for (const { lun, lu } of rows) {
        targetLus.push({
          stack: 'iscsitgt',
          iqn: t.iqn,
          alias: t.alias,
          lun,
          deviceId: lu?.deviceId ?? null,
          backingStore: lu?.backingStore ?? null,
          sizeBytes: lu?.sizeBytes ?? null,
          tpgs: [...t.tpgts],
          acl: [...t.acl],
        });
      }
    }

    const own = instances.find((i) => i.name === 'default' && /iscsitgt/.test(i.service));
    const details: IscsitgtDetails = { service, targets, initiators, tpgts, lus, targetLus, redacted: [...new Set(redacted)], enabled: own?.enabled ?? null };
    return detailsOnly('iscsitgt-smf', details);
  });
}

// ───────────────────────────── COMSTAR stmf ─────────────────────────────

export interface StmfGroup {
  name: string;
  members: string[];
}

export interface StmfView {
  guid: string;
  deviceId: string | null;
  entry: number;
  allHosts: boolean;
  allTargets: boolean;
  /** null when open to all hosts. */
  hostGroup: string | null;
  /** null when open to all targets. */
  targetGroup: string | null;
  /** Decoded from `lu_nbr` when it uses the usual (peripheral/flat) addressing, else null. */
  lun: number | null;
  /** The 8-byte `lu_nbr` as exported (hex). */
  luNbr: string | null;
}

export interface StmfLu {
  guid: string;
  deviceId: string | null;
  viewEntryCount: number | null;
  views: number[];
}

export interface StmfProviderData {
  group: string;
  provider: string;
  chunks: number;
  /** Bytes of packed nvlist across the chunks (hex digits / 2). */
  bytes: number;
  redacted: boolean;
}

export interface StmfDetails {
  [key: string]: unknown;
  hostGroups: StmfGroup[];
  targetGroups: StmfGroup[];
  lus: StmfLu[];
  views: StmfView[];
  providerData: StmfProviderData[];
  targetLus: TargetLu[];
  redacted: string[];
}

function readGroups(pg: SmfPropertyGroup | undefined): StmfGroup[] {
  if (!pg) return [];
  const groups: { n: number; group: StmfGroup }[] = [];
  // group_name-<N> holds the name, group_name-<N>-member_list the members (store.c).
  for (const [prop, p] of pg.properties) {
    const m = /^group_name-(\d{1,15})$/.exec(prop);
    if (!m) continue;
    const name = p.values[0] ?? '';
    groups.push({ n: Number(m[1]), group: { name, members: list(pg, `${prop}-member_list`) } });
  }
  return groups.sort((a, b) => a.n - b.n).map((g) => g.group);
}

/**
 * LUN from the 8-byte SCSI LUN structure, the way stmfadm list-view prints it
 * (`((b0 & 0x3F) << 8) | b1`), when the address method is peripheral or flat
 * and the other levels are zero; null otherwise.
 */
export function decodeLuNbr(hex: string | null): number | null {
  if (hex === null) return null;
  const v = hex.replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]{16}$/.test(v)) return null;
  const b0 = parseInt(v.slice(0, 2), 16);
  const b1 = parseInt(v.slice(2, 4), 16);
  if (b0 >> 6 > 1 || !/^0{12}$/.test(v.slice(4))) return null;
  return ((b0 & 0x3f) << 8) | b1;
}

function bool(v: string | null): boolean {
  return v !== null && v.trim().toLowerCase() === 'true';
}

/** Parse `svccfg export -a stmf`: host/target groups, LUs with views; provider data stays opaque. */
export function parseStmfSmf(input: Uint8Array | string): ParsedArtifact {
  return guarded('stmf SMF export', () => {
    const groups = readSmfExport(input, 'stmf SMF export');
    const byName = new Map<string, SmfPropertyGroup>();
    const redacted: string[] = [];
    for (const pg of groups) {
      if (!byName.has(pg.name)) byName.set(pg.name, pg);
      if (!pg.name.startsWith('provider_data_pg_')) redacted.push(...secretNames(pg, pg.name === 'passwords'));
    }
    const hostGroupPg = byName.get('host_groups');
    const targetGroupPg = byName.get('target_groups');
    const known = [...byName.keys()].some((n) => /^(lu-|view_entry-|provider_data_pg_)/.test(n)) || hostGroupPg || targetGroupPg || byName.has('stmf_data');
    if (!known) unrecognized('stmf SMF export: no host_groups, target_groups, lu-, view_entry- or provider data groups');

    const hostGroups = readGroups(hostGroupPg);
    const targetGroups = readGroups(targetGroupPg);
    const luByGuid = new Map<string, StmfLu>();
    const lu = (guid: string): StmfLu => {
      const key = guid.toUpperCase();
      let l = luByGuid.get(key);
      if (!l) {
        l = { guid: key, deviceId: deviceIdFromGuid(key), viewEntryCount: null, views: [] };
        luByGuid.set(key, l);
      }
      return l;
    };
    const views: StmfView[] = [];
    const providerData: StmfProviderData[] = [];

    for (const [name, pg] of byName) {
      let m = /^lu-([0-9a-fA-F]{32})$/.exec(name);
      if (m) {
        const l = lu(m[1]);
        const cnt = first(pg, 've_cnt');
        l.viewEntryCount = cnt !== null && /^\d{1,9}$/.test(cnt) ? Number(cnt) : null;
        continue;
      }
      m = /^view_entry-(\d{1,9})-([0-9a-fA-F]{32})$/.exec(name);
      if (m) {
        const l = lu(m[2]);
        const entry = Number(m[1]);
        const allHosts = bool(first(pg, 'all_hosts'));
        const allTargets = bool(first(pg, 'all_targets'));
        const luNbr = first(pg, 'lu_nbr');
        views.push({
          guid: l.guid,
          deviceId: l.deviceId,
          entry,
          allHosts,
          allTargets,
          hostGroup: allHosts ? null : first(pg, 'host_group'),
          targetGroup: allTargets ? null : first(pg, 'target_group'),
          lun: decodeLuNbr(luNbr),
          luNbr: luNbr === null ? null : luNbr.replace(/\s+/g, '').toLowerCase(),
        });
        l.views.push(entry);
        continue;
      }
      if (name.startsWith('provider_data_pg_')) {
        let chunks = 0;
        let bytes = 0;
        let wasRedacted = false;
        for (const [prop, p] of pg.properties) {
          if (!prop.startsWith('provider_data_prop')) continue;
          for (const v of p.values) {
            chunks++;
            if (v === 'REDACTED') wasRedacted = true;
            else bytes += Math.floor(v.replace(/\s+/g, '').length / 2);
          }
        }
        if (wasRedacted) redacted.push(name);
        providerData.push({ group: name, provider: name.slice('provider_data_pg_'.length), chunks, bytes, redacted: wasRedacted });
      }
    }

    views.sort((a, b) => (a.guid < b.guid ? -1 : a.guid > b.guid ? 1 : a.entry - b.entry));
    const lus = [...luByGuid.values()].sort((a, b) => (a.guid < b.guid ? -1 : a.guid > b.guid ? 1 : 0));
    for (const l of lus) l.views.sort((a, b) => a - b);

    const membersOf = (groupsList: StmfGroup[], name: string | null): string[] | null => {
      if (name === null) return null;
      const g = groupsList.find((x) => x.name === name);
      return g ? g.members : [];
    };
    const targetLus: TargetLu[] = [];
    const seen = new Set<string>();
    for (const v of views) {
      const acl = v.allHosts ? [] : (membersOf(hostGroups, v.hostGroup) ?? []);
      // A view open to all targets has no IQN; a target group yields one row per member target.
      const iqns: (string | null)[] = v.allTargets ? [null] : (membersOf(targetGroups, v.targetGroup) ?? []);
      for (const iqn of iqns) {
        const key = `${iqn}|${v.lun}|${v.deviceId}|${acl.join(',')}`;
        if (seen.has(key)) continue;
        seen.add(key);
        targetLus.push({ stack: 'comstar', iqn, alias: null, lun: v.lun, deviceId: v.deviceId, backingStore: null, sizeBytes: null, tpgs: [], acl: [...acl] });
      }
    }

    const details: StmfDetails = { hostGroups, targetGroups, lus, views, providerData, targetLus, redacted: [...new Set(redacted)] };
    return detailsOnly('stmf-smf', details);
  });
}
