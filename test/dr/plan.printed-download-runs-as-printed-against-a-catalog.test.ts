/**
 * The download a DR plan prints for a file a step reads by its bare name (`curl -fLo FILE -H
 * "Authorization: Bearer ${TOKEN:?…}" "${CATALOG_URL:?…}/v1/artifacts/<id>/content"`), run by the
 * shell as printed against a real listening catalog, in each flavour: it puts the artifact's
 * bytes in FILE whether the catalog streams them (Node) or, answering as on AWS Lambda
 * (Services.bufferedAnswers) for an artifact past what a buffered answer carries, redirects to a
 * presigned GET of the store — on S3 another address, to which curl does not send the token.
 * Printed without -L, curl saved the 302's empty body as the file and exited 0.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUFFERED_ANSWER_MAX_BYTES } from '../../api/context.js';
import { buildDrPlan, renderDrPlanText, type DrPlanInput, type PlanSource } from '../../api/dr/plan.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { availableFlavours, startTestCatalog, type Flavour, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const NAA = 'naa.600144f0cccc0000000000000000c001';

/** A plan whose storage facts come from a later capture, so it prints the download of `artifactId` as iscsitgt.xml. */
function planInput(artifactId: string): DrPlanInput {
  const source = (id: string, kind: string, host: string, fileName: string, collectedAt: string): PlanSource => ({
    artifactId: id,
    kind,
    host,
    fileName,
    collectedAt,
    bundlePath: null,
  });
  return {
    vmfsUuid: '5b2d4f80-3c5e7f91-a2b3-0050569a1b2e',
    label: null,
    at: '2026-11-01T00:00:00.000Z',
    extents: [{ deviceId: NAA, lun: 4, vml: null, host: 'esx01', source: source('h1', 'vmfs-header', 'esx01', 'vmfs-header.bin', '2026-10-31T23:00:00.000Z') }],
    lus: [
      {
        stack: 'iscsitgt',
        storageHost: 'sol02',
        deviceId: NAA,
        lun: 0,
        iqn: 'iqn.1986-03.com.sun:02:lun4',
        alias: null,
        backingStore: '/dev/zvol/rdsk/tank/iscsi/lun4',
        sizeBytes: 1 << 30,
        targetName: 'lun4',
        portalGroups: [],
        initiators: [],
        chap: false,
        source: source(artifactId, 'iscsitgt-smf', 'sol02', 'iscsitgt.xml', '2026-11-05T00:00:00.000Z'),
      },
    ],
    snapshots: [],
    storageFactsFrom: [
      {
        storageHost: 'sol02',
        deviceId: NAA,
        collectedAt: '2026-11-05T00:00:00.000Z',
        requestedAt: '2026-11-01T00:00:00.000Z',
        capturedBefore: false,
        artifactIds: [artifactId],
      },
    ],
  };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

for (const flavour of availableFlavours() as Flavour[]) {
  describe(`the DR plan's printed download, run as printed [${flavour}]`, () => {
    let catalog: TestCatalog;
    const work = mkdtempSync(join(tmpdir(), 'vrc-plan-curl-'));
    // Past what a buffered answer carries, so that a buffered runtime redirects it.
    const dump = buildVmfsDisk({ extraRegions: [{ offset: 4 * 1024 * 1024, bytes: randomBytes(BUFFERED_ANSWER_MAX_BYTES + 1024 * 1024) }] });
    let fetchLine = '';
    let artifactId = '';

    beforeAll(async () => {
      catalog = await startTestCatalog(flavour, { listen: true });
      const done = await ingest(catalog, {
        host: 'esx01',
        hostKind: 'esxi',
        artifacts: [
          {
            kind: 'vmfs-header',
            fileName: 'big-header.bin',
            sourcePath: `/vmfs/devices/disks/${DEFAULTS.deviceId}`,
            device: DEFAULTS.deviceId,
            bytes: dump,
            gzip: true,
          },
        ],
      });
      artifactId = done.artifacts[0].id;
      fetchLine = /curl [^\n]*?\/content"/.exec(renderDrPlanText(buildDrPlan(planInput(artifactId))))![0];
    }, 240_000);
    afterAll(async () => {
      if (catalog) catalog.services.bufferedAnswers = undefined;
      await catalog?.close();
      rmSync(work, { recursive: true, force: true });
    });

    const runPrinted = (dir: string, base = catalog.url) =>
      new Promise<{ code: number; stderr: string }>((done) =>
        execFile(
          'sh',
          ['-c', fetchLine],
          { cwd: dir, env: { ...process.env, TOKEN: catalog.adminToken, CATALOG_URL: base }, timeout: 60_000 },
          (err, _out, stderr) => done({ code: err ? ((err.code as number) ?? 1) : 0, stderr }),
        ),
      );

    it('follows redirects', () => {
      expect(fetchLine).toMatch(
        /^curl -fLo iscsitgt\.xml -H "Authorization: Bearer \$\{TOKEN:\?[^}]*\}" "\$\{CATALOG_URL:\?[^}]*\}\/v1\/artifacts\/[^"/]+\/content"$/,
      );
    });

    it('gets the bytes the catalog streams', { timeout: 120_000 }, async () => {
      const dir = mkdtempSync(join(work, 'streamed-'));
      const r = await runPrinted(dir);
      expect(r.code, r.stderr).toBe(0);
      expect(sha(readFileSync(join(dir, 'iscsitgt.xml')))).toBe(sha(dump));
    });

    // The console's address as `npm start` prints it ends in `/`: the line then asks for `//v1/…`,
    // which the catalog answered 404 'no route for GET //v1/…' and curl -f failed (exit 22).
    it("gets the bytes with CATALOG_URL set to the console's address, its trailing / included", { timeout: 120_000 }, async () => {
      const dir = mkdtempSync(join(work, 'slash-'));
      const r = await runPrinted(dir, `${catalog.url}/`);
      expect(r.code, r.stderr).toBe(0);
      expect(sha(readFileSync(join(dir, 'iscsitgt.xml')))).toBe(sha(dump));
    });

    it('gets the bytes by the store where answers are buffered and the artifact is past their cap', { timeout: 120_000 }, async () => {
      catalog.services.bufferedAnswers = true;
      try {
        const first = await fetch(`${catalog.url}/v1/artifacts/${artifactId}/content`, {
          headers: { authorization: `Bearer ${catalog.adminToken}` },
          redirect: 'manual',
        });
        expect(first.status).toBe(302);
        const dir = mkdtempSync(join(work, 'redirected-'));
        const r = await runPrinted(dir);
        expect(r.code, r.stderr).toBe(0);
        expect(sha(readFileSync(join(dir, 'iscsitgt.xml')))).toBe(sha(dump));
      } finally {
        catalog.services.bufferedAnswers = undefined;
      }
    });
  });
}
