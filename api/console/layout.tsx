/** @jsxImportSource hono/jsx */
/** The page frame: title, search on every page, navigation, sign-out; and shared pieces of the pages. */
import type { Child } from 'hono/jsx';
import type { ConsoleUser } from './session.js';
import type { ArtifactSummaryView, EventView } from '../schemas/catalog.js';
import { bytes, when } from './format.js';

export const PRODUCT = 'VMFS Recovery Catalog';

export interface LayoutProps {
  title: string;
  user: ConsoleUser | null;
  /**
   * The page cannot tell who is signed in (an error page the catalog answers without reading
   * the session: its database may be out of reach): the footer then says nothing of it.
   */
  userUnknown?: boolean;
  /** The search box's text. */
  q?: string;
  /** The landing page has its own large search box. */
  hideHeaderSearch?: boolean;
  children?: Child;
}

/** The whole HTML document around a page. */
export function Layout(props: LayoutProps) {
  const { user } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${PRODUCT}`}</title>
        <link rel="stylesheet" href="/console.css" />
        <link rel="icon" type="image/svg+xml" href="/favicon.ico" />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            {PRODUCT}
          </a>
          {user && !props.hideHeaderSearch && (
            <form class="search" role="search" method="get" action="/search">
              <label class="visually-hidden" for="header-q">
                Search the catalog
              </label>
              <input id="header-q" name="q" type="search" value={props.q ?? ''} placeholder="UUID, naa./vml. id, label, host, IQN, zvol" />
              <button type="submit">Search</button>
            </form>
          )}
          {user && (
            <nav aria-label="Main">
              <ul>
                <li>
                  <a href="/hosts">Hosts</a>
                </li>
                <li>
                  <a href="/events">Events</a>
                </li>
                {user.role === 'admin' && (
                  <li>
                    <a href="/tokens">Tokens</a>
                  </li>
                )}
              </ul>
            </nav>
          )}
          {user && (
            <form method="post" action="/sign-out">
              <input type="hidden" name="_csrf" value={user.csrf} />
              <button type="submit">Sign out</button>
            </form>
          )}
        </header>
        <main id="main">{props.children}</main>
        <footer>
          {PRODUCT} · {props.userUnknown ? '' : user ? `signed in as ${user.role} · ` : 'not signed in · '}times in UTC · <a href="/docs">API</a>
        </footer>
      </body>
    </html>
  );
}

/**
 * A list's count in its heading: `(12)`, or `(the newest 500; older ones not listed)` for a list
 * the catalog cut at its limit with older rows left out (the view's truncation flag) — a bare
 * `(500)` read as all there is. A list that holds exactly its limit and nothing more keeps `(500)`.
 */
export function ListCount({ n, cut }: { n: number; cut: boolean }) {
  return <span class="group-count">{cut ? `(the newest ${n}; older ones not listed)` : `(${n})`}</span>;
}

/** A time element in UTC. */
export function Time({ iso }: { iso: string | null | undefined }) {
  return iso ? <time datetime={iso}>{when(iso)}</time> : <span>—</span>;
}

/** A table that scrolls sideways on a phone instead of breaking the page. */
export function Table(props: { caption: string; head: string[]; children?: Child }) {
  return (
    // Focusable so a keyboard can scroll a wide table sideways on a small screen.
    <div class="table-wrap" tabindex={0} role="region" aria-label={props.caption}>
      <table>
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            {props.head.map((h) => (
              <th scope="col">{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** The download link of an artifact: the API's streaming content route, which accepts the console session. */
export function artifactHref(id: string): string {
  return `/v1/artifacts/${encodeURIComponent(id)}/content`;
}

/** Artifacts with size, SHA-256, host and time; each name downloads the bytes. */
export function ArtifactTable({ artifacts, caption }: { artifacts: ArtifactSummaryView[]; caption: string }) {
  if (artifacts.length === 0) return <p>No artifacts.</p>;
  return (
    <Table caption={caption} head={['File', 'Kind', 'Size', 'SHA-256', 'Host', 'Collected', 'Parsed']}>
      {artifacts.map((a) => (
        <tr>
          <td>
            <a href={artifactHref(a.id)} download={a.fileName} data-artifact={a.id}>
              {a.fileName}
            </a>
            <br />
            <span class="hint mono">{a.sourcePath}</span>
          </td>
          <td>{a.kind}</td>
          <td>{bytes(a.size)}</td>
          <td>
            <code>{a.sha256}</code>
          </td>
          <td>
            <a href={`/hosts/${encodeURIComponent(a.host)}`}>{a.host}</a>
          </td>
          <td>
            <Time iso={a.collectedAt} />
          </td>
          <td>{a.parseStatus}</td>
        </tr>
      ))}
    </Table>
  );
}

/** Open: neither acknowledged nor resolved (a later capture or check found the condition gone). */
export function isOpen(e: EventView): boolean {
  return !e.acknowledged && !e.resolvedAt;
}

/**
 * Who acknowledged an event: the token's name where `names` has it, with its id (names need not be
 * unique); the bootstrap token (CATALOG_BOOTSTRAP_TOKEN) has no row and is called that.
 */
function AcknowledgedBy({ id, names }: { id: string | null; names?: Map<string, string> }) {
  if (!id) return null;
  if (id === 'bootstrap') return <> by the bootstrap admin token</>;
  const name = names?.get(id);
  return (
    <>
      {' '}
      by {name ? <>“{name}” (token </> : 'token '}
      <code>{id}</code>
      {name ? ')' : ''}
    </>
  );
}

/** Events, with an acknowledge form on each open one; an acknowledged one says when, by which token (`ackers`: names by id) and its note. */
export function EventTable({
  events,
  user,
  back,
  caption,
  ackers,
}: {
  events: EventView[];
  user: ConsoleUser;
  back: string;
  caption: string;
  ackers?: Map<string, string>;
}) {
  if (events.length === 0) return <p>No events.</p>;
  return (
    <Table caption={caption} head={['When', 'Severity', 'Event', 'Where', 'State']}>
      {events.map((e) => (
        <tr id={`event-${e.id}`}>
          <td>
            <Time iso={e.createdAt} />
          </td>
          <td class={`sev-${e.severity}`}>{e.severity}</td>
          <td>
            <span class="tag">{e.type}</span> {e.message}
          </td>
          <td>
            {e.vmfsUuid && (
              <div>
                <a href={`/volumes/${e.vmfsUuid}`}>volume {e.vmfsUuid}</a>
              </div>
            )}
            {e.deviceId && (
              <div>
                <a href={`/luns/${encodeURIComponent(e.deviceId)}`}>{e.deviceId}</a>
              </div>
            )}
            {e.host && (
              <div>
                <a href={`/hosts/${encodeURIComponent(e.host)}`}>{e.host}</a>
              </div>
            )}
          </td>
          <td>
            {e.acknowledged ? (
              <span>
                acknowledged <Time iso={e.acknowledgedAt} />
                <AcknowledgedBy id={e.acknowledgedBy} names={ackers} />
                {e.ackNote && (
                  <>
                    : <q>{e.ackNote}</q>
                  </>
                )}
              </span>
            ) : e.resolvedAt ? (
              <span>
                resolved <Time iso={e.resolvedAt} />
              </span>
            ) : (
              <form class="inline-form" method="post" action={`/events/${e.id}/ack`}>
                <input type="hidden" name="_csrf" value={user.csrf} />
                <input type="hidden" name="back" value={back} />
                <label class="visually-hidden" for={`note-${e.id}`}>
                  Note for event {e.id}
                </label>
                <input id={`note-${e.id}`} name="note" type="text" maxlength={2000} placeholder="note (what was done)" />
                <button type="submit" class="secondary">
                  Acknowledge
                </button>
              </form>
            )}
          </td>
        </tr>
      ))}
    </Table>
  );
}
