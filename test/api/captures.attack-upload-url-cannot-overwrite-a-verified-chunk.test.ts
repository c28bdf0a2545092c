/**
 * Attack: a stolen collector token begins a capture naming a chunk no one has uploaded
 * yet, announcing its own stored hash and MD5, and keeps the upload URL. Another host then
 * uploads and commits that chunk. The attacker's later PUT of other bytes is accepted by
 * the store (the URL is bound to those bytes), but it lands in the attacker's staging area:
 * the victim's chunk and downloads stay byte-exact, and the attacker's commit is refused.
 * An upload URL is also useless once its capture committed (the fs route answers 409).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chunkKey, stagingKey } from '../../api/store/types.js';
import { decodeChunk } from '../../api/pipeline/chunks.js';
import { artifactId } from '../../api/ingest/begin.js';
import { sweepStaging } from '../../api/ingest/staging.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, md5Base64, prepareCapture, putChunk, sha256Hex, uploadMissing } from '../helpers/ingest-client.js';

describeEachFlavour('attack: an upload URL cannot overwrite a verified chunk', (flavour) => {
  let catalog: TestCatalog;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    Object.assign(tokens, await collectorTokens(catalog, ['attackerhost', 'victimhost']));
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it("the attacker's late PUT changes neither the stored chunk nor the victim's download", async () => {
    // An opaque artifact (no parse), so the test is about bytes only.
    const original = randomBytes(4096);
    const sha = sha256Hex(original);
    const bogus = randomBytes(original.length);

    // The attacker names the chunk first, declaring "stored bytes" that are its own.
    const attack = prepareCapture({ host: 'attackerhost', token: tokens.attackerhost, artifacts: [] });
    attack.request.artifacts = [
      {
        kind: 'vmfs-undelete',
        fileName: 'x.tgz',
        sourcePath: '/x.tgz',
        size: original.length,
        sha256: sha,
        chunks: [
          { sha256: sha, size: original.length, encoding: 'gzip', storedSize: bogus.length, storedSha256: sha256Hex(bogus), storedMd5: md5Base64(bogus) },
        ],
      },
    ];
    const attackAnswer = await begin(catalog, attack.request, tokens.attackerhost);
    expect(attackAnswer.missing).toHaveLength(1);
    const attackerUrl = attackAnswer.missing[0];
    expect(attackerUrl.url).not.toContain(chunkKey(sha));

    // The victim uploads and commits the real bytes.
    const victim = prepareCapture({ host: 'victimhost', artifacts: [{ kind: 'vmfs-undelete', fileName: 'v.tgz', bytes: original }] });
    const victimAnswer = await begin(catalog, victim.request, tokens.victimhost);
    await uploadMissing(catalog, victim, victimAnswer);
    const committed = await commit(catalog, victim.request.captureId, tokens.victimhost);

    // The attacker's URL still takes its bytes (they are what it was signed for)…
    const put = await putChunk(catalog, attackerUrl, bogus);
    expect(put.status).toBe(200);
    // …but they rest in the attacker's staging area, never under the chunk's key.
    expect(await catalog.services.store.head(stagingKey(attack.request.captureId, sha))).toEqual({
      key: stagingKey(attack.request.captureId, sha),
      size: bogus.length,
    });
    const stored = await catalog.services.store.getBytes(chunkKey(sha));
    expect(sha256Hex((await decodeChunk(sha, original.length, stored!)).bytes)).toBe(sha);

    const download = await catalog.request(`/v1/artifacts/${committed.artifacts[0].id}/content`);
    expect(download.status).toBe(200);
    expect(sha256Hex(new Uint8Array(await download.arrayBuffer()))).toBe(sha);

    // The attacker's commit is refused (its staged bytes are not the chunk) and deleted.
    const refused = await commit(catalog, attack.request.captureId, tokens.attackerhost).catch((e) => e);
    expect(refused).toMatchObject({ status: 422 });
    expect(await catalog.services.store.head(stagingKey(attack.request.captureId, sha))).toBeNull();
    expect(sha256Hex((await decodeChunk(sha, original.length, (await catalog.services.store.getBytes(chunkKey(sha)))!)).bytes)).toBe(sha);
  });

  it('an upload URL of a committed capture no longer stores anything a commit reads', async () => {
    const bytes = randomBytes(2048);
    const prepared = prepareCapture({ host: 'victimhost', artifacts: [{ kind: 'vmfs-undelete', fileName: 'w.tgz', bytes }] });
    const answer = await begin(catalog, prepared.request, tokens.victimhost);
    await uploadMissing(catalog, prepared, answer);
    await commit(catalog, prepared.request.captureId, tokens.victimhost);
    // Staging is gone with the commit (on S3 just after its answer: S3BlobStore.closeStaging).
    await catalog.services.store.settled();
    expect(await catalog.services.store.head(stagingKey(prepared.request.captureId, answer.missing[0].sha256))).toBeNull();

    const again = await putChunk(catalog, answer.missing[0], bytes);
    if (catalog.services.store.kind === 'fs') {
      // The fs upload route refuses a committed capture's keys.
      expect(again.status).toBe(409);
      expect(await catalog.services.store.head(stagingKey(prepared.request.captureId, answer.missing[0].sha256))).toBeNull();
    } else {
      // S3 serves its own URLs until they expire: the object lands in the staging area of a
      // committed capture, which no commit reads and the sweep removes.
      expect(again.status).toBe(200);
      const swept = await sweepStaging(catalog.services);
      expect(swept.deleted).toBeGreaterThanOrEqual(1);
      expect(await catalog.services.store.head(stagingKey(prepared.request.captureId, answer.missing[0].sha256))).toBeNull();
    }
    const download = await catalog.request(`/v1/artifacts/${artifactId(prepared.request.captureId, 0)}/content`);
    expect(sha256Hex(new Uint8Array(await download.arrayBuffer()))).toBe(sha256Hex(bytes));
  });
});
