/**
 * `npm run catalog -- …` run in this process (api/cli.ts runCli) with `env` added to the
 * environment for the call, its output collected; the environment is put back afterwards.
 */
import { runCli } from '../../api/cli.js';
import type { TestCatalog } from './catalog.js';

export async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, env, { LOG_LEVEL: 'silent' });
  let out = '';
  let err = '';
  try {
    const code = await runCli(args, {
      out: (s) => {
        out += s;
      },
      err: (s) => {
        err += s;
      },
      isTTY: false,
    });
    return { code, out, err };
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/**
 * The environment a CLI run needs to reach `catalog`'s database and store. The embedded
 * database is held by one process at a time: for that flavour the catalog lets go of it here
 * (its data dir stays), and the answer says so (`closed`).
 */
export async function cliEnvOf(catalog: TestCatalog, flavour: string, dataDir: string): Promise<{ env: Record<string, string>; closed: boolean }> {
  const { config } = catalog.services;
  const env: Record<string, string> = { DATA_DIR: dataDir };
  if (flavour !== 'postgres-s3') {
    await catalog.close();
    return { env, closed: true };
  }
  Object.assign(env, {
    DATABASE_URL: config.DATABASE_URL!,
    S3_BUCKET: config.S3_BUCKET!,
    S3_ENDPOINT: config.S3_ENDPOINT!,
    S3_REGION: config.S3_REGION,
    S3_FORCE_PATH_STYLE: 'true',
  });
  return { env, closed: false };
}
