/**
 * The console's one stylesheet, served from the app (`/console.css`): no fonts, scripts or
 * CDNs, so it works in an air-gapped DR site. Colours keep WCAG AA contrast on white.
 */
export const CONSOLE_CSS = `
:root { --fg: #1b1f24; --muted: #4d5661; --line: #d0d7de; --bg: #fff; --soft: #f4f6f8; --accent: #0b57a4; --bad: #a3190f; --warn: #7a4d00; --ok: #1a6b2f; }
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; font-size: 16px; color: var(--fg); background: var(--bg); }
body { margin: 0; line-height: 1.45; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.92em; overflow-wrap: anywhere; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem; z-index: 10; }
.skip:focus { left: .5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .6rem 1rem; background: #14263b; color: #fff; }
header.top a { color: #fff; }
header.top .brand { font-weight: 700; text-decoration: none; margin-right: auto; }
header.top nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
header.top form.search { display: flex; gap: .3rem; flex: 1 1 22rem; max-width: 40rem; }
header.top form.search input { flex: 1; min-width: 0; }
header.top button { background: #fff; color: #14263b; }
main { padding: 1rem; max-width: 80rem; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 1.8rem 0 .6rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
input, select, textarea, button { font: inherit; }
input[type=search], input[type=text], input[type=password], select, textarea { padding: .45rem .55rem; border: 1px solid #6b7580; border-radius: 4px; background: #fff; color: var(--fg); }
button, .button { display: inline-block; padding: .45rem .9rem; border: 1px solid var(--accent); border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; font-weight: 600; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
.button.big, button.big { font-size: 1.1rem; padding: .65rem 1.2rem; }
.landing { max-width: 46rem; margin: 3rem auto; }
.landing form { display: flex; gap: .5rem; }
.landing input { flex: 1; font-size: 1.1rem; min-width: 0; }
.hint { color: var(--muted); font-size: .92rem; }
.notice { border-left: 4px solid var(--accent); background: var(--soft); padding: .6rem .9rem; margin: 1rem 0; }
.notice.bad { border-color: var(--bad); }
.notice.secret { border-color: var(--ok); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; max-width: 100%; position: relative; }
.table-wrap table { min-width: 44rem; }
table { border-collapse: collapse; width: 100%; font-size: .93rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
.sev-critical { color: var(--bad); font-weight: 700; }
.sev-warning { color: var(--warn); font-weight: 700; }
.stale { color: var(--bad); font-weight: 700; }
.tag { display: inline-block; padding: 0 .4rem; border-radius: 3px; background: var(--soft); border: 1px solid var(--line); font-size: .85rem; }
.actions { display: flex; flex-wrap: wrap; gap: .8rem; align-items: end; margin: 1rem 0; }
.actions form { display: flex; flex-wrap: wrap; gap: .4rem; align-items: end; max-width: 100%; }
.actions .field, .actions select { max-width: 100%; }
.field { display: flex; flex-direction: column; gap: .2rem; }
.inline-form { display: flex; flex-wrap: wrap; gap: .3rem; align-items: center; }
.timeline { width: 100%; height: auto; max-height: 9rem; border: 1px solid var(--line); background: #fff; }
.group-count { color: var(--muted); font-weight: 400; }
main > *, figure { max-width: 100%; }
figure { margin: 0; }
footer { color: var(--muted); font-size: .85rem; padding: 1rem; text-align: center; }
pre.secret { background: var(--soft); padding: .6rem; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
@media (max-width: 40rem) { header.top .brand { width: 100%; } dl.facts { grid-template-columns: 1fr; } dl.facts dt { font-weight: 600; } }
`;
