/** @jsxImportSource hono/jsx */
/** Tokens (admin): create (the secret shown once, with the collector's configuration), list, revoke. */
import { Layout, Table, Time } from '../layout.js';
import type { ConsoleUser } from '../session.js';
import type { TokenView } from '../../schemas/admin.js';
import type { NewToken } from '../../admin/secrets.js';

/** The token just created, and where collectors reach this catalog. */
export interface JustCreated {
  token: NewToken;
  catalogUrl: string;
  /**
   * Set when catalogUrl is a loopback address (PUBLIC_URL unset and the console opened on
   * 127.0.0.1, or PUBLIC_URL naming it): whether PUBLIC_URL is set, and whether the catalog
   * listens on loopback only (HOST), which PUBLIC_URL alone does not change.
   */
  loopback?: { publicUrlSet: boolean; listensOnLoopback: boolean };
}

/**
 * Says that catalogUrl reaches the catalog only from this machine, and what to set. A storage
 * host given the file as shown tried 127.0.0.1 — itself — on every run, and spooled each capture.
 */
function LoopbackNote({ catalogUrl, loopback }: { catalogUrl: string; loopback: NonNullable<JustCreated['loopback']> }) {
  return (
    <p class="notice bad" id="catalog-url-note">
      <strong>
        <code>{catalogUrl}</code> is the catalog's loopback address
      </strong>
      : it reaches the catalog from this machine only, never from a storage host. {loopback.publicUrlSet ? 'PUBLIC_URL names it' : 'PUBLIC_URL is not set'}: set{' '}
      <code>PUBLIC_URL</code> to the address the hosts reach (<code>https://catalog.example:8787</code>, say)
      {loopback.listensOnLoopback && (
        <>
          {' '}
          and, as the catalog listens on loopback only, <code>HOST=0.0.0.0</code> (or put a proxy in front)
        </>
      )}
      , restart it, and write that address as <code>catalogUrl</code> in the file.
    </p>
  );
}

function CreatedNotice({ created }: { created: JustCreated }) {
  const { token, catalogUrl, loopback } = created;
  // A pattern scope (esxi-*) is no host name: as "host" in the file, every run without --ssh named its capture's host "esxi-*", which begin refuses.
  const hostName = token.host && !token.host.includes('*') ? token.host : null;
  const json = JSON.stringify({ catalogUrl, token: token.token, ...(hostName ? { host: hostName } : {}) });
  return (
    <section class="notice secret" aria-labelledby="created-h" id="created">
      <h2 id="created-h">
        Token “{token.name}” created ({token.role}
        {token.host ? ` for ${token.host}` : ''})
      </h2>
      <p>
        <strong>Copy the secret now: it is shown only this once.</strong> The catalog keeps only its SHA-256.
      </p>
      <pre class="secret" id="new-secret">
        {token.token}
      </pre>
      {token.role === 'collector' && (
        <>
          <p>
            The collector's configuration file (for <code>--config</code>):
          </p>
          <pre class="secret" id="collector-config">
            {json}
          </pre>
          {loopback && <LoopbackNote catalogUrl={catalogUrl} loopback={loopback} />}
          {/* No environment line: a token in a crontab lands in logs and mail, which the file (and `collector cron`, which refuses --token) keeps it out of. */}
          <p>
            Keep it as <code>/etc/vmfs-collector.json</code> with mode 0600 on the host that runs the collector; then <code>node collector.cjs cron</code>{' '}
            prints the crontab line, which reads the token from that file.
          </p>
        </>
      )}
    </section>
  );
}

/** The page; `problem` explains a refused create. */
export function TokensPage({ user, tokens, created, problem }: { user: ConsoleUser; tokens: TokenView[]; created?: JustCreated; problem?: string }) {
  return (
    <Layout title="Tokens" user={user}>
      <h1>Tokens</h1>
      {created && <CreatedNotice created={created} />}
      <h2>Create a token</h2>
      {problem && (
        <p class="notice bad" role="alert">
          {problem}
        </p>
      )}
      <form method="post" action="/tokens" class="actions">
        <input type="hidden" name="_csrf" value={user.csrf} />
        <div class="field">
          <label for="t-name">Name</label>
          <input id="t-name" name="name" type="text" required maxlength={200} />
        </div>
        <div class="field">
          <label for="t-role">Role</label>
          <select id="t-role" name="role">
            <option value="collector">collector (sends captures for one host)</option>
            <option value="operator">operator (reads, downloads)</option>
            <option value="admin">admin (everything)</option>
          </select>
        </div>
        <div class="field">
          <label for="t-host">Host (collector tokens)</label>
          <input id="t-host" name="host" type="text" maxlength={255} placeholder="esx01 or esxi-*" />
        </div>
        <button type="submit">Create</button>
      </form>
      <h2>
        All tokens <span class="group-count">({tokens.length})</span>
      </h2>
      <Table caption="Tokens" head={['Name', 'Role', 'Host', 'Created', 'Last used', 'State']}>
        {tokens.map((t) => (
          <tr data-token={t.id}>
            <td>{t.name}</td>
            <td>{t.role}</td>
            <td>{t.host ?? '—'}</td>
            <td>
              <Time iso={t.createdAt} />
            </td>
            <td>
              <Time iso={t.lastUsedAt} />
            </td>
            <td>
              {t.revokedAt ? (
                <span>
                  revoked <Time iso={t.revokedAt} />
                </span>
              ) : (
                <form method="post" action={`/tokens/${encodeURIComponent(t.id)}/revoke`}>
                  <input type="hidden" name="_csrf" value={user.csrf} />
                  <button type="submit" class="danger" aria-label={`Revoke ${t.name}`}>
                    Revoke
                  </button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </Table>
    </Layout>
  );
}
