/**
 * The command timeout is a setting of each host access, not of the process: an access
 * given a short timeout kills its hung command while another access in the same process,
 * with the default timeout, lets a command of the same length finish.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_HOST_SETTINGS, LocalAccess } from '../../collector/host-access.js';
import { parseHostSettings } from '../../collector/cli.js';

describe('command timeout per access', () => {
  const root = mkdtempSync(join(tmpdir(), 'access-timeout-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('kills the short-timeout access’s command and leaves the default one alone', async () => {
    const short = new LocalAccess(root, { commandTimeoutMs: 200 });
    const ordinary = new LocalAccess(root);
    const [killed, finished] = await Promise.all([short.run(['sleep', '2']), ordinary.run(['sleep', '2'])]);
    expect(killed.stderr).toBe('timed out after 0.2 s');
    expect(killed.code).not.toBe(0);
    expect(finished).toMatchObject({ code: 0, stderr: '' });
    expect(ordinary.settings).toBe(DEFAULT_HOST_SETTINGS);
  });

  it('reads --command-timeout into settings without touching the defaults', () => {
    expect(parseHostSettings('7')).toEqual({ commandTimeoutMs: 7000 });
    expect(parseHostSettings(undefined)).toBe(DEFAULT_HOST_SETTINGS);
    expect(DEFAULT_HOST_SETTINGS.commandTimeoutMs).toBe(300_000);
    expect(() => parseHostSettings('0')).toThrow(/--command-timeout: must be between 1 and 86400/);
  });
});
