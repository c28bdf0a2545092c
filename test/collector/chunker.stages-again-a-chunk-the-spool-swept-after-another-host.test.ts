/**
 * One run of `collect --ssh a --ssh b` reads each host and delivers its capture in turn; each
 * delivery sweeps the staged chunks no spooled capture declares. The stager remembered the
 * chunks it staged for the run, so a second host's command output with the same bytes as the
 * first's (a default `svccfg export -a stmf` on two storage hosts, say) was declared staged
 * while its file was gone: dedup is per host, the catalog asked for it, and output cannot be
 * read again, so the capture was set aside as rejected (exit 65) — every run. The stager now
 * stages such a chunk again.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ChunkStager, sha256Hex } from '../../collector/chunker.js';
import { Spool } from '../../collector/spool.js';

const dir = mkdtempSync(join(tmpdir(), 'stager-swept-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a chunk the spool swept after the first host delivered is staged again for the next', async () => {
  const spool = await Spool.open(join(dir, 'spool'), 1 << 30);
  try {
    const stager = new ChunkStager(spool, new Set());
    const output = randomBytes(4096);
    const sha = sha256Hex(output);
    const first = await stager.offer(sha, output, true);
    expect(first.encoding).toBeDefined();
    expect(existsSync(spool.staged(sha)!.file)).toBe(true);
    // The first host's capture went out: no spooled capture declares the chunk, the sweep takes it.
    await spool.collectGarbage();
    expect(spool.staged(sha)).toBeNull();
    // The second host's output holds the same bytes.
    const second = await stager.offer(sha, Buffer.from(output), true);
    expect(second.encoding).toBeDefined();
    expect(spool.staged(sha), 'declared staged, so it must be in the spool').not.toBeNull();
    expect(existsSync(spool.staged(sha)!.file)).toBe(true);
  } finally {
    spool.close();
  }
});
