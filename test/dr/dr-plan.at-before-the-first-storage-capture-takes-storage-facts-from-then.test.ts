/**
 * A DR plan asked for a time before the storage host's first capture: the ESX host's header
 * dumps are from T0, the iscsitgt export and snapshot list of sol01 from T0+1h
 * (test/api/read-side-seed.ts). The plan must not call the LUs "never collected" and advise a
 * resignature: it takes sol01's facts from its first capture after the time, says so in the
 * JSON (`storageFactsFrom`), the NAA check and the text, and still clones only a snapshot taken
 * at or before the time — and none when the host's lists hold none that old. Such a plan is not
 * complete: the LU may have been re-created or re-numbered between the time and that capture,
 * and the first line of the text plan and of RESTORE.md's plan says so and why.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDrPlan, renderDrPlanText, type DrPlanInput, type PlanSource } from '../../api/dr/plan.js';
import { EXTENT1, EXTENT2, HOUR, PROD, T0, seedDatacenter } from '../api/read-side-seed.js';
import { readVerifiedBundle, unpackBundle } from '../helpers/bundle-tar.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

interface Json {
  [k: string]: any;
}

describeEachFlavour('GET dr-plan?at= before the first storage capture', (flavour) => {
  let catalog: TestCatalog;
  let iscsitgt: { id: string };
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const seeded = await seedDatacenter(catalog);
    iscsitgt = seeded.sol01.artifacts.find((a) => a.kind === 'iscsitgt-smf')!;
  });
  const temps: string[] = [];
  afterAll(async () => {
    await catalog?.close();
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  const AT = new Date(T0.getTime() + HOUR / 2).toISOString();
  const SOL01_FIRST = new Date(T0.getTime() + HOUR).toISOString();
  const plan = async (format = 'json') => catalog.request(`/v1/volumes/${PROD.vmfsUuid}/dr-plan?at=${encodeURIComponent(AT)}&format=${format}`);

  it("takes sol01's LUs from its first capture after the time and says so, instead of 'never collected'", async () => {
    const res = await plan();
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body.naaChecks.map((c: Json) => [c.headerDeviceId, c.verdict, c.luLun])).toEqual([
      [EXTENT1.deviceId, 'match', EXTENT1.lun],
      [EXTENT2.deviceId, 'match', EXTENT2.lun],
    ]);
    expect(body.missing).toEqual([]);
    // Every link found and every NAA matching, yet the facts are not the requested time's.
    expect(body.complete).toBe(false);
    expect(JSON.stringify(body)).not.toContain('never collected');
    expect(body.storageFactsFrom).toEqual(
      [EXTENT1, EXTENT2].map((e) => ({
        storageHost: 'sol01',
        deviceId: e.deviceId,
        collectedAt: SOL01_FIRST,
        requestedAt: AT,
        capturedBefore: false,
        artifactIds: [iscsitgt.id],
        message: expect.stringContaining(`storage host sol01 first captured at ${SOL01_FIRST}, after the requested time ${AT}`),
      })),
    );
    expect(body.naaChecks[0].message).toContain(`sol01's facts are from its capture of ${SOL01_FIRST}, after the requested time ${AT}`);
    // The snapshot list is sol01's first too; the clone is the newest snapshot taken before the time (T0 − 10 min).
    const commands: string[] = body.steps.flatMap((s: Json) => s.commands);
    expect(commands).toContain(`zfs clone ${EXTENT1.dataset}@daily-2026-10-01 tank/clones/lun3-daily-2026-10-01`);
    // A bundle of that time does not carry sol01's export: the step names the file and its artifact.
    expect(commands).toContain('svccfg import iscsitgt.xml');
    const restore = body.steps.find((s: Json) => s.commands.includes('svccfg import iscsitgt.xml'));
    expect(restore.from[0]).toMatchObject({ artifactId: iscsitgt.id, host: 'sol01', bundlePath: null });
    expect(body.storageFactsFrom[0].message).toContain(`artifact ${iscsitgt.id} (GET /v1/artifacts/{id}/content)`);
  });

  it("says it in a restore bundle of that time too: RESTORE.md's plan and DR-PLAN.txt", async () => {
    const root = await unpackBundle(await catalog.request(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle?at=${encodeURIComponent(AT)}`), temps);
    const { json, guide } = await readVerifiedBundle(root);
    expect(json.drPlan.storageFactsFrom.map((f: Json) => f.deviceId)).toEqual([EXTENT1.deviceId, EXTENT2.deviceId]);
    expect(guide).toContain(`- **Storage facts from after the requested time**: storage host sol01 first captured at ${SOL01_FIRST}`);
    expect(guide).toContain(
      `**The plan is NOT complete**: the storage facts of sol01 are from a capture after the requested time ${AT} (confirm no LU changed in between).`,
    );
    expect(json.drPlan.complete).toBe(false);
    expect(readFileSync(join(root, 'DR-PLAN.txt'), 'utf8')).toContain('# Storage facts from after the requested time: storage host sol01');
  });

  it('says it in the text plan, its first lines before the checks', async () => {
    const text = await (await plan('text')).text();
    const lines = text.split('\n');
    expect(lines[1]).toBe(
      `# The plan is NOT complete: the storage facts of sol01 are from a capture after the requested time ${AT} (confirm no LU changed in between). Read the notes below before running any step.`,
    );
    const note = lines.findIndex((l) => l.startsWith('# Storage facts from after the requested time: storage host sol01 first captured at'));
    expect(note).toBeGreaterThan(0);
    expect(note).toBeLessThan(lines.findIndex((l) => l.startsWith('# NAA check')));
  });
});

describe('DR plan with storage facts from after the time', () => {
  const NAA = 'naa.600144f0bbbb0000000000000000b001';
  const src = (kind: string, host: string, collectedAt: string): PlanSource => ({
    artifactId: `${kind}-${collectedAt}`,
    kind,
    host,
    fileName: `${kind}.txt`,
    collectedAt,
    bundlePath: null,
  });
  const input: DrPlanInput = {
    vmfsUuid: '5b2d4f80-3c5e7f91-a2b3-0050569a1b2d',
    label: null,
    at: '2026-11-01T00:00:00.000Z',
    extents: [{ deviceId: NAA, lun: 4, vml: null, host: 'esx01', source: src('vmfs-header', 'esx01', '2026-10-31T23:00:00.000Z') }],
    lus: [
      {
        stack: 'iscsitgt',
        storageHost: 'sol02',
        deviceId: NAA,
        lun: 4,
        iqn: 'iqn.1986-03.com.sun:02:tgt',
        alias: null,
        backingStore: '/dev/zvol/rdsk/tank/vol4',
        sizeBytes: 1 << 30,
        targetName: 'tgt',
        portalGroups: [],
        initiators: [],
        chap: false,
        source: src('iscsitgt-smf', 'sol02', '2026-11-05T00:00:00.000Z'),
      },
    ],
    // The first list is from after the time and every snapshot in it is newer than the time.
    snapshots: [
      {
        host: 'sol02',
        dataset: 'tank/vol4',
        snapshot: 'daily-11-04',
        createdAt: '2026-11-04T00:00:00.000Z',
        source: src('zfs-snapshots', 'sol02', '2026-11-05T00:00:00.000Z'),
      },
    ],
    storageFactsFrom: [
      {
        storageHost: 'sol02',
        deviceId: NAA,
        collectedAt: '2026-11-05T00:00:00.000Z',
        requestedAt: '2026-11-01T00:00:00.000Z',
        capturedBefore: true,
        artifactIds: ['iscsitgt-smf-2026-11-05T00:00:00.000Z'],
      },
    ],
  };

  it('invents no snapshot older than any captured, and says why none is cloned', () => {
    const p = buildDrPlan(input);
    expect(p.steps.some((s) => s.stage === 'zfs')).toBe(false);
    expect(p.missing).toEqual([
      expect.objectContaining({
        link: 'snapshots',
        message: expect.stringContaining('no snapshot of tank/vol4 on sol02 taken at or before 2026-11-01T00:00:00.000Z'),
      }),
    ]);
    expect(p.complete).toBe(false);
  });

  it('is not complete even when every link is found and every NAA matches', () => {
    const older = { ...input.snapshots[0], snapshot: 'daily-10-31', createdAt: '2026-10-31T00:00:00.000Z' };
    const p = buildDrPlan({ ...input, snapshots: [older] });
    expect(p.missing).toEqual([]);
    expect(p.naaChecks.map((c) => c.verdict)).toEqual(['match']);
    expect(p.complete).toBe(false);
    expect(renderDrPlanText(p).split('\n')[1]).toBe(
      '# The plan is NOT complete: the storage facts of sol02 are from a capture after the requested time 2026-11-01T00:00:00.000Z (confirm no LU changed in between). Read the notes below before running any step.',
    );
    // The same plan with facts of the time itself is complete.
    expect(buildDrPlan({ ...input, snapshots: [older], storageFactsFrom: undefined }).complete).toBe(true);
  });

  it('names a host captured before the time that did not present the device yet', () => {
    const p = buildDrPlan(input);
    expect(p.storageFactsFrom[0].message).toMatch(
      /^storage host sol02's captures at or before the requested time 2026-11-01T00:00:00.000Z do not present naa\.\S+; the first that does is of 2026-11-05T00:00:00.000Z/,
    );
    expect(renderDrPlanText(p)).toContain('# Storage facts from after the requested time: storage host sol02');
    // Facts from the time itself: nothing said.
    expect(buildDrPlan({ ...input, storageFactsFrom: undefined }).storageFactsFrom).toEqual([]);
  });
});
