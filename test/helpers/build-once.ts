/**
 * vitest globalSetup: builds the deployable bundles once per test run, before any test
 * file starts — dist/collector.cjs and dist/lambda.mjs (+ dist/migrations) — so suites
 * run the artifacts users run without each rebuilding them (infra/build.mjs writes each
 * file atomically, so a reader never sees half a bundle).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(import.meta.dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'infra', 'build.mjs'), '--quiet', '--lambda'], { cwd: root, stdio: 'inherit' });
}
