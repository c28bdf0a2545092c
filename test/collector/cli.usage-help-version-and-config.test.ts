import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../helpers/spawn-server.js';
import { BUNDLE, buildBundle, runCollector as runOne, runJson as runJsonOne, type CollectorRun } from './run-collector.js';
import { stageEsxiHost, type EsxiHost } from '../helpers/staged-hosts.js';
import { ARTIFACT_KINDS } from '../../formats/index.js';

const COMMANDS = ['collect', 'import', 'inspect', 'discover', 'restore', 'cron', 'spool'];
const SECRET = 'tok-never-printed-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'cli-'));
const clean = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(CATALOG_|COLLECTOR_)/.test(k)) env[k] = v;
  return { ...env, VMFS_COLLECTOR_CONFIG: join(dir, 'absent.json') };
};
let host: EsxiHost;

// The tests and the runs inside them are independent (each has its own spool and files): they
// run at once, at most six collector processes at a time, each still a process of its own (exit
// statuses, stderr lines and stdout are what is tested).
const waiting: Array<() => void> = [];
let running = 0;
async function limited<T>(run: () => Promise<T>): Promise<T> {
  if (running >= 6) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await run();
  } finally {
    running--;
    waiting.shift()?.();
  }
}
const runCollector = (...args: Parameters<typeof runOne>) => limited(() => runOne(...args));
const runJson = (...args: Parameters<typeof runJsonOne>) => limited(() => runJsonOne(...args));
/** `command args` spawned asynchronously, its status and output; killed (SIGKILL) after `timeout` ms. */
const runCommand = (command: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeout = 60_000): Promise<CollectorRun> =>
  limited(async () => {
    const r = await runProcess(command, args, { env, timeoutMs: timeout });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  });

beforeAll(async () => {
  buildBundle();
  host = await stageEsxiHost([{ deviceId: 'naa.6006016012345678abcdef0123450009', index: 9, sizeBytes: 4 * 1024 * 1024 }]);
});
afterAll(() => {
  host?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('the command line', () => {
  it('prints the version, and the usage', async () => {
    const [v, j, h, none] = await Promise.all([['--version'], ['--version', '--json'], ['--help'], []].map((args) => runCollector(args, clean())));
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    // --json: a JSON document (a bare 0.1.0 is not one), as the catalog CLI's --version --json.
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({ version: v.stdout.trim() });
    expect(h.code).toBe(0);
    for (const c of COMMANDS) expect(h.stdout).toContain(c);
    expect(none.code).toBe(64);
  });

  it('has --help on every command', async () => {
    const runs = await Promise.all(COMMANDS.map((c) => runCollector([c, '--help'], clean())));
    for (const [i, c] of COMMANDS.entries()) {
      const r = runs[i];
      expect([c, r.code]).toEqual([c, 0]);
      expect(r.stdout).toMatch(new RegExp(`^Usage: collector ${c}`));
    }
  });

  it('exits 64 with one line for an unknown command or flag', async () => {
    const cases = [['frobnicate'], ['collect', '--no-such-flag'], ['collect', '--parallel', 'many'], ['import'], ['cron', '--schedule', '1 2 3']];
    const runs = await Promise.all(cases.map((args) => runCollector(args, clean())));
    for (const [i, args] of cases.entries()) {
      const r = runs[i];
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 64]);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('says in its one line how to give a value that starts with a dash (cron --args="--ssh …")', async () => {
    const [r, ok] = await Promise.all([
      runCollector(['cron', '--args', '--ssh root@esxi01'], clean()),
      runCollector(['cron', '--args=--ssh root@esxi01'], clean()),
    ]);
    expect(r.code).toBe(64);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain("use '--args=-XYZ'");
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('collect --quiet --ssh root@esxi01 ');
  });

  it('needs a catalog URL and token to send, and says so', async () => {
    const r = await runCollector(['collect', '--root', host.root, '--spool', join(dir, 'spool')], { ...host.env, ...clean(), PATH: host.env.PATH });
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/no catalog URL/);
  });

  it('refuses a missing explicit config file, accepts a missing default one', async () => {
    const [r, ok] = await Promise.all([
      runCollector(['collect', '--dry-run', '--root', host.root, '--config', join(dir, 'nope.json')], {
        ...host.env,
        ...clean(),
        PATH: host.env.PATH,
      }),
      runCollector(['collect', '--dry-run', '--json', '--root', host.root], { ...host.env, ...clean(), PATH: host.env.PATH }),
    ]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/nope\.json: ENOENT/);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('takes flags over env over the config file, and never prints the token', async () => {
    const cfg = join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ catalogUrl: 'http://127.0.0.1:9/from-file', token: SECRET, host: 'from-file' }));
    const env = { ...host.env, ...clean(), PATH: host.env.PATH };
    const [fromFile, fromEnv, fromFlag, sent] = await Promise.all([
      runJson(['collect', '--dry-run', '--json', '--root', host.root, '--config', cfg], env),
      runJson(['collect', '--dry-run', '--json', '--root', host.root, '--config', cfg], { ...env, COLLECTOR_HOST: 'from-env' }),
      runJson(['collect', '--dry-run', '--json', '--root', host.root, '--config', cfg, '--host', 'from-flag'], {
        ...env,
        COLLECTOR_HOST: 'from-env',
      }),
      // A real send to a closed port: the error names the request, never the token.
      runJson(['collect', '--json', '--root', host.root, '--config', cfg, '--spool', join(dir, 'spool-cfg'), '--retries', '0'], env),
    ]);
    expect(fromFile.json.captures[0].host).toBe('from-file');
    expect(fromEnv.json.captures[0].host).toBe('from-env');
    expect(fromFlag.json.captures[0].host).toBe('from-flag');
    expect(sent.code).toBe(75);
    for (const out of [fromFile, fromEnv, fromFlag, sent]) expect(out.stdout + out.stderr).not.toContain(SECRET);
  });

  it('--help under --json is one JSON document holding the usage, for the collector and each command', async () => {
    const cases = [
      [['--help', '--json'], 'Usage: collector <command> [options]'],
      [['collect', '--help', '--json'], 'Usage: collector collect [options]'],
      [['spool', '--json', '--help'], 'Usage: collector spool list | resend ID | drop ID [options]'],
    ] as const;
    const runs = await Promise.all(cases.map(([args]) => runCollector([...args], clean())));
    for (const [i, [, first]] of cases.entries()) {
      const r = runs[i];
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { usage: string }).usage.split('\n')[0]).toBe(first);
    }
  });

  it('prints a crontab line, for the proxy of ESXi hosts too', async () => {
    const owns = ['--config /etc/vmfs/proxy.json --ssh root@esx01', '--ssh root@esx01 --config=/etc/vmfs/proxy.json'];
    // `cron --help` once for both of its checks below.
    const [r, cronHelp, mainHelp, ...ownRuns] = await Promise.all([
      runCollector(['cron', '--schedule', '5 3 * * *', '--args=--ssh root@esx01'], clean()),
      runCollector(['cron', '--help'], clean()),
      runCollector(['--help'], clean()),
      ...owns.map((args) => runCollector(['cron', `--args=${args}`], clean())),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^5 3 \* \* \* .*collector\.cjs collect --quiet --ssh root@esx01 >> \/var\/log\/vmfs-collector\.log 2>&1$/m);
    // ESXi has no Node: no recipe for keeping the line in ESXi's own crontab, the help points at --ssh.
    expect(r.stdout).not.toContain('rc.local');
    expect(cronHelp.stdout).toContain('ESXi has no Node: --args="--ssh root@esxi01"');
    // The command list says the same; it promised "how to keep it on ESXi", which cron no longer prints.
    const main = mainHelp.stdout;
    expect(main).toMatch(/^ {2}cron {16}print the crontab line \(ESXi, which has no Node: from a proxy, --ssh\)$/m);
    expect(main).not.toContain('keep it on ESXi');
    // The line has no URL or token: it says where they come from, with a placeholder.
    expect(r.stdout).toContain('relies on /etc/vmfs-collector.json');
    expect(r.stdout).toContain('"token": "<token>"');
    expect(cronHelp.stdout).toContain('relies on /etc/vmfs-collector.json');
    // A line that carries its own --config relies on that file, and says so.
    for (const own of ownRuns) {
      expect(own.code).toBe(0);
      expect(own.stdout).toContain('# The line relies on /etc/vmfs/proxy.json (mode 600');
      expect(own.stdout).not.toContain('/etc/vmfs-collector.json');
    }
  });

  it('refuses to put a token in the crontab (usage, exit 64)', async () => {
    const runs = await Promise.all(['--token=abc', '--ssh root@esx01 --token abc'].map((args) => runCollector(['cron', `--args=${args}`], clean())));
    for (const r of runs) {
      expect(r.code).toBe(64);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/must not carry --token/)]);
      expect(r.stdout).toBe('');
    }
  });

  it('documents exit 1 and VMFS_COLLECTOR_CONFIG', async () => {
    // `--help` once for both of its checks.
    const [main, collect, imp, restore] = await Promise.all(
      [['--help'], ['collect', '--help'], ['import', '--help'], ['restore', '--help']].map((args) => runCollector(args, clean())),
    );
    expect(main.stdout).toMatch(/VMFS_COLLECTOR_CONFIG[\s\S]*1 failed/);
    // 75 is restore's and spool resend's too, where nothing is spooled: it said only 'spooled'.
    expect(main.stdout).toMatch(/ · 75 the catalog unreachable or busy: try again \(collect, import: spooled for\nthe next run\) · 78 /);
    for (const r of [collect, imp]) expect(r.stdout).toMatch(/Exit status: 0 done · 1 failed/);
    expect(restore.stdout).toMatch(/Exit status: 0 unpacked and verified · 1 failed [\s\S]* 64 usage \(a --volume[\s\S]* · 75 catalog unreachable/);
  });

  it('is a usage error (64, one line) to collect from a --root that does not exist', async () => {
    const r = await runCollector(['collect', '--root', join(dir, 'nonexistent'), '--dry-run'], clean());
    expect(r.code).toBe(64);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/--root .*nonexistent is not a directory/)]);
  });
});

describe.concurrent('usage errors', () => {
  it('are one line naming the command once ("collector restore: --at …", not "collector restore: restore: --at …")', async () => {
    const cases = [
      [['restore', '--volume', '4a1c3e7f-2b4d6e80-91a2-0050569a1b2c', '--at', 'yesterday'], 'collector restore: --at is not an ISO 8601 time: "yesterday"'],
      [['inspect'], 'collector inspect: no FILE given (see collector inspect --help)'],
      [['cron', '--schedule', '1 2 3'], 'collector cron: --schedule wants five cron fields'],
      [['spool', 'frobnicate'], 'collector spool: expected list, resend ID or drop ID (see collector spool --help)'],
      [
        ['restore', '--volume', '4a1c3e7f-2b4d6e80-91a2-0050569a1b2c', '--url', 'http://127.0.0.1:9', '--token', SECRET, '-o', BUNDLE],
        `collector restore: ${BUNDLE} is a file, not a directory (-o wants a new or empty directory)`,
      ],
    ] as const;
    const runs = await Promise.all(cases.map(([args]) => runCollector([...args], clean())));
    for (const [i, [args, message]] of cases.entries()) {
      const r = runs[i];
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr).toBe(`${message}\n`);
    }
  });
});

describe.concurrent('a value the collector or the catalog could never use', () => {
  const kinds = ARTIFACT_KINDS.filter((k) => k !== 'unknown').join(', ');
  it('is a usage error (64, one line) before anything is read or sent, from a flag or the config file', async () => {
    const cfg = join(dir, 'files.json');
    writeFileSync(cfg, JSON.stringify({ files: ['bogus:/dev/x'] }));
    const cfgNoKind = join(dir, 'files-no-kind.json');
    writeFileSync(cfgNoKind, JSON.stringify({ files: ['vh-sf:/backup/ds1.vh.sf', '/backup/ds1.vh.sf'] }));
    // An empty --root: without the check, each run reads nothing and exits 1 ("nothing found").
    const root = mkdtempSync(join(dir, 'root-'));
    const cases = [
      [['collect', '--dry-run', '--root', root, '--file', 'bogus:/dev/x'], `collector collect: --file bogus:/dev/x: KIND must be one of ${kinds}`],
      [['collect', '--dry-run', '--root', root, '--file', 'vh-sf:'], 'collector collect: --file wants KIND:PATH: vh-sf:'],
      [['collect', '--dry-run', '--root', root, '--file', '/backup/ds1.vh.sf'], 'collector collect: --file wants KIND:PATH: /backup/ds1.vh.sf'],
      // A config file's entry is named as such, not as a --file the command line never had.
      [['collect', '--dry-run', '--root', root, '--config', cfg], `collector collect: config ${cfg}: "files" entry bogus:/dev/x: KIND must be one of ${kinds}`],
      [['discover', '--root', root, '--config', cfgNoKind], `collector discover: config ${cfgNoKind}: "files" entry wants KIND:PATH: /backup/ds1.vh.sf`],
      [['discover', '--root', root, '--file', 'bogus:/dev/x'], `collector discover: --file bogus:/dev/x: KIND must be one of ${kinds}`],
      [
        ['collect', '--dry-run', '--root', root, '--host', 'esx 01'],
        'collector collect: host name "esx 01" is not dot-separated labels of letters, digits, - and _ (each 1-63 characters, at most 253 in all)',
      ],
      [['collect', '--dry-run', '--root', root, '--host', ''], 'collector collect: host name "" is empty'],
      // Each too long a name or label says which limit it passes (the catalog's words, api/ingest/limits.ts).
      [
        ['collect', '--dry-run', '--root', root, '--host', `${'a'.repeat(64)}.example`],
        `collector collect: host name "${'a'.repeat(64)}.example" has a label of 64 characters; the limit is 63`,
      ],
      [
        ['collect', '--dry-run', '--root', root, '--host', `${'a'.repeat(63)}.`.repeat(4).slice(0, 254)],
        `collector collect: host name "${`${'a'.repeat(63)}.`.repeat(4).slice(0, 254)}" is 254 characters; the limit is 253`,
      ],
      [['import', '--dry-run', '--host', 'esx01', '--kind', 'bogus', cfg], `collector import: --kind must be one of ${kinds}`],
      [['import', '--dry-run', '--host', 'esx01', '--host-kind', 'vcenter', cfg], 'collector import: --host-kind must be one of esx, esxi, solaris, linux'],
    ] as const;
    const runs = await Promise.all(cases.map(([args]) => runCollector([...args], clean())));
    for (const [i, [args, message]] of cases.entries()) {
      const r = runs[i];
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 64]);
      expect(r.stderr).toBe(`${message}\n`);
      expect(r.stdout).toBe('');
    }
  });
});

describe.concurrent('an error under --json', () => {
  it('is the one line on stderr, the same exit status, and {"error":{"code","message"}} on stdout', async () => {
    const cases = [
      [['collect', '--json', '--dry-run', '--file', 'bogus:/dev/x'], 64, 'usage', 'collector collect: --file bogus:/dev/x: KIND must be one of'],
      [['frobnicate', '--json'], 64, 'usage', 'collector: unknown command "frobnicate" (see collector --help)'],
      // An option where the command goes is no command, not one named "--json".
      [['--json'], 64, 'usage', 'collector: no command given (see collector --help)'],
      [['inspect', '--json'], 64, 'usage', 'collector inspect: no FILE given (see collector inspect --help)'],
      [
        ['restore', '--volume', '4a1c3e7f-2b4d6e80-91a2-0050569a1b2c', '--at', 'yesterday', '--json'],
        64,
        'usage',
        'collector restore: --at is not an ISO 8601 time: "yesterday"',
      ],
      // An unknown option names where the options are listed, not parseArgs' advice to write `-- "--x"`.
      [['spool', 'list', '--json', '--no-such-flag'], 64, 'usage', 'collector spool: unknown option --no-such-flag (collector spool --help lists them)'],
      [['collect', '--bogus', '--json'], 64, 'usage', 'collector collect: unknown option --bogus (collector collect --help lists them)'],
      [['spool', 'list', '--json', '--config', join(dir, 'nope.json')], 78, 'invalid_config', `collector spool: config ${join(dir, 'nope.json')}: ENOENT`],
    ] as const;
    const plain = [['frobnicate'], ['collect', '--dry-run', '--file', 'bogus:/dev/x'], ['collect', '--dry-run', '--', '--json']];
    const [runs, plainRuns] = await Promise.all([
      Promise.all(cases.map(([args]) => runCollector([...args], clean()))),
      Promise.all(plain.map((args) => runCollector(args, clean()))),
    ]);
    for (const [i, [args, status, code, message]] of cases.entries()) {
      const r = runs[i];
      expect([args.join(' '), r.code]).toEqual([args.join(' '), status]);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0].startsWith(message), lines[0]).toBe(true);
      // The same words, without the "collector <command>: " the line starts with.
      expect(JSON.parse(r.stdout)).toEqual({ error: { code, message: lines[0].replace(/^collector( \w+)?: /, '') } });
    }
    // Without --json (or with it only after `--`), stdout stays empty.
    for (const r of plainRuns) {
      expect(r.code).toBe(64);
      expect(r.stdout).toBe('');
    }
  });
});

describe.concurrent('cron', () => {
  it('prints a line that runs the collector from a path with a space, pasted as printed', async () => {
    const place = join(dir, 'vmfs tools');
    mkdirSync(place, { recursive: true });
    copyFileSync(BUNDLE, join(place, 'collector.cjs'));
    const r = await runCommand(process.execPath, [join(place, 'collector.cjs'), 'cron', '--schedule', '5 3 * * *'], clean());
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('5 3 * * * '))!;
    expect(line).toContain(`'${join(place, 'collector.cjs')}'`);
    // What cron's shell runs, with --version for collect and without the log redirect.
    const command = line.slice('5 3 * * * '.length).replace(/ collect --quiet >> .*$/, ' --version');
    const ran = await runCommand('sh', ['-c', command]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe.concurrent('a catalog URL whose scheme the catalog does not speak', () => {
  const plain = createServer((_req, res) => res.end('plain'));
  // What a TLS server does with a plain HTTP request: reads it and hangs up, unanswered.
  const tlsLike = createNetServer((socket) => socket.once('data', () => socket.destroy()));
  let plainAt = '';
  let tlsAt = '';
  beforeAll(async () => {
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => tlsLike.listen(0, '127.0.0.1', r));
    plainAt = `127.0.0.1:${(plain.address() as AddressInfo).port}`;
    tlsAt = `127.0.0.1:${(tlsLike.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    plain.close();
    tlsLike.close();
  });
  const inventory = join(dir, 'esx-inventory.txt');
  const send = (url: string, spool: string) =>
    runJson(['import', '--json', '--host', 'esx01', '--kind', 'esx-inventory', inventory, '--url', url, '--spool', join(dir, spool), '--retries', '0'], {
      ...clean(),
      CATALOG_TOKEN: SECRET,
    });

  it('https:// to a plain HTTP catalog: says so and what to change, for restore and for every capture spooled', async () => {
    const env = { ...clean(), CATALOG_URL: `https://${plainAt}`, CATALOG_TOKEN: SECRET };
    const r = await runCollector(['restore', '--volume', '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c', '-o', join(dir, 'tls-out'), '--retries', '0'], env);
    expect(r.code).toBe(75);
    const said = `${plainAt} speaks plain HTTP, not TLS: make the URL http://${plainAt}`;
    expect(r.stderr.trim().split('\n')).toEqual([`collector restore: catalog unreachable: ${said}`]);

    writeFileSync(inventory, 'esxcfg-scsidevs -l\n');
    const first = await send(`https://${plainAt}`, 'spool-tls');
    expect(first.code).toBe(75);
    expect(first.json.captures[0].error).toBe(`catalog unreachable: ${said}`);
    // The next run tries the spooled capture first: the new capture's error says what is wrong,
    // not which spooled capture the failing request was for.
    const second = await send(`https://${plainAt}`, 'spool-tls');
    expect(second.code).toBe(75);
    expect(second.json.captures[0].error).toBe(`catalog unreachable: ${said}`);
    expect(second.stdout + second.stderr).not.toContain(first.json.captures[0].captureId);
    expect(second.stdout + second.stderr).not.toContain(SECRET);
  });

  it('http:// to a catalog that hangs up unanswered, as a TLS one does: says https:// may be what it wants', async () => {
    writeFileSync(inventory, 'esxcfg-scsidevs -l\n');
    const r = await send(`http://${tlsAt}`, 'spool-plain');
    expect(r.code).toBe(75);
    expect(r.json.captures[0].error).toBe(`catalog unreachable: ${tlsAt} hung up unanswered: if it speaks TLS, make the URL https://${tlsAt}`);
  });
});

describe.concurrent('a spool or restore directory mkdir cannot make', () => {
  // /proc answers ENOENT to mkdir under it although /proc exists, which sent Node's recursive
  // mkdir round for ever: the collector spun at 100% CPU and printed nothing. (A 30 s timeout
  // ends a run that still hangs, and the exit status then fails the test.)
  it('is one line on stderr and a non-zero exit, not a hang', async () => {
    const env = { ...clean(), CATALOG_URL: 'http://127.0.0.1:9', CATALOG_TOKEN: SECRET };
    // import makes its spool (spool resend and drop make none: a --spool not there is their usage error).
    const inventory = join(dir, 'inventory.json');
    writeFileSync(inventory, '{}');
    const [spool, restore] = await Promise.all([
      runCommand(
        process.execPath,
        [BUNDLE, 'import', '--host', 'esx01', '--kind', 'esx-inventory', inventory, '--spool', '/proc/vrc-no-such/spool', '--retries', '0'],
        env,
        30_000,
      ),
      runCommand(process.execPath, [BUNDLE, 'restore', '--volume', '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c', '-o', '/proc/vrc-no-such/out'], env, 30_000),
    ]);
    expect(spool.code, spool.stderr).toBe(1);
    expect(spool.stderr.trim().split('\n')).toEqual([expect.stringMatching(/spool \/proc\/vrc-no-such\/spool: ENOENT \(use --spool DIR\)/)]);
    expect(restore.code, restore.stderr).toBe(1);
    expect(restore.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^collector restore: \/proc\/vrc-no-such\/out\.partial-\d+: .*ENOENT/)]);
    expect(restore.stderr).not.toContain('internal error');
  });
});

describe('a config file holding a token', () => {
  it('warns in one line when others can read it, and not once it is mode 0600', async () => {
    const cfg = join(dir, 'readable.json');
    writeFileSync(cfg, JSON.stringify({ catalogUrl: 'http://127.0.0.1:9', token: SECRET }), { mode: 0o644 });
    chmodSync(cfg, 0o644);
    const loose = await runCollector(['spool', 'list', '--config', cfg, '--spool', join(dir, 'spool-cfg')], clean());
    expect(loose.code).toBe(0);
    expect(loose.stderr).toBe(`collector: warning: ${cfg} holds a token and others can read it (mode 0644); chmod 600 ${cfg}\n`);
    chmodSync(cfg, 0o600);
    const tight = await runCollector(['spool', 'list', '--config', cfg, '--spool', join(dir, 'spool-cfg')], clean());
    expect(tight.code).toBe(0);
    expect(tight.stderr).toBe('');
  });
});
