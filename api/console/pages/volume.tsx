/** @jsxImportSource hono/jsx */
/** The volume page (what an operator restores from) and the device (LUN) page. */
import { ArtifactTable, EventTable, Layout, ListCount, Table, Time, isOpen } from '../layout.js';
import type { ConsoleUser } from '../session.js';
import { type ExtentView, type LunView, type SnapshotView, type TargetView, VIEW_LIMITS, type VolumeView } from '../../schemas/catalog.js';
import { Timeline, timelinePoints, type TimelinePoint } from '../timeline.js';
import { bytes, decodeVmfsUuid, when } from '../format.js';

function ExtentTable({ extents }: { extents: ExtentView[] }) {
  if (extents.length === 0) return <p>No extents seen.</p>;
  return (
    <Table caption="Extents" head={['Device id', 'vml.', 'LUN', 'Host', 'Partition', 'Source', 'Last seen']}>
      {extents.map((e) => (
        <tr>
          <td>
            {e.deviceId ? (
              <a href={`/luns/${encodeURIComponent(e.deviceId)}`}>
                <code>{e.deviceId}</code>
              </a>
            ) : (
              <code>{e.devicePath ?? '—'}</code>
            )}
          </td>
          <td>
            <code>{e.vml ?? '—'}</code>
          </td>
          <td>{e.lun ?? '—'}</td>
          <td>
            <a href={`/hosts/${encodeURIComponent(e.host)}`}>{e.host}</a>
          </td>
          <td>
            {e.partition ? (
              e.partition.missing ? (
                <strong class="sev-critical">missing</strong>
              ) : (
                `${e.partition.scheme ?? '?'} #${e.partition.index ?? '?'} from LBA ${e.partition.startLba ?? '?'}`
              )
            ) : (
              '—'
            )}
          </td>
          <td>{e.source}</td>
          <td>
            <Time iso={e.seenAt} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

function TargetTable({ targets }: { targets: TargetView[] }) {
  if (targets.length === 0) return <p>No iSCSI LU presenting these devices is in the catalog.</p>;
  return (
    <Table caption="iSCSI LUs" head={['Storage host', 'Stack', 'IQN', 'Alias', 'LUN', 'Device id', 'Backing store', 'Size', 'Seen']}>
      {targets.map((t) => (
        <tr>
          <td>
            <a href={`/hosts/${encodeURIComponent(t.storageHost)}`}>{t.storageHost}</a>
          </td>
          <td>{t.stack}</td>
          <td>
            <code>{t.iqn ?? '—'}</code>
          </td>
          <td>{t.alias ?? '—'}</td>
          <td>{t.lun ?? '—'}</td>
          <td>
            <code>{t.deviceId ?? '—'}</code>
          </td>
          <td>
            <code>{t.backingStore ?? '—'}</code>
          </td>
          <td>{bytes(t.sizeBytes)}</td>
          <td>
            <Time iso={t.seenAt} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

function SnapshotTable({ snapshots }: { snapshots: SnapshotView[] }) {
  if (snapshots.length === 0) return <p>No ZFS snapshots of the backing stores are in the catalog.</p>;
  return (
    <Table caption="ZFS snapshots" head={['Snapshot', 'Host', 'Created', 'Used']}>
      {snapshots.map((s) => (
        <tr>
          <td>
            <code>{s.name}</code>
          </td>
          <td>{s.host}</td>
          <td>
            <Time iso={s.createdAt} />
          </td>
          <td>{bytes(s.usedBytes)}</td>
        </tr>
      ))}
    </Table>
  );
}

/**
 * The restore actions: the newest bundle and DR plan in one click each, or either as of a chosen
 * capture (one form: each button sends `at=` to its own route, the plan's with `format=text`).
 */
function RestoreActions({ bundleHref, points, drPlanHref, cut }: { bundleHref: string; points: TimelinePoint[]; drPlanHref?: string; cut: boolean }) {
  const newestFirst = [...points].reverse();
  return (
    <section aria-labelledby="restore">
      <h2 id="restore">Restore</h2>
      <div class="actions">
        {/* No `download`: the bundle comes as an attachment, and a refused one (a damaged dump) shows its reason as a page instead of a failed download. */}
        <a class="button big" id="restore-bundle" href={bundleHref}>
          Restore bundle (newest captures)
        </a>
        {newestFirst.length > 0 && (
          <form method="get" action={bundleHref}>
            <div class="field">
              <label for="as-of">As of capture</label>
              <select id="as-of" name="at">
                {newestFirst.map((p) => (
                  <option value={p.collectedAt}>{`${when(p.collectedAt)} · ${p.host}${p.changes.length ? ` · changed: ${p.changes.join(', ')}` : ''}`}</option>
                ))}
              </select>
            </div>
            <button type="submit" class="secondary">
              Download bundle as of then
            </button>
            {drPlanHref && (
              <button type="submit" class="secondary" formaction={drPlanHref} name="format" value="text">
                DR plan as of then
              </button>
            )}
          </form>
        )}
        {drPlanHref && <a href={`${drPlanHref}?format=text`}>DR plan (text): storage commands in order</a>}
      </div>
      <p class="hint">
        A bundle is a <code>.tar.gz</code> with the artifacts, <code>SHA256SUMS</code>, <code>RESTORE.md</code> and a checked <code>restore.sh</code> (dry run
        unless <code>--apply</code>). The DR plan as of a capture is made from the captures up to then and backs each LU with a clone of the newest ZFS snapshot
        taken before it.
      </p>
      {cut && (
        <p class="hint" id="older-captures">
          The list holds the captures of the newest {VIEW_LIMITS.artifacts} artifacts. For an older capture, add <code>?at=</code> and its time with a zone (
          <code>?at=2026-01-31T02:00:00Z</code>) to the address of the restore bundle link.
        </p>
      )}
    </section>
  );
}

/** The volume page. `via` is the search that led here, when it did. */
export function VolumePage({ user, v, via }: { user: ConsoleUser; v: VolumeView; via?: string }) {
  const decoded = decodeVmfsUuid(v.vmfsUuid);
  const points = timelinePoints(v.artifacts, v.events);
  const open = v.events.filter(isOpen);
  const base = `/v1/volumes/${v.vmfsUuid}`;
  return (
    <Layout title={`Volume ${v.label ?? v.vmfsUuid}`} user={user} q={via}>
      {via && (
        <p class="notice">
          Your search <code>{via}</code> names this volume.
        </p>
      )}
      <h1>Volume {v.label ?? <code>{v.vmfsUuid}</code>}</h1>
      <dl class="facts">
        <dt>Label</dt>
        <dd>{v.label ?? '—'}</dd>
        <dt>VMFS UUID</dt>
        <dd>
          <code id="vmfs-uuid">{v.vmfsUuid}</code>
        </dd>
        <dt>Created</dt>
        <dd>
          <Time iso={v.createdAt ?? decoded?.createdAt} /> <span class="hint">(from the UUID)</span>
        </dd>
        <dt>Creator MAC</dt>
        <dd>
          <code>{v.creatorMac ?? decoded?.creatorMac ?? '—'}</code>
        </dd>
        <dt>Version</dt>
        <dd>{v.version ?? '—'}</dd>
        <dt>Block size</dt>
        <dd>{bytes(v.blockSize)}</dd>
        <dt>Seen</dt>
        <dd>
          <Time iso={v.firstSeen} /> to <Time iso={v.lastSeen} />
        </dd>
        <dt>Segment UUIDs</dt>
        <dd>{v.segmentUuids.length ? v.segmentUuids.map((s) => <code>{s} </code>) : '—'}</dd>
      </dl>
      <RestoreActions bundleHref={`${base}/restore-bundle`} points={points} drPlanHref={`${base}/dr-plan`} cut={v.artifactsTruncated} />
      <h2>Timeline</h2>
      <Timeline points={points} cut={v.artifactsTruncated} />
      <h2 id="open-events">
        Open events <span class="group-count">({open.length})</span>
      </h2>
      <EventTable events={open} user={user} back={`/volumes/${v.vmfsUuid}`} caption="Open events of this volume" />
      <h2>Extents</h2>
      <ExtentTable extents={v.extents} />
      <h2>iSCSI LUs behind the extents</h2>
      <TargetTable targets={v.targets} />
      <h2>ZFS snapshots of the backing stores</h2>
      <SnapshotTable snapshots={v.snapshots} />
      <h2>
        Artifacts <ListCount n={v.artifacts.length} cut={v.artifactsTruncated} />
      </h2>
      <ArtifactTable artifacts={v.artifacts} caption="Artifacts of this volume" />
    </Layout>
  );
}

/** The device (LUN) page. */
export function LunPage({ user, l }: { user: ConsoleUser; l: LunView }) {
  const points = timelinePoints(l.artifacts, l.events);
  const open = l.events.filter(isOpen);
  return (
    <Layout title={`Device ${l.deviceId}`} user={user}>
      <h1>
        Device <code>{l.deviceId}</code>
      </h1>
      <dl class="facts">
        <dt>LUN</dt>
        <dd>{l.lun ?? '—'}</dd>
        <dt>vml.</dt>
        <dd>
          <code>{l.vml ?? '—'}</code>
        </dd>
        <dt>Vendor / model</dt>
        <dd>{[l.vendor, l.model].filter(Boolean).join(' ') || '—'}</dd>
        <dt>Size</dt>
        <dd>{bytes(l.sizeBytes)}</dd>
        <dt>Last seen</dt>
        <dd>
          <Time iso={l.lastSeen} />
        </dd>
        <dt>Volumes</dt>
        <dd>
          {l.volumes.length
            ? l.volumes.map((v) => (
                <div>
                  <a href={`/volumes/${v.vmfsUuid}`}>{v.label ?? v.vmfsUuid}</a> <code>{v.vmfsUuid}</code>
                </div>
              ))
            : '—'}
        </dd>
      </dl>
      <RestoreActions bundleHref={`/v1/luns/${encodeURIComponent(l.deviceId)}/restore-bundle`} points={points} cut={l.artifactsTruncated} />
      <h2>
        Open events <span class="group-count">({open.length})</span>
      </h2>
      <EventTable events={open} user={user} back={`/luns/${encodeURIComponent(l.deviceId)}`} caption="Open events of this device" />
      <h2>Extents</h2>
      <ExtentTable extents={l.extents} />
      <h2>iSCSI LUs</h2>
      <TargetTable targets={l.targets} />
      <h2>ZFS snapshots of the backing stores</h2>
      <SnapshotTable snapshots={l.snapshots} />
      <h2>
        Artifacts <ListCount n={l.artifacts.length} cut={l.artifactsTruncated} />
      </h2>
      <ArtifactTable artifacts={l.artifacts} caption="Artifacts of this device" />
    </Layout>
  );
}
