/**
 * GET /v1/volumes/{uuid}/dr-plan over the read-side datacenter (test/api/read-side-seed.ts):
 * the plan follows the VMFS UUID to both extents' NAAs, to the iscsitgt LUs on sol01 with
 * those GUIDs, their zvols and snapshots, and names the export file as the bundle holds it.
 * Command syntax sources are listed in test/dr/plan.builds-storage-commands-from-the-chain.test.ts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { EXTENT1, EXTENT2, PROD, SCRATCH, T0, seedDatacenter } from '../api/read-side-seed.js';

interface Json {
  [k: string]: any;
}

describeEachFlavour('GET /v1/volumes/{vmfsUuid}/dr-plan', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await seedDatacenter(catalog);
  });
  afterAll(async () => catalog?.close());

  it('follows both extents to the LUs that present their NAAs and restores the saved export', async () => {
    const res = await catalog.request(`/v1/volumes/${PROD.vmfsUuid.toUpperCase()}/dr-plan`);
    expect(res.status).toBe(200);
    const plan = (await res.json()) as Json;
    expect(plan.vmfsUuid).toBe(PROD.vmfsUuid);
    expect(plan.label).toBe(PROD.label);
    expect(plan.naaChecks.map((c: Json) => [c.headerDeviceId, c.luDeviceId, c.verdict, c.headerLun, c.luLun])).toEqual(
      [
        [EXTENT1.deviceId, EXTENT1.deviceId, 'match', EXTENT1.lun, EXTENT1.lun],
        [EXTENT2.deviceId, EXTENT2.deviceId, 'match', EXTENT2.lun, EXTENT2.lun],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    const commands: string[] = plan.steps.flatMap((s: Json) => s.commands);
    expect(commands).toContain('svccfg import sol01/iscsitgt-smf/iscsitgt.xml');
    expect(commands).toContain(`svccfg -s iscsitgt setprop param_prod_${EXTENT1.lun}/backing-store = astring: ${EXTENT1.zvol}`);
    expect(commands).toContain(`svccfg -s iscsitgt setprop param_prod_${EXTENT2.lun}/backing-store = astring: ${EXTENT2.zvol}`);
    expect(commands.at(-1)).toBe('esxcli storage vmfs extent list');
    expect(plan.steps.find((s: Json) => s.commands.includes('svccfg import sol01/iscsitgt-smf/iscsitgt.xml')).from[0]).toMatchObject({
      kind: 'iscsitgt-smf',
      host: 'sol01',
      bundlePath: 'sol01/iscsitgt-smf/iscsitgt.xml',
    });
    expect(plan.complete).toBe(true);
  });

  it('as of a time, clones the newest snapshot taken before it', async () => {
    const at = new Date(T0.getTime() + 3 * 3_600_000).toISOString();
    const plan = (await (await catalog.request(`/v1/volumes/${PROD.vmfsUuid}/dr-plan?at=${encodeURIComponent(at)}`)).json()) as Json;
    const commands: string[] = plan.steps.flatMap((s: Json) => s.commands);
    expect(commands).toContain(`zfs clone ${EXTENT1.dataset}@daily-2026-10-01 tank/clones/lun3-daily-2026-10-01`);
    expect(commands).toContain(
      `svccfg -s iscsitgt setprop param_prod_${EXTENT1.lun}/backing-store = astring: /dev/zvol/rdsk/tank/clones/lun3-daily-2026-10-01`,
    );
  });

  it('prints the same plan as text', async () => {
    const res = await catalog.request(`/v1/volumes/${PROD.vmfsUuid}/dr-plan?format=text`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^# DR plan for 5a1c3e7f-2b4d6e80-91a2-0050569a1b2c \(prod-datastore-01\)/);
    expect(text).toContain('   svccfg import sol01/iscsitgt-smf/iscsitgt.xml\n');
  });

  it('names the missing storage link for a volume whose LU was never captured', async () => {
    const plan = (await (await catalog.request(`/v1/volumes/${SCRATCH.vmfsUuid}/dr-plan`)).json()) as Json;
    expect(plan.complete).toBe(false);
    expect(plan.missing).toEqual([expect.objectContaining({ link: 'storage-lu', deviceId: SCRATCH.deviceId })]);
    expect(plan.naaChecks[0].verdict).toBe('no-lu');
  });

  it('answers 400 for a bad time or format, 404 for an unknown volume, 401 without a token', async () => {
    expect((await catalog.request(`/v1/volumes/${PROD.vmfsUuid}/dr-plan?at=yesterday`)).status).toBe(400);
    expect((await catalog.request(`/v1/volumes/${PROD.vmfsUuid}/dr-plan?format=pdf`)).status).toBe(400);
    const missing = await catalog.request('/v1/volumes/00000000-00000000-0000-000000000000/dr-plan');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as Json).error.code).toBe('not_found');
    expect((await catalog.request(`/v1/volumes/${PROD.vmfsUuid}/dr-plan`, { token: null })).status).toBe(401);
  });
});
