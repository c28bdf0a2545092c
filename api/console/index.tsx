/** @jsxImportSource hono/jsx */
/**
 * The web console: server-rendered pages on the same read modules as the JSON routes
 * (read/, admin/), served by the same app at `/`. Downloads are links to the API's own
 * streaming routes, which accept the console session for GET (see `downloadSession`).
 * Without JavaScript everything reads and downloads; forms are plain POSTs with a CSRF token.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { bodyLimit } from 'hono/body-limit';
import { isFormatError } from '../../formats/errors.js';
import { parseQuery } from '../../formats/ids.js';
import type { App, AppEnv } from '../context.js';
import { CONTROL_CHARS } from '../ingest/limits.js';
import { ApiError, toApiError } from '../errors.js';
import { recordAudit } from '../http/audit.js';
import { deviceIdParam, vmfsUuidParam } from '../http/params.js';
import { ackNote, acknowledgeEvent, listEvents } from '../read/events.js';
import { DEFAULT_HOST_LIMIT, getHost, listHosts } from '../read/hosts.js';
import { searchCatalog, type SearchResult } from '../read/search.js';
import { listTokens, tokenNames } from '../read/tokens.js';
import { getLun, getVolume } from '../read/volumes.js';
import { createToken, revokeToken } from '../admin/tokens.js';
import { TokenCreate } from '../schemas/admin.js';
import { isLoopback, publicPathPrefix } from '../config.js';
import { localPath } from './format.js';
import { FAVICON_HEADERS, FAVICON_SVG } from './favicon.js';
import { CONSOLE_CSS } from './style.js';
import { csrfMatches, sameSiteRequest, sessionUser, signIn, signOut, type ConsoleUser } from './session.js';
import { ProblemPage, SignInPage } from './pages/sign-in.js';
import { LandingPage, ResultsPage, hitHref } from './pages/search.js';
import { LunPage, VolumePage } from './pages/volume.js';
import { HostPage, HostsPage } from './pages/host.js';
import { EventsPage, type EventFilters } from './pages/events.js';
import { TokensPage, type JustCreated } from './pages/tokens.js';

type C = Context<AppEnv>;

/** Form posts are small: a token, a note, a name. */
const MAX_FORM_BYTES = 64 * 1024;
/** The API routes a browser follows with the console session: downloads and the DR plan text. */
const DOWNLOAD_PATH = /^\/v1\/(artifacts\/[^/]+\/content|volumes\/[^/]+\/(restore-bundle|dr-plan)|luns\/[^/]+\/restore-bundle)$/;

const CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function html(c: C, node: unknown, status: ContentfulStatusCode = 200): Response {
  c.header('Content-Security-Policy', CSP);
  c.header('Cache-Control', 'no-store');
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'same-origin');
  return c.html(`<!doctype html>${underPrefix(c, String(node))}`, status);
}

/**
 * The page with each of its own absolute paths (href, action, formaction, src: the pages
 * write them all from `/`) under PUBLIC_URL's path, for a catalog a reverse proxy serves
 * under it (config.ts publicPathPrefix). JSX writes every attribute in double quotes with
 * `"` escaped, so an attribute's value cannot start one of these; text holding `href="/`
 * only reads differently.
 */
function underPrefix(c: C, page: string): string {
  const prefix = publicPathPrefix(c.var.services.config.PUBLIC_URL).replace(/&/g, '&amp;');
  return prefix ? page.replace(/(\s(?:href|action|formaction|src)=")\/(?!\/)/g, (_m, attr: string) => `${attr}${prefix}/`) : page;
}

function problem(c: C, user: ConsoleUser | null, e: ApiError): Response {
  const title = e.status === 404 ? 'Not found' : e.status === 403 ? 'Not allowed' : 'Cannot do that';
  const status = ([400, 401, 403, 404, 409] as const).find((s) => s === e.status) ?? 400;
  return html(c, <ProblemPage user={user} title={title} message={e.message} />, status);
}

/**
 * A browser's unknown page (`/login`, a mistyped link) as an HTML 404 in the console's frame,
 * or null for an API client (no text/html in Accept) and for any /v1 path, whose callers
 * read the JSON error shape.
 */
export async function notFoundPage(c: C): Promise<Response | null> {
  if (/^\/v1(\/|$)/.test(c.req.path) || !(c.req.header('accept') ?? '').includes('text/html')) return null;
  const user = await sessionUser(c);
  return html(c, <ProblemPage user={user} title="Not found" message={`There is no page at ${c.req.path}.`} />, 404);
}

/**
 * The console search a browser sent with a tab, CR, LF, VT or FF in its query (an input keeps
 * a pasted tab: a column of `zfs list -H`, a spreadsheet cell) as the relative URL of the same
 * search with each as a blank, or null for any other request or any other control character,
 * which the app's URL check refuses. Relative, so a redirect to it stays under PUBLIC_URL's path.
 */
export function searchWithBlanks(method: string, path: string, rawUrl: string): string | null {
  if (method !== 'GET' || path !== '/search') return null;
  const { search } = new URL(rawUrl);
  if (/%(?![0-9A-Fa-f]{2})/.test(search)) return null;
  const query = new URLSearchParams();
  for (const [k, v] of new URLSearchParams(search)) {
    const value = k === 'q' ? v.replace(/[\t\n\v\f\r]/g, ' ') : v;
    if (CONTROL_CHARS.test(k) || CONTROL_CHARS.test(value)) return null;
    query.append(k, value);
  }
  return `?${query.toString()}`;
}

/**
 * A failed request of a browser outside /v1 (a console page, a form post) or on a console link
 * into it (a restore bundle, the DR plan, an artifact, without a bearer token) as a page in the
 * console's frame, or null for an API client and any other /v1 request, which keep the JSON error
 * `answer` is. The same status, Retry-After and request id: a 503 says the database or store
 * is out of reach and when to retry, a 500 which request id the catalog's log names the cause
 * under, any other its own message (a 502 chunk_corrupt names the damaged artifact). Only a 4xx looks up the session (for the header): a 5xx may be
 * the database itself.
 */
export async function errorPage(c: C, answer: Response): Promise<Response | null> {
  if (!(c.req.header('accept') ?? '').includes('text/html')) return null;
  // A console link to a download or the DR plan, followed by a browser without a bearer token, is the console's too.
  const link = !c.req.header('authorization') && DOWNLOAD_PATH.test(c.req.path);
  if (/^\/v1(\/|$)/.test(c.req.path) && !link) return null;
  const { error } = (await answer.clone().json()) as { error: { message: string; requestId: string } };
  const status = answer.status as ContentfulStatusCode;
  const retryAfter = answer.headers.get('retry-after');
  // A 5xx page reads no session (the database may be what failed), and a 4xx one whose session
  // read fails cannot tell either: such a page says nothing of who is signed in.
  let userUnknown = status >= 500;
  const user = userUnknown
    ? null
    : await sessionUser(c).catch(() => {
        userUnknown = true;
        return null;
      });
  let title = status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : status === 401 ? 'Not signed in' : 'Cannot do that';
  let message = error.message;
  if (status === 503) {
    title = 'Catalog unavailable';
    message = `The catalog cannot reach its database or its store right now${retryAfter ? `: reload this page in ${retryAfter} seconds` : ''}. If it stays so, the catalog's log says why (request id ${error.requestId}); /readyz says which of the two is down.`;
  } else if (status > 500) {
    // A refusal the catalog explains (502 chunk_corrupt: the bytes a bundle needs are damaged).
    title = 'Catalog refused';
  } else if (status === 500) {
    title = 'Catalog error';
    message = `The catalog failed to answer this page (${error.message}). Its log names the cause under request id ${error.requestId}.`;
  }
  const page = html(c, <ProblemPage user={user} userUnknown={userUnknown} title={title} message={message} />, status);
  if (retryAfter) page.headers.set('retry-after', retryAfter);
  page.headers.set('x-request-id', error.requestId);
  return page;
}

/** The path and query of this request, to come back to after signing in. */
function here(c: C): string {
  const u = new URL(c.req.url);
  return u.pathname + u.search;
}

type Page = (c: C, user: ConsoleUser) => Promise<Response>;

/** A page for a signed-in user (admin only when asked); 4xx errors become pages, not JSON. */
function page(handler: Page, opts: { admin?: boolean; post?: boolean } = {}) {
  return async (c: C): Promise<Response> => {
    if (opts.post && !sameSiteRequest(c)) return problem(c, null, new ApiError('forbidden', 'This form was sent from another site: refused.'));
    const user = await sessionUser(c);
    if (!user) {
      if (opts.post) return problem(c, null, new ApiError('unauthorized', 'You are not signed in (or the session ended). Sign in and try again.'));
      return c.redirect(`/sign-in?next=${encodeURIComponent(here(c))}`, 303);
    }
    // The same principal the API's guards see, for the audit rows of console actions.
    c.set('principal', { tokenId: user.tokenId, role: user.role, host: user.host });
    if (opts.admin && user.role !== 'admin') {
      return problem(c, user, new ApiError('forbidden', 'Tokens are managed by admins; this session has the operator role.'));
    }
    if (opts.post) {
      const form = await c.req.parseBody();
      if (!csrfMatches(user, form._csrf))
        return problem(c, user, new ApiError('forbidden', 'The form is missing its CSRF token or is from an old page: reload and try again.'));
    }
    try {
      return await handler(c, user);
    } catch (e) {
      const api = toApiError(e);
      if (api.status < 500) return problem(c, user, api);
      throw e;
    }
  };
}

async function search(c: C, q: string): Promise<SearchResult | null> {
  try {
    return await searchCatalog(c.var.services.db, parseQuery(q), 50);
  } catch (e) {
    if (isFormatError(e)) return null;
    throw e;
  }
}

/**
 * Where a search goes without showing a list: its only hit, or, for an exact id (UUID,
 * device id, vml., 32 hex digits), the one volume it names — whose page has the LUs,
 * targets and the restore bundle.
 */
function straightTo(r: SearchResult): string | null {
  if (r.hits.length === 1) return hitHref(r.hits[0]);
  const volumes = r.hits.filter((h) => h.type === 'volume');
  if (['vmfsUuid', 'deviceId', 'vml', 'hex'].includes(r.query.type) && volumes.length === 1) return hitHref(volumes[0]);
  return null;
}

function eventFilters(c: C): EventFilters {
  const q = c.req.query();
  const state = q.state === 'acknowledged' || q.state === 'resolved' || q.state === 'all' ? q.state : 'open';
  const clean = (s: string | undefined) => (s && s.trim() ? s.trim().slice(0, 255) : undefined);
  const severity = ['info', 'warning', 'critical'].includes(q.severity ?? '') ? q.severity : undefined;
  return { state, type: clean(q.type), severity, host: clean(q.host) };
}

/** Registers the console: the download session bridge, the stylesheet, and the pages. */
export function registerConsole(app: App): void {
  // A browser following a download link carries the session cookie, not a bearer token.
  app.use('/v1/*', async (c, next) => {
    if ((c.req.method === 'GET' || c.req.method === 'HEAD') && !c.req.header('authorization') && DOWNLOAD_PATH.test(c.req.path)) {
      const user = await sessionUser(c);
      if (user) c.set('principal', { tokenId: user.tokenId, role: user.role, host: user.host });
    }
    await next();
  });
  // `/hosts/*` matches `/hosts` too: listing both ran each middleware twice there (a redirect prefixed twice).
  for (const path of ['/', '/sign-in', '/sign-out', '/search', '/volumes/*', '/luns/*', '/hosts/*', '/events/*', '/tokens/*']) {
    // A redirect to one of the console's own paths goes under PUBLIC_URL's path too (see underPrefix).
    app.use(path, async (c, next) => {
      await next();
      const prefix = publicPathPrefix(c.var.services.config.PUBLIC_URL);
      const to = c.res.headers.get('location');
      if (prefix && to?.startsWith('/') && !to.startsWith('//')) c.res.headers.set('location', prefix + to);
    });
    app.use(path, async (c, next) => {
      if (c.req.method !== 'POST') return next();
      return bodyLimit({
        maxSize: MAX_FORM_BYTES,
        onError: () => {
          throw new ApiError('payload_too_large', `form over ${MAX_FORM_BYTES} bytes`);
        },
      })(c, next);
    });
  }

  app.get('/console.css', (c) => c.body(CONSOLE_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=3600' }));
  app.get('/favicon.ico', (c) => c.body(FAVICON_SVG, 200, FAVICON_HEADERS));

  app.get('/sign-in', async (c) => {
    const next = localPath(c.req.query('next'));
    if (await sessionUser(c)) return c.redirect(next, 303);
    return html(c, <SignInPage next={next} expired={c.req.query('ended') === '1'} />);
  });

  app.post('/sign-in', async (c) => {
    if (!sameSiteRequest(c)) return problem(c, null, new ApiError('forbidden', 'This form was sent from another site: refused.'));
    const form = await c.req.parseBody();
    const next = localPath(form.next);
    const result = await signIn(c, typeof form.token === 'string' ? form.token.trim() : '');
    if (!result.ok) {
      const collector = result.reason.includes('collector');
      return html(c, <SignInPage next={next} problem={result.reason} />, collector ? 403 : 401);
    }
    return c.redirect(next, 303);
  });

  app.post(
    '/sign-out',
    page(
      async (c) => {
        await signOut(c);
        return c.redirect('/sign-in?ended=1', 303);
      },
      { post: true },
    ),
  );

  app.get(
    '/',
    page(async (c, user) => html(c, <LandingPage user={user} />)),
  );

  app.get(
    '/search',
    page(async (c, user) => {
      const q = (c.req.query('q') ?? '').slice(0, 1024);
      if (!q.trim()) return c.redirect('/', 303);
      const result = await search(c, q);
      if (!result) return html(c, <LandingPage user={user} />);
      const target = straightTo(result);
      if (target) return c.redirect(target.startsWith('/volumes/') ? `${target}?q=${encodeURIComponent(q)}` : target, 303);
      return html(c, <ResultsPage user={user} q={q} result={result} />);
    }),
  );

  app.get(
    '/volumes/:vmfsUuid',
    page(async (c, user) => {
      const v = await getVolume(c.var.services.db, vmfsUuidParam(c.req.param('vmfsUuid') ?? ''));
      const via = c.req.query('q')?.slice(0, 1024);
      return html(c, <VolumePage user={user} v={v} via={via || undefined} />);
    }),
  );

  app.get(
    '/luns/:deviceId',
    page(async (c, user) => {
      const l = await getLun(c.var.services.db, deviceIdParam(c.req.param('deviceId') ?? '').deviceId);
      return html(c, <LunPage user={user} l={l} />);
    }),
  );

  app.get(
    '/hosts',
    page(async (c, user) => {
      const { db, now, config } = c.var.services;
      const at = now();
      // The host this page starts after (its Next page link's); none, or an empty one, is the first page.
      const after = c.req.query('after') || null;
      if (after !== null && after.length > 255) throw new ApiError('bad_request', 'Not a host name to list the hosts after.');
      const page = await listHosts(db, at, config.STALE_AFTER_HOURS, { after, limit: DEFAULT_HOST_LIMIT });
      return html(c, <HostsPage user={user} hosts={page.hosts} after={after} nextAfter={page.nextAfter} now={at} staleAfterHours={config.STALE_AFTER_HOURS} />);
    }),
  );

  app.get(
    '/hosts/:name',
    page(async (c, user) => {
      const { db, now, config } = c.var.services;
      const name = c.req.param('name') ?? '';
      const at = now();
      const h = await getHost(db, name, at, config.STALE_AFTER_HOURS);
      if (!h) throw new ApiError('not_found', `No host ${name} in the catalog.`);
      return html(c, <HostPage user={user} h={h} now={at} />);
    }),
  );

  app.get(
    '/events',
    page(async (c, user) => {
      const filters = eventFilters(c);
      const { db } = c.var.services;
      const base = { type: filters.type, severity: filters.severity, host: filters.host, limit: 200 };
      const list = async (status: 'open' | 'acknowledged' | 'resolved') =>
        filters.state === status || filters.state === 'all' ? await listEvents(db, { ...base, status }) : { events: [], nextBefore: null };
      const lists = { open: await list('open'), acknowledged: await list('acknowledged'), resolved: await list('resolved') };
      const [open, acknowledged, resolved] = [lists.open.events, lists.acknowledged.events, lists.resolved.events];
      const cut = { open: !!lists.open.nextBefore, acknowledged: !!lists.acknowledged.nextBefore, resolved: !!lists.resolved.nextBefore };
      // An acknowledged event whose condition is gone is listed once, as acknowledged.
      const shown = new Set(acknowledged.map((e) => e.id));
      const ackers = await tokenNames(
        db,
        acknowledged.flatMap((e) => (e.acknowledgedBy ? [e.acknowledgedBy] : [])),
      );
      return html(
        c,
        <EventsPage
          user={user}
          filters={filters}
          open={open}
          acknowledged={acknowledged}
          resolved={resolved.filter((e) => !shown.has(e.id))}
          back={here(c)}
          ackers={ackers}
          cut={cut}
        />,
      );
    }),
  );

  app.post(
    '/events/:id/ack',
    page(
      async (c) => {
        const id = Number(c.req.param('id') ?? '');
        if (!Number.isSafeInteger(id) || id <= 0) throw new ApiError('bad_request', 'Not an event id.');
        const form = await c.req.parseBody();
        const note = ackNote(typeof form.note === 'string' ? form.note : undefined);
        const { db, now } = c.var.services;
        const event = await acknowledgeEvent(db, id, { tokenId: c.var.principal!.tokenId, at: now(), note });
        if (!event) throw new ApiError('not_found', `No event ${id}.`);
        await recordAudit(c, 'event-ack', String(id), note ? { note } : undefined);
        return c.redirect(localPath(form.back ?? '/events'), 303);
      },
      { post: true },
    ),
  );

  app.get(
    '/tokens',
    page(async (c, user) => html(c, <TokensPage user={user} tokens={await listTokens(c.var.services.db)} />), { admin: true }),
  );

  app.post(
    '/tokens',
    page(
      async (c, user) => {
        const form = await c.req.parseBody();
        const field = (k: string) => (typeof form[k] === 'string' && (form[k] as string).trim() ? (form[k] as string).trim() : undefined);
        const input = TokenCreate.safeParse({ name: field('name'), role: field('role'), host: field('host') });
        const { db, config } = c.var.services;
        const refuse = async (why: string) => html(c, <TokensPage user={user} tokens={await listTokens(db)} problem={why} />, 400);
        if (!input.success) return refuse(input.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
        let token;
        try {
          token = await createToken(c.var.services, input.data);
        } catch (e) {
          const api = toApiError(e);
          if (api.status === 400) return refuse(api.message);
          throw e;
        }
        await recordAudit(c, 'token-create', token.id, { role: token.role, host: token.host, name: token.name });
        const catalogUrl = (config.PUBLIC_URL ?? new URL(c.req.url).origin).replace(/\/+$/, '');
        const loopback = isLoopback(new URL(catalogUrl).hostname)
          ? { publicUrlSet: !!config.PUBLIC_URL, listensOnLoopback: isLoopback(config.HOST) }
          : undefined;
        const created: JustCreated = { token, catalogUrl, loopback };
        return html(c, <TokensPage user={user} tokens={await listTokens(db)} created={created} />, 200);
      },
      { admin: true, post: true },
    ),
  );

  app.post(
    '/tokens/:id/revoke',
    page(
      async (c) => {
        const id = c.req.param('id') ?? '';
        await revokeToken(c.var.services, id);
        await recordAudit(c, 'token-revoke', id);
        return c.redirect('/tokens', 303);
      },
      { admin: true, post: true },
    ),
  );
}
