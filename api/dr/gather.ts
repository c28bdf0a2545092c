/**
 * Gathers the DR plan's input from a restore bundle's selection (api/bundle/select.ts
 * `selectBundle`): the same artifacts, as of the same time, that the bundle carries — so
 * the plan's "svccfg import <file>" names a file the operator holds — enriched with what
 * only the parsed SMF exports and COMSTAR listings know (an iscsitgt target's local name,
 * its TPGTs and initiators; COMSTAR views with their host and target groups, TPG portals).
 * A device no LU presents at or before the time takes its storage facts from the first
 * capture after it that does (api/dr/later-storage.ts), and the plan says so.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import type { IscsitgtDetails, StmfDetails } from '../../formats/smf.js';
import type { ComstarDetails } from '../../formats/comstar.js';
import type { BundleSelection } from '../bundle/select.js';
import { inList } from '../read/rows.js';
import { laterStorageFacts } from './later-storage.js';
import { buildDrPlan, guidOf, type DrPlan, type DrPlanInput, type PlanGroup, type PlanLu, type PlanSource } from './plan.js';

interface ArtifactRow {
  id: string;
  kind: string;
  host: string;
  file_name: string;
  collected_at: Date | string;
  parsed: { details?: unknown } | null;
}

function isoOf(v: Date | string): string {
  return v instanceof Date ? v.toISOString() : new Date(v).toISOString();
}

/**
 * Builds the plan for a bundle selection. `pointInTime`: the operator asked for a time
 * (`?at=`), so the plan clones the newest snapshot taken at or before it instead of using the live zvol.
 */
export async function drPlanForSelection(db: Db, sel: BundleSelection, pointInTime: boolean): Promise<DrPlan> {
  return buildDrPlan(await drPlanInput(db, sel, pointInTime));
}

/** The plan's input: extents from the selected header dumps, LUs from the storage captures, snapshots of their zvols. */
export async function drPlanInput(db: Db, sel: BundleSelection, pointInTime: boolean): Promise<DrPlanInput> {
  // Devices no LU presents at or before the time: their storage facts may start later.
  const presented = new Set(sel.targets.flatMap((t) => (t.deviceId ? [t.deviceId.toLowerCase()] : [])));
  const unpresented = [...new Set(sel.plan.extents.flatMap((e) => (e.deviceId && !presented.has(e.deviceId.toLowerCase()) ? [e.deviceId] : [])))];
  const later = await laterStorageFacts(db, unpresented, new Date(sel.at));
  const targets = [...sel.targets, ...later.targets];
  const snapshots = [...sel.snapshots, ...later.snapshots];
  const ids = [
    ...new Set([
      ...targets.map((t) => t.artifactId),
      ...snapshots.map((s) => s.artifactId),
      ...sel.files.map((f) => f.artifactId),
      ...later.storageArtifactIds,
    ]),
  ];
  const rows = ids.length
    ? await queryRows<ArtifactRow>(db, sql`SELECT id, kind, host, file_name, collected_at, parsed FROM artifacts WHERE id IN ${inList(ids)}`)
    : [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const fileOf = new Map(sel.files.map((f) => [f.artifactId, f]));
  const source = (artifactId: string): PlanSource => {
    const f = fileOf.get(artifactId);
    const r = byId.get(artifactId);
    return {
      artifactId,
      kind: f?.kind ?? r?.kind ?? 'unknown',
      host: f?.host ?? r?.host ?? 'unknown',
      fileName: f?.fileName ?? r?.file_name ?? artifactId,
      collectedAt: f?.collectedAt ?? (r ? isoOf(r.collected_at) : ''),
      bundlePath: f?.path ?? null,
    };
  };
  const pathToArtifact = new Map(sel.files.map((f) => [f.path, f.artifactId]));

  const extents = sel.plan.extents
    .filter((e) => e.deviceId)
    .map((e) => ({
      deviceId: e.deviceId!,
      lun: e.lun,
      vml: e.vml,
      host: e.host,
      dispute: e.dispute ? { extent: e.number, candidates: e.dispute.map((c) => ({ host: c.host, lun: c.lun })) } : null,
      source:
        e.headerFile && pathToArtifact.has(e.headerFile)
          ? source(pathToArtifact.get(e.headerFile)!)
          : {
              artifactId: '',
              kind: 'vmfs-header',
              host: e.host,
              fileName: e.headerFile ?? 'header dump',
              collectedAt: e.headerCollectedAt ?? '',
              bundlePath: e.headerFile,
            },
    }));

  // Storage-side details of each storage host, newest capture first, from every storage artifact selected.
  const storage = rows
    .filter((r) => r.kind === 'iscsitgt-smf' || r.kind === 'stmf-smf' || r.kind === 'comstar-listing')
    .sort((a, b) => isoOf(b.collected_at).localeCompare(isoOf(a.collected_at)));

  const lus: PlanLu[] = [];
  for (const t of targets) {
    if (!t.deviceId) continue;
    const stack = t.stack === 'comstar' ? 'comstar' : 'iscsitgt';
    const lu: PlanLu = {
      stack,
      storageHost: t.storageHost,
      deviceId: t.deviceId,
      lun: t.lun,
      iqn: t.iqn,
      alias: t.alias,
      backingStore: t.backingStore,
      sizeBytes: t.sizeBytes,
      portalGroups: [],
      initiators: [],
      chap: false,
      hostGroup: null,
      targetGroup: null,
      targetName: null,
      source: source(t.artifactId),
    };
    const own = byId.get(t.artifactId);
    if (stack === 'iscsitgt' && own?.parsed?.details) enrichIscsitgt(lu, own.parsed.details as IscsitgtDetails);
    if (stack === 'comstar') {
      let targetListing: ComstarDetails | null = null;
      for (const r of storage.filter((s) => s.host === t.storageHost && s.kind !== 'iscsitgt-smf')) {
        const d = r.parsed?.details;
        if (!d) continue;
        if (r.kind === 'stmf-smf') enrichStmf(lu, d as StmfDetails);
        else {
          enrichListing(lu, d as ComstarDetails);
          if (!targetListing && (d as ComstarDetails).targets?.length) targetListing = d as ComstarDetails;
        }
      }
      // After every capture is read: the view's target group may come from the stmf export.
      if (targetListing) resolveTargets(lu, targetListing);
    }
    lus.push(lu);
  }

  return {
    vmfsUuid: sel.vmfsUuid ?? sel.deviceId ?? '',
    label: sel.label,
    at: pointInTime ? sel.at : null,
    extents,
    lus,
    snapshots: snapshots.map((s) => ({ host: s.host, dataset: s.dataset, snapshot: s.snapshot, createdAt: s.createdAt, source: source(s.artifactId) })),
    storageFactsFrom: later.from,
  };
}

function enrichIscsitgt(lu: PlanLu, d: IscsitgtDetails): void {
  const target =
    (d.targets ?? []).find((x) => lu.iqn && x.iqn?.toLowerCase() === lu.iqn.toLowerCase()) ??
    (d.lus ?? []).map((l) => (l.deviceId === lu.deviceId ? (d.targets ?? []).find((x) => x.name === l.target) : undefined)).find(Boolean);
  if (d.enabled === false) lu.serviceDisabled = true;
  if (d.enabled !== undefined) lu.serviceEnabled = d.enabled;
  if (!target) return;
  lu.targetName = target.name;
  lu.portalGroups = (d.tpgts ?? []).filter((g) => target.tpgts.includes(g.tag)).map((g) => ({ tag: g.tag, addresses: g.addresses }));
  const initiators = new Map((d.initiators ?? []).map((i) => [i.name, i.iqn]));
  lu.initiators = target.aclNames.map((name) => ({ name, iqn: initiators.get(name) ?? name })).filter((i) => !!i.iqn);
  // The collector names what it redacted: CHAP secrets were configured.
  lu.chap = (d.redacted ?? []).some((r) => /chap|passwords/i.test(r));
  // Every initiator the export defines may hold a CHAP secret in the passwords group, on the
  // target's ACL or not (a target without an ACL admits every initiator): each is set again.
  lu.chapInitiators = lu.chap ? (d.initiators ?? []).map((i) => i.name) : [];
}

function sameGuid(deviceIdOrGuid: string | null, lu: PlanLu): boolean {
  if (!deviceIdOrGuid) return false;
  const g = guidOf(lu.deviceId);
  return deviceIdOrGuid.toLowerCase() === lu.deviceId.toLowerCase() || (g !== null && deviceIdOrGuid.toUpperCase() === g);
}

function groupOf(name: string | null, groups: { name: string; members: string[] }[] | undefined): PlanGroup | null {
  if (!name) return null;
  const g = (groups ?? []).find((x) => x.name === name);
  return { name, members: g?.members ?? [] };
}

function enrichStmf(lu: PlanLu, d: StmfDetails): void {
  const view = (d.views ?? []).find((v) => sameGuid(v.deviceId ?? v.guid, lu) && (lu.lun === null || v.lun === lu.lun));
  if (!view) return;
  lu.hostGroup ??= groupOf(view.hostGroup, d.hostGroups);
  lu.targetGroup ??= groupOf(view.targetGroup, d.targetGroups);
}

function enrichListing(lu: PlanLu, d: ComstarDetails): void {
  const view = (d.views ?? []).find((v) => sameGuid(v.deviceId ?? v.guid, lu) && (lu.lun === null || v.lun === lu.lun));
  if (view) {
    lu.hostGroup ??= groupOf(view.hostGroup, d.hostGroups);
    lu.targetGroup ??= groupOf(view.targetGroup, d.targetGroups);
  }
  const own = (d.lus ?? []).find((l) => sameGuid(l.deviceId ?? l.guid, lu));
  if (own) {
    lu.luAlias ??= own.alias;
    lu.blockSize ??= own.blockSize;
    lu.writebackCacheDisabled ??= own.writebackCache === null ? null : !own.writebackCache;
  }
}

/**
 * The iSCSI targets that reach the LU, from the newest listing of `itadm list-target -v`: the
 * view's one target (iqn) or its target group's members, and for a view to All targets every
 * target listed; their portal groups with the portals `itadm list-tpg -v` showed.
 */
function resolveTargets(lu: PlanLu, d: ComstarDetails): void {
  const listed = d.targets ?? [];
  const byIqn = new Map(listed.map((t) => [t.iqn.toLowerCase(), t]));
  const iqns = lu.iqn ? [lu.iqn] : lu.targetGroup ? lu.targetGroup.members : listed.map((t) => t.iqn);
  lu.targets = iqns.map((iqn) => {
    const t = byIqn.get(iqn.toLowerCase());
    return { iqn, alias: t?.alias ?? null, tpgs: (t?.tpgTags ?? []).map((x) => x.tpg).filter((x) => x !== 'default') };
  });
  const tags = new Set(lu.targets.flatMap((t) => t.tpgs));
  const portals = (tag: string) => (d.tpgs ?? []).find((p) => p.tag === tag)?.portals ?? [];
  if (!lu.portalGroups.length) lu.portalGroups = [...tags].map((tag) => ({ tag, addresses: portals(tag) }));
  lu.unboundPortalGroups = (d.tpgs ?? []).filter((p) => !tags.has(p.tag)).map((p) => ({ tag: p.tag, addresses: p.portals }));
  const one = lu.iqn ? byIqn.get(lu.iqn.toLowerCase()) : undefined;
  lu.alias ??= one?.alias ?? null;
  lu.chap ||= lu.targets.some((x) => {
    const t = byIqn.get(x.iqn.toLowerCase());
    return t?.chapSecretSet === true || /chap/i.test(t?.auth ?? '');
  });
}
