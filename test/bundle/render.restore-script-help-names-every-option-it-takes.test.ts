/**
 * restore.sh --help names every option the script's argument loop takes: --dry-run was taken
 * (it undoes an --apply before it) and named nowhere. Read from the rendered script itself.
 */
import { expect, it } from 'vitest';
import { renderRestoreScript } from '../../api/bundle/restore-script.js';

it('every option of the argument loop is in the usage text', () => {
  const script = renderRestoreScript({ vmfsUuid: null, label: null, at: '2026-11-01T00:00:00.000Z', generatedAt: '2026-11-01T00:00:00.000Z', extents: [] });
  const usage = script.slice(script.indexOf("cat <<'USAGE'"), script.indexOf('\nUSAGE\n'));
  const loop = script.slice(script.indexOf('while [ $# -gt 0 ]; do'), script.indexOf('\ndone\n', script.indexOf('while [ $# -gt 0 ]; do')));
  const taken = new Set([...loop.matchAll(/^\s+(--[a-z-]+)(?:=\*)?\)/gm)].map((m) => m[1]));
  expect([...taken].sort()).toEqual(['--apply', '--device', '--dry-run', '--extent', '--force-device', '--plan', '--source']);
  for (const option of taken) expect(usage, option).toMatch(new RegExp(`\\n {2}${option}\\b`));
});
