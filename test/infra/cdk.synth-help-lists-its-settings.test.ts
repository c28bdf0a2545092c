/**
 * `npm run cdk:synth -- --help` printed `cdk:synth: Unknown option '--help'` and exited 1: the
 * synth's settings (the `-c` keys it reads, and what each does) were only in the README. It now
 * prints them, each key the app reads named, and exits 0 without synthesizing; an unknown option
 * is still refused (exit 1).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/spawn-server.js';

const synth = (...args: string[]) =>
  spawnSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'infra/aws/app.ts'), ...args], { encoding: 'utf8', timeout: 120_000 });

it('--help lists every -c key the synth reads and exits 0', () => {
  const r = synth('--help');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^usage: npm run cdk:synth -- /);
  for (const key of ['database', 'databaseSecretArn', 'objectLock', 'bootstrapToken', 'stackName', 'lambdaCodeDir', 'maintenanceMinutes', '--out'])
    expect(r.stdout).toContain(key);
  expect(r.stderr).toBe('');
});

it('an unknown option is still refused', () => {
  const r = synth('--bogus');
  expect(r.status).toBe(1);
  expect(r.stderr).toBe("cdk:synth: Unknown option '--bogus' (npm run cdk:synth -- --help lists the settings)\n");
});
