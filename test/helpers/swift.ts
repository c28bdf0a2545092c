/**
 * The S3 server tests run against: OpenStack Swift's s3api on loopback, started by
 * infra/swift/start.sh (CI starts it before vitest and exports S3_ENDPOINT & co.).
 * s3TestConfig() reads that environment; startSwift() starts one for development.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { S3BlobStore, type S3BlobStoreOptions } from '../../api/store/s3.js';

const ROOT = join(import.meta.dirname, '..', '..');

export interface S3TestConfig {
  endpoint: string;
  /** The bucket start.sh created (S3_BUCKET, default catalog-test). */
  bucket: string;
  region: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  /** S3BlobStore options for `bucket` (default: the configured one). */
  storeOptions(bucket?: string): S3BlobStoreOptions;
  /** Creates a bucket unless it exists. */
  createBucket(bucket: string): Promise<void>;
}

/** Why S3 tests cannot run here; printed by suites that skip themselves. */
export const S3_UNAVAILABLE_REASON =
  'S3_ENDPOINT is not set: no S3 server to test against. Start one with `infra/swift/start.sh <dir>` and export the variables it prints (CI does this in .ci/run).';

/** S3 settings of the running test server, from the environment, or null when none is configured. */
export function s3TestConfig(env: NodeJS.ProcessEnv = process.env): S3TestConfig | null {
  const endpoint = env.S3_ENDPOINT;
  if (!endpoint) return null;
  const base = {
    endpoint,
    bucket: env.S3_BUCKET || 'catalog-test',
    region: env.S3_REGION || 'us-east-1',
    forcePathStyle: (env.S3_FORCE_PATH_STYLE ?? 'true') !== 'false',
    accessKeyId: env.AWS_ACCESS_KEY_ID || 'test:tester',
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY || 'testing',
  };
  const storeOptions = (bucket = base.bucket): S3BlobStoreOptions => ({
    bucket,
    endpoint: base.endpoint,
    region: base.region,
    forcePathStyle: base.forcePathStyle,
    accessKeyId: base.accessKeyId,
    secretAccessKey: base.secretAccessKey,
  });
  return {
    ...base,
    storeOptions,
    createBucket: (bucket) => new S3BlobStore(storeOptions(bucket)).createBucketIfMissing(),
  };
}

/** A fresh, empty bucket on the test server, so suites never see each other's objects. */
export async function freshBucket(cfg: S3TestConfig, label = 'store'): Promise<string> {
  const bucket = `vrc-${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  await cfg.createBucket(bucket);
  return bucket;
}

export interface RunningSwift {
  env: Record<string, string>;
  config: S3TestConfig;
  stop(): Promise<void>;
}

function run(script: string, args: string[]): Promise<string> {
  // Async spawn: a synchronous exec would block this process's event loop.
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, 'infra/swift', script), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited with ${code}:\n${err}`))));
  });
}

/**
 * Starts Swift in `baseDir` (or finds it already running there) with infra/swift/start.sh,
 * for development and local runs; the packages must be installed (infra/swift/install.sh).
 */
export async function startSwift(baseDir: string, proxyPort?: number): Promise<RunningSwift> {
  const out = await run('start.sh', [baseDir, ...(proxyPort ? [String(proxyPort)] : [])]);
  const env: Record<string, string> = {};
  for (const m of out.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]] = m[2];
  const config = s3TestConfig(env);
  if (!config) throw new Error(`start.sh printed no S3_ENDPOINT:\n${out}`);
  return {
    env,
    config,
    stop: async () => {
      await run('stop.sh', [baseDir]);
    },
  };
}
