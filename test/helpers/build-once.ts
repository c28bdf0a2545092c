/**
 * vitest globalSetup: builds the deployable bundles once per test run, before any test
 * file starts — dist/collector.cjs, dist/lambda.mjs, dist/server.mjs (what `npm start`
 * runs) and dist/catalog.mjs (what `npm run catalog` runs), with dist/migrations — so suites
 * run the artifacts users run without each rebuilding them (infra/build.mjs writes each
 * file atomically, so a reader never sees half a bundle). `--if-changed`, as `npm start`
 * uses it: a bundle whose recorded inputs are unchanged is not built again.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(import.meta.dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'infra', 'build.mjs'), '--quiet', '--if-changed', '--lambda', '--server', '--cli'], { cwd: root, stdio: 'inherit' });
}
