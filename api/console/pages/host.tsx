/** @jsxImportSource hono/jsx */
/** The hosts list and one host: kind, last capture and its age (stale flagged), what it held. */
import { ArtifactTable, EventTable, Layout, ListCount, Table, Time, isOpen } from '../layout.js';
import type { ConsoleUser } from '../session.js';
import type { HostDetailView, HostView } from '../../schemas/catalog.js';
import { ago, bytes } from '../format.js';
import { DEFAULT_HOST_LIMIT } from '../../read/hosts.js';

function Age({ h, now }: { h: HostView; now: Date }) {
  const when = h.lastCapture?.collectedAt;
  return (
    <span class={h.stale ? 'stale' : undefined}>
      {ago(when, now)}
      {h.stale && ' — stale'}
    </span>
  );
}

/**
 * The hosts by name, a page at a time (GET /v1/hosts's pages): `after` names the host the page
 * starts after (null: the first page), `nextAfter` the next page's (null: this is the last).
 */
export function HostsPage({
  user,
  hosts,
  after,
  nextAfter,
  now,
  staleAfterHours,
}: {
  user: ConsoleUser;
  hosts: HostView[];
  after: string | null;
  nextAfter: string | null;
  now: Date;
  staleAfterHours: number;
}) {
  const stale = hosts.filter((h) => h.stale).length;
  const paged = after !== null || nextAfter !== null;
  return (
    <Layout title="Hosts" user={user}>
      <h1>
        Hosts <span class="group-count">{paged ? `(${hosts.length} on this page, ${stale} of them stale)` : `(${hosts.length}, ${stale} stale)`}</span>
      </h1>
      <p class="hint">
        A host is stale when its last capture is older than {staleAfterHours} hours.{paged && ` Listed by name, ${DEFAULT_HOST_LIMIT} to a page.`}
      </p>
      <Table caption="Hosts" head={['Host', 'Kind', 'Last capture', 'Age', 'Artifacts']}>
        {hosts.map((h) => (
          <tr>
            <td>
              <a href={`/hosts/${encodeURIComponent(h.name)}`}>{h.name}</a>
            </td>
            <td>{h.kind}</td>
            <td>
              <Time iso={h.lastCapture?.collectedAt} />
            </td>
            <td>
              <Age h={h} now={now} />
            </td>
            <td>{h.lastCapture?.artifactCount ?? 0}</td>
          </tr>
        ))}
      </Table>
      {paged && (
        <p>
          {after !== null && <a href="/hosts">First page</a>}
          {after !== null && nextAfter !== null && ' · '}
          {nextAfter !== null && (
            <a href={`/hosts?after=${encodeURIComponent(nextAfter)}`} rel="next">
              Next page (after {nextAfter})
            </a>
          )}
        </p>
      )}
    </Layout>
  );
}

/** One host. */
export function HostPage({ user, h, now }: { user: ConsoleUser; h: HostDetailView; now: Date }) {
  const open = h.events.filter(isOpen);
  return (
    <Layout title={`Host ${h.name}`} user={user}>
      <h1>Host {h.name}</h1>
      {h.stale && (
        <p class="notice bad" role="status">
          {h.lastCapture ? `Its last capture was ${ago(h.lastCapture.collectedAt, now)}` : 'It has no capture yet'}: the host is stale. Check its collector
          (cron, spool, token).
        </p>
      )}
      <dl class="facts">
        <dt>Kind</dt>
        <dd>{h.kind}</dd>
        <dt>System UUID</dt>
        <dd>
          <code>{h.systemUuid ?? '—'}</code>
        </dd>
        <dt>Last capture</dt>
        <dd>
          <Time iso={h.lastCapture?.collectedAt} /> (<Age h={h} now={now} />)
          {h.lastCapture && (
            <>
              {' '}
              · collector {h.lastCapture.collectorVersion} · {h.lastCapture.artifactCount} artifacts
            </>
          )}
        </dd>
        <dt>First seen</dt>
        <dd>
          <Time iso={h.firstSeen} />
        </dd>
      </dl>
      <h2>What the last capture held</h2>
      <ArtifactTable artifacts={h.artifacts} caption="Artifacts of the last capture" />
      <h2>Volumes seen here</h2>
      {h.volumes.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul>
          {h.volumes.map((v) => (
            <li>
              <a href={`/volumes/${v.vmfsUuid}`}>{v.label ?? v.vmfsUuid}</a> <code>{v.vmfsUuid}</code> · last seen <Time iso={v.lastSeen} />
            </li>
          ))}
        </ul>
      )}
      <h2>iSCSI LUs presented</h2>
      {h.targets.length === 0 ? (
        <p>None.</p>
      ) : (
        <Table caption="iSCSI LUs presented by this host" head={['Stack', 'IQN', 'Alias', 'LUN', 'Device id', 'Backing store', 'Size']}>
          {h.targets.map((t) => (
            <tr>
              <td>{t.stack}</td>
              <td>
                <code>{t.iqn ?? '—'}</code>
              </td>
              <td>{t.alias ?? '—'}</td>
              <td>{t.lun ?? '—'}</td>
              <td>
                {t.deviceId ? (
                  <a href={`/luns/${encodeURIComponent(t.deviceId)}`}>
                    <code>{t.deviceId}</code>
                  </a>
                ) : (
                  '—'
                )}
              </td>
              <td>
                <code>{t.backingStore ?? '—'}</code>
              </td>
              <td>{bytes(t.sizeBytes)}</td>
            </tr>
          ))}
        </Table>
      )}
      <h2>
        Open events <span class="group-count">({open.length})</span>
      </h2>
      <EventTable events={open} user={user} back={`/hosts/${encodeURIComponent(h.name)}`} caption="Open events of this host" />
      {h.openCaptures.length > 0 && (
        <>
          <h2>
            Open captures <span class="group-count">({h.openCaptures.length})</span>
          </h2>
          <p>
            Begun and not committed. The catalog drops one 24 h after its last begin (one a stopped run left declared in part, an hour after); an admin can drop
            one now with <code>DELETE /v1/captures/&#123;id&#125;</code>, and the collector sends it again with its next run. One declared in part is a
            collector still reading, or a run that stopped while it read (killed, rebooted) and spooled nothing, which no run sends again.
          </p>
          <Table caption="Open captures" head={['Collected', 'Last begun', 'Artifacts', 'Commit job', 'Capture id']}>
            {h.openCaptures.map((c) => (
              <tr>
                <td>
                  <Time iso={c.collectedAt} />
                </td>
                <td>
                  <Time iso={c.lastBegunAt} />
                </td>
                <td>
                  {c.artifactCount}
                  {c.partial ? ' (declared in part)' : ''}
                </td>
                <td>{c.commitJob ? `${c.commitJob.state}${c.commitJob.error ? `: ${c.commitJob.error}` : ''}` : '—'}</td>
                <td>
                  <code>{c.id}</code>
                </td>
              </tr>
            ))}
          </Table>
        </>
      )}
      <h2>
        Captures <ListCount n={h.captures.length} cut={h.capturesTruncated} />
      </h2>
      <Table caption="Captures" head={['Collected', 'Committed', 'Collector', 'Artifacts', 'Capture id']}>
        {h.captures.map((c) => (
          <tr>
            <td>
              <Time iso={c.collectedAt} />
            </td>
            <td>
              <Time iso={c.committedAt} />
            </td>
            <td>{c.collectorVersion}</td>
            <td>{c.artifactCount}</td>
            <td>
              <code>{c.id}</code>
            </td>
          </tr>
        ))}
      </Table>
    </Layout>
  );
}
