/**
 * Shared by the restore-* tests: the POSIX shells restore.sh must run under, a bundle
 * directory built from a restore plan, and LVM header edits on disk images.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderRestoreScript, type RestorePlan } from '../../api/bundle/restore-script.js';
import type { Flavour } from '../helpers/catalog.js';

export interface Shell {
  name: string;
  /** argv before the script path. */
  argv: string[];
}

/**
 * dash (Debian's /bin/sh), busybox sh (ESXi's shell is busybox ash) and ksh (ksh93 is
 * illumos' sh): each one found here; a missing one is printed with the reason.
 */
export function availableShells(): Shell[] {
  const candidates: Shell[] = [
    { name: 'dash', argv: ['dash'] },
    { name: 'busybox sh', argv: ['busybox', 'sh'] },
    { name: 'ksh', argv: ['ksh'] },
  ];
  const found: Shell[] = [];
  for (const s of candidates) {
    const probe = spawnSync(s.argv[0], [...s.argv.slice(1), '-c', 'exit 0'], { encoding: 'utf8' });
    if (probe.status === 0) found.push(s);
    else
      console.warn(
        `restore tests: ${s.name} is not installed here (${probe.error?.message ?? `exit ${probe.status}`}); its runs are left out (apt-get install ${s.argv[0]})`,
      );
  }
  if (found.length === 0) throw new Error('restore tests: no POSIX shell (dash, busybox, ksh) found');
  return found;
}

/**
 * The shells a bundle built by a catalog of `flavour` is run under: every shell found for the
 * embedded catalog, the first of them (dash, Debian's /bin/sh) for PostgreSQL + S3. What
 * the flavour changes is the bundle (the rows it is rendered from, the store its files come
 * from); what the shell changes is how restore.sh is read. The embedded run crosses every
 * shell with the scenario, the other confirms its flavour's bundle restores the same way.
 */
export function shellsFor(flavour: Flavour, shells: Shell[]): Shell[] {
  return flavour === 'embedded' ? shells : shells.slice(0, 1);
}

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** Writes restore.sh for `plan`, the given files, and a SHA256SUMS listing them all, into `dir`. */
export function writeBundle(dir: string, plan: RestorePlan, files: Record<string, Uint8Array>): string {
  const script = renderRestoreScript(plan);
  writeFileSync(join(dir, 'restore.sh'), script, { mode: 0o755 });
  const sums = [`${sha256(script)}  restore.sh`];
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
    sums.push(`${sha256(bytes)}  ${path}`);
  }
  writeFileSync(join(dir, 'SHA256SUMS'), sums.join('\n') + '\n');
  return join(dir, 'restore.sh');
}

/** Runs a script under a shell; stdout and stderr together. */
export function runScript(shell: Shell, script: string, args: string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; out: string } {
  // Bounded: a script that waits (on a FIFO, a terminal) fails its test instead of hanging the run.
  const r = spawnSync(shell.argv[0], [...shell.argv.slice(1), script, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

/**
 * runScript without blocking: the test's runs that do not depend on one another (other shells,
 * other devices, options refused before anything is read) go together under Promise.all.
 */
export function runScriptAsync(
  shell: Shell,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; out: string }> {
  return runShellAsync(shell, [script, ...args], { env }).then((r) => ({ code: r.code, out: r.stdout + r.stderr }));
}

/** `shell args…` (a script and its arguments, or -c and a command line), without blocking; bounded as runScript is. */
export function runShellAsync(
  shell: Shell,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(shell.argv[0], [...shell.argv.slice(1), ...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const LVM_MAGIC = [0x0d, 0xd0, 0x01, 0xc0]; // 0xC001D00D little-endian

/** Byte offset of the first LVM device header (magic on a 512-byte boundary) in a disk image. */
export function lvmHeaderOffset(disk: Uint8Array): number {
  for (let o = 0; o + 512 <= disk.length; o += 512) {
    if (LVM_MAGIC.every((b, i) => disk[o + i] === b)) return o;
  }
  throw new Error('no LVM device header in the image');
}

/**
 * A copy of `disk` whose LVM header length byte (+0x0D) is `length`. The id field at
 * +0x2E keeps the id bytes followed by the first 6 model bytes, so 16 reads as the
 * NAA alone and 22 as NAA + model prefix, the two ways hosts write it.
 */
export function withIdLength(disk: Uint8Array, length: number): Uint8Array {
  const copy = new Uint8Array(disk);
  copy[lvmHeaderOffset(copy) + 0x0d] = length;
  return copy;
}
