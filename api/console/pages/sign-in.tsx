/** @jsxImportSource hono/jsx */
/** Sign-in with an operator or admin token, and the page any refused request shows. */
import { Layout } from '../layout.js';
import type { ConsoleUser } from '../session.js';

/** The sign-in form; `problem` says why the last try failed. */
export function SignInPage({ next, problem, expired }: { next: string; problem?: string; expired?: boolean }) {
  return (
    <Layout title="Sign in" user={null}>
      <div class="landing">
        <h1>Sign in</h1>
        {expired && <p class="notice">Your session has ended (signed out, expired, or its token was revoked). Sign in again.</p>}
        {problem && (
          <p class="notice bad" role="alert" id="sign-in-problem">
            {problem}
          </p>
        )}
        <form method="post" action="/sign-in" class="field">
          <input type="hidden" name="next" value={next} />
          <label for="token">Operator or admin token</label>
          <div class="inline-form">
            <input
              id="token"
              name="token"
              type="password"
              autocomplete="current-password"
              required
              autofocus
              size={40}
              aria-describedby="token-hint"
              {...(problem ? { 'aria-invalid': 'true' } : {})}
            />
            <button type="submit">Sign in</button>
          </div>
          <p id="token-hint" class="hint">
            The token is checked once and not kept by the browser: it gets a session cookie instead. Collector tokens cannot sign in. On a first start the
            catalog printed an admin token and saved it in its data directory (<code>bootstrap-token</code>).
          </p>
        </form>
      </div>
    </Layout>
  );
}

/** A page for a refused or failed request, with the status it was answered with. */
export function ProblemPage({
  user,
  userUnknown,
  title,
  message,
  q,
}: {
  user: ConsoleUser | null;
  /** Who is signed in was not read (see LayoutProps.userUnknown). */
  userUnknown?: boolean;
  title: string;
  message: string;
  q?: string;
}) {
  return (
    <Layout title={title} user={user} userUnknown={userUnknown} q={q}>
      <h1>{title}</h1>
      <p class="notice bad" role="alert">
        {message}
      </p>
      <p>
        <a href="/">Back to search</a>
      </p>
    </Layout>
  );
}
