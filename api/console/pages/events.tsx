/** @jsxImportSource hono/jsx */
/** Events: open first, filters, acknowledge with a note. */
import { EventTable, Layout, ListCount } from '../layout.js';
import type { ConsoleUser } from '../session.js';
import type { EventView } from '../../schemas/catalog.js';
import { EVENT_TYPES } from '../../events/types.js';

/** The filters the events page takes (query string). */
export interface EventFilters {
  state: 'open' | 'acknowledged' | 'resolved' | 'all';
  type?: string;
  severity?: string;
  host?: string;
}

/** The page; `back` returns here after an acknowledgement. */
export function EventsPage({
  user,
  filters,
  open,
  acknowledged,
  resolved,
  back,
  ackers,
  cut,
}: {
  user: ConsoleUser;
  filters: EventFilters;
  open: EventView[];
  acknowledged: EventView[];
  resolved: EventView[];
  back: string;
  /** The names of the tokens that acknowledged the events shown, by id. */
  ackers?: Map<string, string>;
  /** The states whose list reached the page's limit: older events of that state are not listed. */
  cut?: { open: boolean; acknowledged: boolean; resolved: boolean };
}) {
  const types = [...new Set([...EVENT_TYPES, ...(filters.type ? [filters.type] : [])])];
  return (
    <Layout title="Events" user={user}>
      <h1>Events</h1>
      {cut && (cut.open || cut.acknowledged || cut.resolved) && (
        <p class="notice" id="events-cut">
          Only the newest events of each state are listed: narrow them by type, severity or host to see older ones.
        </p>
      )}
      <form method="get" action="/events" class="actions" aria-label="Filter events">
        <div class="field">
          <label for="f-state">State</label>
          <select id="f-state" name="state">
            {(['open', 'acknowledged', 'resolved', 'all'] as const).map((s) => (
              <option value={s} selected={filters.state === s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-type">Type</label>
          <select id="f-type" name="type">
            <option value="">any</option>
            {types.map((t) => (
              <option value={t} selected={filters.type === t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-severity">Severity</label>
          <select id="f-severity" name="severity">
            <option value="">any</option>
            {['critical', 'warning', 'info'].map((s) => (
              <option value={s} selected={filters.severity === s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-host">Host</label>
          <input id="f-host" name="host" type="text" value={filters.host ?? ''} />
        </div>
        <button type="submit">Filter</button>
      </form>
      {(filters.state === 'open' || filters.state === 'all') && (
        <section aria-labelledby="open-h">
          <h2 id="open-h">
            Open <ListCount n={open.length} cut={!!cut?.open} />
          </h2>
          <EventTable events={open} user={user} back={back} caption="Open events" />
        </section>
      )}
      {(filters.state === 'acknowledged' || filters.state === 'all') && (
        <section aria-labelledby="acked-h">
          <h2 id="acked-h">
            Acknowledged <ListCount n={acknowledged.length} cut={!!cut?.acknowledged} />
          </h2>
          <EventTable events={acknowledged} user={user} back={back} caption="Acknowledged events" ackers={ackers} />
        </section>
      )}
      {(filters.state === 'resolved' || filters.state === 'all') && (
        <section aria-labelledby="resolved-h">
          <h2 id="resolved-h">
            Resolved <ListCount n={resolved.length} cut={!!cut?.resolved} />
          </h2>
          <p class="hint">A later capture or check found the condition gone.</p>
          <EventTable events={resolved} user={user} back={back} caption="Resolved events" />
        </section>
      )}
    </Layout>
  );
}
