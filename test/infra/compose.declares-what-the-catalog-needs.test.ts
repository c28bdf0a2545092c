/**
 * Self-hosting files (infra/compose/, infra/systemd/). This machine has no Docker engine,
 * so what can be checked without one is: the compose file parses and wires the catalog to
 * its database and S3 server with variables the catalog reads; the image runs as a non-root
 * user with a health check; the build step the Dockerfile runs produces the server it
 * starts; and that server, started the way the image starts it, answers /healthz.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const envExample = new Set([...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
// Read by the AWS SDK's credential chain rather than the catalog's configuration schema.
const SDK_VARIABLES = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);

describe('docker-compose.yml', () => {
  const compose = parse(read('infra/compose/docker-compose.yml')) as { services: Record<string, any>; volumes: Record<string, unknown> };

  it('runs PostgreSQL, MinIO, a bucket job and the catalog', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['catalog', 'minio', 'minio-init', 'postgres']);
    expect(compose.services['minio-init'].command.join(' ')).toMatch(/mc mb --ignore-existing local\/vmfs-catalog/);
    for (const [name, s] of Object.entries(compose.services)) {
      if (name !== 'minio-init') expect(s.healthcheck ?? name === 'catalog', name).toBeTruthy();
    }
  });

  it('starts the catalog after its database is healthy and its bucket exists, with data on volumes', () => {
    const c = compose.services.catalog;
    expect(c.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, 'minio-init': { condition: 'service_completed_successfully' } });
    expect(c.ports).toEqual(['8787:8787']);
    expect(c.volumes).toEqual(['catalog-data:/var/lib/vmfs-catalog']);
    expect(Object.keys(compose.volumes).sort()).toEqual(['catalog-data', 'minio-data', 'postgres-data']);
    expect(c.build).toEqual({ context: '../..', dockerfile: 'infra/compose/Dockerfile' });
  });

  it('configures the catalog only with variables it reads, pointing at the compose services', () => {
    const env = compose.services.catalog.environment as Record<string, string>;
    for (const k of Object.keys(env)) expect(envExample.has(k) || SDK_VARIABLES.has(k), `${k} is not a catalog variable (.env.example)`).toBe(true);
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/catalog:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432\/catalog$/);
    expect(env).toMatchObject({ S3_BUCKET: 'vmfs-catalog', S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: 'true', HOST: '0.0.0.0' });
    // No secret is written into the file: each comes from the operator's environment, required.
    for (const k of ['AWS_SECRET_ACCESS_KEY', 'CATALOG_BOOTSTRAP_TOKEN']) expect(env[k]).toMatch(/^\$\{[A-Z_]+:\?/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('infra/compose/Dockerfile');
  const runs = [...dockerfile.matchAll(/^RUN (.+)$/gm)].map((m) => m[1]);
  const cmd = JSON.parse(/^CMD (\[.+\])$/m.exec(dockerfile)![1]) as string[];
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('runs as a non-root user with a health check on /readyz', () => {
    expect(dockerfile).toMatch(/^USER catalog$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/readyz/m);
    expect(dockerfile).toMatch(/^FROM node:22-bookworm-slim AS build$/m);
  });

  it('its build step makes the server its CMD starts, and that server answers /healthz', async () => {
    const buildStep = runs.find((r) => r.startsWith('node infra/build.mjs'))!;
    expect(buildStep).toBe('node infra/build.mjs --quiet --server --cli');
    // Built beside the checkout's node_modules (as the image has them), not over dist/ that other suites use.
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    const image = mkdtempSync(join(ROOT, '.tmp', 'image-'));
    dirs.push(image);
    await promisify(execFile)('node', ['infra/build.mjs', '--quiet', '--server', '--cli', '--out', join(image, 'dist')], { cwd: ROOT });
    expect(cmd).toEqual(['node', 'dist/server.mjs']);
    expect(existsSync(join(image, 'dist/server.mjs'))).toBe(true);
    expect(existsSync(join(image, 'dist/migrations'))).toBe(true);
    const data = mkdtempSync(join(tmpdir(), 'vrc-image-'));
    dirs.push(data);
    const child = spawn(cmd[0], cmd.slice(1), {
      cwd: image,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', DATA_DIR: data },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (b) => {
          out += b;
          const m = /listening on (http:\/\/[^\s]+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.stderr.on('data', (b) => {
          out += b;
        });
        child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
      });
      const res = await fetch(`${url}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    // The admin commands ship too, run in the image's directory as `docker compose exec` runs them.
    expect(dockerfile).toMatch(/^COPY --from=build \/src\/dist\/catalog\.mjs \/app\/dist\/catalog\.mjs$/m);
    const help = await promisify(execFile)('node', ['dist/catalog.mjs', '--help'], { cwd: image, env: { PATH: process.env.PATH, NODE_ENV: 'production' } });
    expect(help.stdout).toMatch(/tokens create --role/);
  }, 180_000);
});

describe('systemd unit', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  it('runs the bundled server as its own user with a read-only system', () => {
    const unit = read('infra/systemd/vmfs-catalog.service');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/vmfs-catalog\/dist\/server\.mjs$/m);
    expect(unit).toMatch(/^User=vmfs-catalog$/m);
    expect(unit).toMatch(/^ProtectSystem=strict$/m);
    // Its database, token records and artifacts are no other local user's to read.
    expect(unit).toMatch(/^UMask=0077$/m);
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/vmfs-catalog\.env$/m);
    // The primary of several server processes stops its workers itself (api/server.ts).
    expect(unit).toMatch(/^KillMode=mixed$/m);
    // A start that fails on a setting (78) or an argument (64) is not restarted every RestartSec for ever.
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^RestartPreventExitStatus=64 78$/m);
  });

  it('its header installs, as written, the server ExecStart starts and the admin commands', async () => {
    const unit = read('infra/systemd/vmfs-catalog.service');
    const steps = [...unit.matchAll(/^# {3}(.+)$/gm)].map((m) => m[1]);
    const build = steps.find((l) => l.startsWith('node infra/build.mjs'));
    const copy = steps.find((l) => l.includes('/opt/vmfs-catalog') && l.includes('cp '));
    const install = steps.find((l) => l.includes('npm ci'));
    expect(build).toBe('node infra/build.mjs --server --cli');
    expect(install).toBe('(cd /opt/vmfs-catalog && sudo npm ci --omit=dev)');
    // A checkout holding what the build step makes (built into it, not over dist/ that other
    // suites use), and a host whose /opt has no vmfs-catalog yet. Under ROOT, so the checkout's
    // node_modules stand for what npm ci installs; npm ci needs the package files, checked here.
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    const work = mkdtempSync(join(ROOT, '.tmp', 'systemd-'));
    dirs.push(work);
    const checkout = join(work, 'checkout');
    mkdirSync(checkout);
    for (const f of ['package.json', 'package-lock.json']) writeFileSync(join(checkout, f), read(f));
    await promisify(execFile)('node', ['infra/build.mjs', '--quiet', '--server', '--cli', '--out', join(checkout, 'dist')], { cwd: ROOT });
    mkdirSync(join(work, 'opt'));
    const opt = join(work, 'opt', 'vmfs-catalog');
    await promisify(execFile)('sh', ['-c', copy!.replaceAll('sudo ', '').replaceAll('/opt/vmfs-catalog', opt)], { cwd: checkout });
    for (const f of ['package.json', 'package-lock.json', 'dist/catalog.mjs', 'dist/migrations']) expect(existsSync(join(opt, f)), f).toBe(true);
    const execStart = /^ExecStart=\/usr\/bin\/node (\S+)$/m.exec(unit)![1].replace('/opt/vmfs-catalog', opt);
    const data = mkdtempSync(join(tmpdir(), 'vrc-systemd-'));
    dirs.push(data);
    const child = spawn(process.execPath, [execStart], {
      cwd: opt,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', DATA_DIR: data },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (b) => {
          out += b;
          const m = /listening on (http:\/\/[^\s]+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.stderr.on('data', (b) => {
          out += b;
        });
        child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    const admin = steps.find((l) => l.includes('dist/catalog.mjs'))!;
    expect(admin).toContain('cd /opt/vmfs-catalog && node dist/catalog.mjs');
    const help = await promisify(execFile)('node', ['dist/catalog.mjs', '--help'], { cwd: opt, env: { PATH: process.env.PATH, NODE_ENV: 'production' } });
    expect(help.stdout).toMatch(/tokens create --role/);
  }, 180_000);
});
