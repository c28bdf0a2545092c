/** @jsxImportSource hono/jsx */
/** The landing page (a search box and what it takes) and search results grouped by type. */
import { Layout, Time } from '../layout.js';
import type { ConsoleUser } from '../session.js';
import type { SearchHit, SearchResult } from '../../read/search.js';
import { bytes, understood } from '../format.js';

const EXAMPLES = [
  ['VMFS UUID, any spelling', '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c'],
  ['NAA or bare hex, any case', 'naa.600144F0AABBCCDD…'],
  ['vml. id, with or without :1', 'vml.0200030000600144f0…'],
  ['label or fragment', 'prod-datastore'],
  ['host, IQN, zvol path', '/dev/zvol/rdsk/tank/vmfs/lun3'],
];

/** The landing page. */
export function LandingPage({ user }: { user: ConsoleUser }) {
  return (
    <Layout title="Search" user={user} hideHeaderSearch>
      <div class="landing">
        <h1>What do you still know?</h1>
        <form method="get" action="/search" role="search">
          <label class="visually-hidden" for="q">
            Search the catalog
          </label>
          <input id="q" name="q" type="search" autofocus required aria-describedby="q-hint" placeholder="Paste an id, a label, a host…" />
          <button type="submit" class="big">
            Search
          </button>
        </form>
        <div id="q-hint" class="hint">
          <p>Paste anything you have:</p>
          <ul>
            {EXAMPLES.map(([what, e]) => (
              <li>
                {what}: <code>{e}</code>
              </li>
            ))}
          </ul>
          <p>One clear answer opens its page directly; its page has the restore bundle.</p>
        </div>
      </div>
    </Layout>
  );
}

/** Where a hit leads in the console. */
export function hitHref(h: SearchHit): string {
  switch (h.type) {
    case 'volume':
      return `/volumes/${h.vmfsUuid}`;
    case 'lun':
      return `/luns/${encodeURIComponent(h.deviceId)}`;
    case 'host':
      return `/hosts/${encodeURIComponent(h.name)}`;
    case 'target':
      return h.deviceId ? `/luns/${encodeURIComponent(h.deviceId)}` : `/hosts/${encodeURIComponent(h.storageHost)}`;
    case 'snapshot':
      return `/hosts/${encodeURIComponent(h.host)}`;
  }
}

const GROUPS: Array<{ type: SearchHit['type']; title: string }> = [
  { type: 'volume', title: 'Volumes' },
  { type: 'lun', title: 'Devices (LUNs)' },
  { type: 'target', title: 'iSCSI LUs' },
  { type: 'host', title: 'Hosts' },
  { type: 'snapshot', title: 'ZFS snapshots' },
];

function HitLine({ h }: { h: SearchHit }) {
  const href = hitHref(h);
  switch (h.type) {
    case 'volume':
      return (
        <li>
          <a href={href}>{h.label ?? '(no label)'}</a> {h.earlierLabel && <span class="tag">formerly {h.earlierLabel}</span>} <code>{h.vmfsUuid}</code>{' '}
          {h.version && <span class="tag">{h.version}</span>} · last seen <Time iso={h.lastSeen} />
        </li>
      );
    case 'lun':
      return (
        <li>
          <a href={href}>
            <code>{h.deviceId}</code>
          </a>{' '}
          · LUN {h.lun ?? '?'} · {[h.vendor, h.model].filter(Boolean).join(' ')} · {bytes(h.sizeBytes)} · last seen <Time iso={h.lastSeen} />
        </li>
      );
    case 'target':
      return (
        <li>
          <a href={href}>
            {h.storageHost} LUN {h.lun ?? '?'}
            {h.deviceId ? ` (${h.deviceId})` : ''}
          </a>{' '}
          · {h.stack} · <code>{h.iqn ?? '—'}</code>
          {h.alias && <> ({h.alias})</>} · LUN {h.lun ?? '?'} · <code>{h.backingStore ?? '—'}</code>
        </li>
      );
    case 'host':
      return (
        <li>
          <a href={href}>{h.name}</a> · {h.kind} · last seen <Time iso={h.lastSeen} />
        </li>
      );
    case 'snapshot':
      return (
        <li>
          <a href={href}>{h.host}</a> · <code>{h.name}</code> · created <Time iso={h.createdAt} /> · used {bytes(h.usedBytes)}
        </li>
      );
  }
}

/** Results: how the query was read, then the hits by type. */
export function ResultsPage({ user, q, result }: { user: ConsoleUser; q: string; result: SearchResult }) {
  return (
    <Layout title={`Search: ${q}`} user={user} q={q}>
      <h1>
        Search: <code>{q}</code>
      </h1>
      <p class="notice" id="understood">
        Understood as {understood(result.query)}.
      </p>
      {result.hits.length === 0 && <p>Nothing in the catalog matches. Try another spelling or a fragment of the label or host name.</p>}
      {GROUPS.map(({ type, title }) => {
        const hits = result.hits.filter((h) => h.type === type);
        if (hits.length === 0) return null;
        return (
          <section aria-labelledby={`group-${type}`} data-group={type}>
            <h2 id={`group-${type}`}>
              {title} <span class="group-count">({hits.length})</span>
            </h2>
            <ul>
              {hits.map((h) => (
                <HitLine h={h} />
              ))}
            </ul>
          </section>
        );
      })}
      {result.truncated && <p class="hint">More hits exist: make the query more precise.</p>}
      {result.capped && (
        <p class="hint" id="capped">
          This fragment starts a word of more names than a search ranks: those shown are the shortest of them, in name order. A longer fragment ranks them all.
        </p>
      )}
    </Layout>
  );
}
