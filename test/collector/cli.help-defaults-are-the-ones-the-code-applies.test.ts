/**
 * Each default a collector --help states is the one the code applies: the help texts are
 * written by hand beside the constants and the resolvers that hold the values, so a change to
 * one side alone is caught here. The help is read from the bundle an operator runs.
 */
import { beforeAll, expect, it } from 'vitest';
import { resolveSendConfig } from '../../collector/config.js';
import { DEFAULT_HOST_SETTINGS } from '../../collector/host-access.js';
import { DEFAULT_RETRY, RETRY_AFTER_MAX_MS } from '../../collector/http.js';
import { buildBundle, runCollector } from './run-collector.js';

beforeAll(() => buildBundle());

/** A command's --help with each run of blanks made one space. */
async function help(command: string): Promise<string> {
  return (await runCollector([command, '--help'])).stdout.replace(/\s+/g, ' ');
}

/** What collect, import and spool apply when neither a flag, the environment nor the config file says. */
const applied = resolveSendConfig({}, {}, { COLLECTOR_HOST: 'esx01' });

it('collect and import: parallel uploads, spool, its bound, retries and the Retry-After waited out', async () => {
  expect(applied.spoolMaxBytes).toBe(2 * 1024 ** 3);
  for (const command of ['collect', 'import']) {
    const text = await help(command);
    expect(text).toContain(`--parallel N chunk uploads at once (default ${applied.parallel})`);
    expect(text).toContain(`(default ${applied.spoolDir})`);
    expect(text).toContain('--spool-max-bytes N bound on the spool (default 2G;');
    expect(text).toContain(`(default ${DEFAULT_RETRY.retries}; a Retry-After up to ${RETRY_AFTER_MAX_MS / 1000} s is waited out)`);
  }
});

it('collect and discover: the host command timeout', async () => {
  for (const command of ['collect', 'discover'])
    expect(await help(command)).toContain(`that artifact fails (default ${DEFAULT_HOST_SETTINGS.commandTimeoutMs / 1000})`);
});

it('spool and restore: the spool and the retries', async () => {
  expect(await help('spool')).toContain(`the spool (default ${applied.spoolDir}; config "spool")`);
  expect(await help('restore')).toContain(`(default ${DEFAULT_RETRY.retries}; a Retry-After`);
});
