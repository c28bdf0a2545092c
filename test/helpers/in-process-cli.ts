/**
 * `npm run catalog -- …` run in this process (api/cli.ts runCli) with `env` added to the
 * environment for the call, its output collected; the environment is put back afterwards.
 */
import { runCli } from '../../api/cli.js';

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
