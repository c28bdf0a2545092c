import { spawn } from 'node:child_process';
import { constants, statSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { CHUNK_SIZE } from '../formats/index.js';
import { shellWord } from '../formats/printable.js';
import { UsageError } from './errors.js';

/** The outcome of running one of the host's commands. */
export interface CommandResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  /** The command does not exist on the host. */
  missing: boolean;
}

/** Where a byte range came from, recorded so a spooled capture can re-read a chunk later. */
export type AccessRef = { type: 'local'; root: string } | { type: 'ssh'; target: string };

/**
 * How discovery and capture reach a host: the local machine (paths under a root)
 * or a remote ESXi host through the system `ssh` client.
 */
export interface HostAccess {
  readonly ref: AccessRef;
  /** `local` or the ssh target, for messages. */
  readonly label: string;
  run(argv: string[]): Promise<CommandResult>;
  /**
   * Streams `length` bytes from `offset` of a device or file (fewer when it ends first).
   * A yielded buffer may be reused for the next piece: copy what you keep.
   */
  read(path: string, offset: number, length: number): AsyncIterable<Buffer>;
  /** A host file's text, or null when it does not exist. */
  readText(path: string): Promise<string | null>;
  /** Names in a directory, or null when it cannot be listed. */
  list(dir: string): Promise<string[] | null>;
}

/** Largest command output kept; listings are KB, SMF exports at most a few MB. */
const MAX_OUTPUT = 64 * 1024 * 1024;

/** How a run reaches its hosts; each access gets these from its command's options. */
export interface HostSettings {
  /**
   * How long a host command may run, and how long a remote read may go without a byte
   * (`--command-timeout`): a hung command must not hold the spool lock for ever.
   */
  commandTimeoutMs: number;
}

export const DEFAULT_HOST_SETTINGS: Readonly<HostSettings> = Object.freeze({ commandTimeoutMs: 300_000 });

/** Kills `child` once `timeoutMs` passes without a `bump()`; `expired` tells afterwards. */
function watchdog(child: ReturnType<typeof spawn>, timeoutMs: number) {
  let timer: NodeJS.Timeout;
  const w = { expired: false, bump: () => {}, stop: () => clearTimeout(timer) };
  w.bump = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      w.expired = true;
      child.kill('SIGKILL');
      // A grandchild (the shell's sleep, ssh's remote side) may still hold the pipes open.
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, timeoutMs);
  };
  w.bump();
  return w;
}

function runProcess(file: string, args: string[], timeoutMs: number): Promise<CommandResult> {
  return new Promise((done) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const dog = watchdog(child, timeoutMs);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    child.stdout.on('data', (c: Buffer) => {
      outBytes += c.length;
      if (outBytes <= MAX_OUTPUT) out.push(c);
      else child.kill();
    });
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      dog.stop();
      done({ code: 127, stdout: Buffer.alloc(0), stderr: e.message, missing: e.code === 'ENOENT' });
    });
    child.on('close', (code, signal) => {
      dog.stop();
      const stderr = dog.expired ? `timed out after ${timeoutMs / 1000} s` : outBytes > MAX_OUTPUT ? 'output too large' : Buffer.concat(err).toString();
      done({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr, missing: false });
    });
  });
}

/** Finds an executable on PATH, or null. */
export async function whichOnPath(command: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if (command.includes('/')) return command;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, command);
    try {
      await fsp.access(p, constants.X_OK);
      if ((await fsp.stat(p)).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/**
 * Opens a file or a device for reading. A FIFO is refused first: opening one waits for a
 * writer, past any timeout, so one named by --device, --file or `inspect` held the run
 * forever. (Opening a socket fails at once, ENXIO.)
 */
export async function openToRead(path: string): Promise<fsp.FileHandle> {
  if ((await fsp.stat(path)).isFIFO()) throw new Error('not a file or a device (a FIFO)');
  return fsp.open(path, 'r');
}

/** Fills `buf` from `at` as far as the file goes; the bytes read. */
export async function readAt(fh: fsp.FileHandle, buf: Buffer, at: number): Promise<Buffer> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, at + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** The local host; device and file paths resolve under `root` (commands come from PATH). */
export class LocalAccess implements HostAccess {
  readonly ref: AccessRef;
  readonly label = 'local';
  #buffers: Buffer[] | null = null;
  constructor(
    readonly root: string,
    readonly settings: HostSettings = DEFAULT_HOST_SETTINGS,
  ) {
    this.ref = { type: 'local', root: resolve(root) };
  }

  /** A host path mapped under the root. */
  path(p: string): string {
    return join(this.ref.type === 'local' ? this.ref.root : '/', p);
  }

  async run(argv: string[]): Promise<CommandResult> {
    const exe = await whichOnPath(argv[0]);
    if (!exe) return { code: 127, stdout: Buffer.alloc(0), stderr: `${argv[0]}: not found on PATH`, missing: true };
    return runProcess(exe, argv.slice(1), this.settings.commandTimeoutMs);
  }

  async *read(path: string, offset: number, length: number): AsyncIterable<Buffer> {
    const fh = await openToRead(this.path(path));
    // Two buffers for every read of this host keep memory flat however many devices and
    // however long each (reads of one host run one at a time). The next piece is asked of
    // the thread pool before this one is yielded, so it is read while this one is hashed.
    // A piece is 4 chunks: a chunk of zeros is named at memory speed (chunker.ts), and with
    // one chunk a piece the thread pool's round trips took a fifth longer on 50 LUN heads.
    const bufs = (this.#buffers ??= [0, 1].map(() => Buffer.allocUnsafe(4 * CHUNK_SIZE)));
    const end = offset + length;
    /** Up to 4 MiB from `at`, ending on a chunk boundary (the chunker takes whole aligned chunks without copying); `short` at the file's end. */
    const fill = async (buf: Buffer, at: number): Promise<{ piece: Buffer; short: boolean }> => {
      const want = Math.min(buf.length - (at % CHUNK_SIZE), end - at);
      const piece = await readAt(fh, buf.subarray(0, want), at);
      return { piece, short: piece.length < want };
    };
    let next = offset < end ? fill(bufs[0], offset) : null;
    try {
      for (let pos = offset, i = 1; next; i++) {
        const { piece, short } = await next;
        pos += piece.length;
        next = short || pos >= end ? null : fill(bufs[i & 1], pos);
        // A read ahead that fails is thrown when its piece is asked for, not while nobody waits for it.
        next?.catch(() => {});
        if (piece.length > 0) yield piece;
      }
    } finally {
      await next?.catch(() => {});
      await fh.close();
    }
  }

  async readText(path: string): Promise<string | null> {
    try {
      return await fsp.readFile(this.path(path), 'utf8');
    } catch {
      return null;
    }
  }

  async list(dir: string): Promise<string[] | null> {
    try {
      return (await fsp.readdir(this.path(dir))).sort();
    } catch {
      return null;
    }
  }
}

/**
 * Options that keep ssh from prompting or trusting an unknown host key, and that end
 * a session whose host went silent (4 keepalives 15 s apart unanswered).
 */
export const SSH_OPTIONS = [
  '-o',
  'BatchMode=yes',
  '-o',
  'ConnectTimeout=10',
  '-o',
  'StrictHostKeyChecking=yes',
  '-o',
  'ServerAliveInterval=15',
  '-o',
  'ServerAliveCountMax=4',
];

/**
 * An ESXi host without an agent, reached with the system ssh client (the user's keys,
 * known_hosts and ~/.ssh/config). Reads stream `dd` output; nothing is copied to disk.
 */
export class SshAccess implements HostAccess {
  readonly ref: AccessRef;
  readonly label: string;
  constructor(
    readonly target: string,
    readonly settings: HostSettings = DEFAULT_HOST_SETTINGS,
  ) {
    if (!/^([A-Za-z0-9._-]+@)?[A-Za-z0-9._:[\]-]+$/.test(target) || target.startsWith('-')) {
      throw new Error(`not an ssh target: ${target}`);
    }
    this.ref = { type: 'ssh', target };
    this.label = target;
  }

  #sshArgs(remote: string): string[] {
    return [...SSH_OPTIONS, '--', this.target, remote];
  }

  async run(argv: string[]): Promise<CommandResult> {
    const r = await runProcess('ssh', this.#sshArgs(argv.map(shellWord).join(' ')), this.settings.commandTimeoutMs);
    if (r.missing) return { ...r, missing: false, stderr: 'ssh client not found on PATH' };
    // ssh exits 255 for its own failures; 127 is the remote shell's "command not found".
    return { ...r, missing: r.code === 127 };
  }

  async *read(path: string, offset: number, length: number): AsyncIterable<Buffer> {
    if (offset % CHUNK_SIZE !== 0) throw new Error('remote reads start on a 1 MiB boundary');
    const count = Math.ceil(length / CHUNK_SIZE);
    const remote = `dd if=${shellWord(path)} bs=1M skip=${offset / CHUNK_SIZE} count=${count} 2>/dev/null || { echo "dd failed" >&2; exit 3; }`;
    const child = spawn('ssh', this.#sshArgs(remote), { stdio: ['ignore', 'pipe', 'pipe'] });
    // A long dump may take longer than the timeout: only silence for that long ends it.
    const dog = watchdog(child, this.settings.commandTimeoutMs);
    const err: Buffer[] = [];
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const closed = new Promise<number>((r) => child.on('close', (code) => r(code ?? 1)));
    const failed = new Promise<never>((_, rej) => child.on('error', rej));
    failed.catch(() => undefined);
    let left = length;
    try {
      try {
        for await (const c of child.stdout as AsyncIterable<Buffer>) {
          dog.bump();
          if (left <= 0) continue;
          const part = c.length > left ? c.subarray(0, left) : c;
          left -= part.length;
          yield part;
        }
      } catch (e) {
        if (!dog.expired) throw e;
      }
      const code = await Promise.race([closed, failed]);
      // Any non-zero exit means the read was cut short (a device shorter than asked exits 0):
      // the bytes so far must not pass for a whole dump.
      if (code !== 0) {
        const why = dog.expired ? `no data for ${this.settings.commandTimeoutMs / 1000} s` : Buffer.concat(err).toString().trim() || `ssh exit ${code}`;
        throw new Error(`${this.target}: reading ${path}: ${why}`);
      }
    } finally {
      dog.stop();
      if (child.exitCode === null) child.kill();
    }
  }

  async readText(path: string): Promise<string | null> {
    const r = await this.run(['cat', path]);
    return r.code === 0 ? r.stdout.toString() : null;
  }

  async list(dir: string): Promise<string[] | null> {
    const r = await this.run(['ls', '-1', dir]);
    return r.code === 0
      ? r.stdout
          .toString()
          .split('\n')
          .map((s) => s.trim())
          .filter(Boolean)
          .sort()
      : null;
  }
}

/** Rebuilds the access a spooled capture recorded. */
export function accessFromRef(ref: AccessRef, settings: HostSettings = DEFAULT_HOST_SETTINGS): HostAccess {
  return ref.type === 'local' ? new LocalAccess(ref.root, settings) : new SshAccess(ref.target, settings);
}

/**
 * The hosts one run reads: each `--ssh` target (named by its host part), or this
 * machine under `root`. A mistyped --root is a usage error, not a host with nothing to lose.
 */
export function hostAccesses(
  command: string,
  sshTargets: string[],
  root: string,
  localName: string,
  settings: HostSettings = DEFAULT_HOST_SETTINGS,
): Array<{ access: HostAccess; hostName: string }> {
  if (!sshTargets.length && !statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${command}: --root ${root} is not a directory`);
  try {
    return sshTargets.length
      ? sshTargets.map((t) => ({ access: new SshAccess(t, settings), hostName: t.replace(/^.*@/, '') }))
      : [{ access: new LocalAccess(root, settings), hostName: localName }];
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message}`);
  }
}
