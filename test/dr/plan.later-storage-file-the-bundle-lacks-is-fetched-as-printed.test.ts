/**
 * A plan as of a time before its storage host's first capture takes that host's facts from a
 * later capture, whose export a bundle of the requested time does not carry: the storage step
 * reads it by its bare file name (`sed … iscsitgt.xml > iscsitgt.lun4.xml`), and the plan said
 * only "artifact <id> (GET /v1/artifacts/{id}/content)", so the step failed as printed
 * (`sed: can't read iscsitgt.xml`). The plan now prints the download that puts the file where
 * the step reads it; run as printed, then the step's own lines, it yields the renamed export.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDrPlan, renderDrPlanText, type DrPlanInput, type PlanSource } from '../../api/dr/plan.js';
import { iscsitgtExport } from '../fixtures/text-fixtures.js';

const NAA = 'naa.600144f0cccc0000000000000000c001';
const AT = '2026-11-01T00:00:00.000Z';
const LATER = '2026-11-05T00:00:00.000Z';
const EXPORT_ID = '7d3c1a52-0e4b-5f6a-9b8c-1d2e3f405162';
const TOKEN = 'vrc_operator-token-for-the-fetch';

const source = (artifactId: string, kind: string, host: string, fileName: string, collectedAt: string): PlanSource => ({
  artifactId,
  kind,
  host,
  fileName,
  collectedAt,
  bundlePath: null,
});

/** The header expects LUN 4; sol02's export, captured after the time, has the LU at LUN 0. */
const input: DrPlanInput = {
  vmfsUuid: '5b2d4f80-3c5e7f91-a2b3-0050569a1b2e',
  label: null,
  at: AT,
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
      source: source(EXPORT_ID, 'iscsitgt-smf', 'sol02', 'iscsitgt.xml', LATER),
    },
  ],
  snapshots: [],
  storageFactsFrom: [{ storageHost: 'sol02', deviceId: NAA, collectedAt: LATER, requestedAt: AT, capturedBefore: false, artifactIds: [EXPORT_ID] }],
};

const EXPORT = iscsitgtExport({
  targets: [
    {
      name: 'lun4',
      iqn: 'iqn.1986-03.com.sun:02:lun4',
      luns: [{ lun: 0, guid: NAA.slice(4), backingStore: '/dev/zvol/rdsk/tank/iscsi/lun4', blocks: 2097152 }],
    },
  ],
});

describe('a storage file the bundle of the requested time lacks', () => {
  let server: Server;
  let url: string;
  const requests: string[] = [];
  const temps: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      if (req.url !== `/v1/artifacts/${EXPORT_ID}/content` || req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(EXPORT);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server?.close();
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  it('is fetched by a printed command to where the step reads it, and the step then runs as printed', async () => {
    const plan = buildDrPlan(input);
    const restore = plan.steps.find((s) => s.commands.includes('svccfg import iscsitgt.lun4.xml'));
    expect(restore?.commands.find((c) => c.startsWith('sed '))).toMatch(/ iscsitgt\.xml > iscsitgt\.lun4\.xml$/);
    const text = renderDrPlanText(plan);
    const fetch = /curl -fLo iscsitgt\.xml -H "Authorization: Bearer \$\{TOKEN[^}]*\}" "\$\{CATALOG_URL[^}]*\}\/v1\/artifacts\/[^"]+\/content"/.exec(text)?.[0];
    expect(fetch, text).toBe(
      `curl -fLo iscsitgt.xml -H "Authorization: Bearer \${TOKEN:?set TOKEN to an operator token}" "\${CATALOG_URL:?set CATALOG_URL to the catalog address}/v1/artifacts/${EXPORT_ID}/content"`,
    );
    expect(plan.storageFactsFrom[0].message).toContain(fetch);

    const dir = mkdtempSync(join(tmpdir(), 'plan-fetch-'));
    temps.push(dir);
    const sed = restore!.commands.find((c) => c.startsWith('sed '))!;
    // Asynchronously: the catalog answering the download is this process.
    const r = await new Promise<{ code: number; stderr: string }>((done) =>
      execFile('sh', ['-c', `${fetch} && ${sed}`], { cwd: dir, env: { ...process.env, TOKEN, CATALOG_URL: url }, timeout: 30_000 }, (err, _out, stderr) =>
        done({ code: err ? ((err.code as number) ?? 1) : 0, stderr }),
      ),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(requests).toEqual([`GET /v1/artifacts/${EXPORT_ID}/content Bearer ${TOKEN}`]);
    const moved = readFileSync(join(dir, 'iscsitgt.lun4.xml'), 'utf8');
    expect(moved).toContain("name='param_lun4_4'");
    expect(moved).not.toContain("name='param_lun4_0'");
  });

  it('pasted without TOKEN or CATALOG_URL set, the download says which to set, and sends nothing', async () => {
    const fetch = /curl -fLo iscsitgt\.xml [^\n]*\/content"/.exec(renderDrPlanText(buildDrPlan(input)))![0];
    const dir = mkdtempSync(join(tmpdir(), 'plan-fetch-unset-'));
    temps.push(dir);
    const before = requests.length;
    for (const [env, named] of [
      [{ TOKEN }, 'CATALOG_URL: set CATALOG_URL to the catalog address'],
      [{ CATALOG_URL: url }, 'TOKEN: set TOKEN to an operator token'],
    ] as const) {
      const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'TOKEN' && k !== 'CATALOG_URL'));
      const r = await new Promise<{ code: number; stderr: string }>((done) =>
        execFile('sh', ['-c', fetch], { cwd: dir, env: { ...clean, ...env }, timeout: 30_000 }, (err, _out, stderr) =>
          done({ code: err ? ((err.code as number) ?? 1) : 0, stderr }),
        ),
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(named);
    }
    expect(requests.length).toBe(before);
  });

  it('says nothing of a download when the bundle carries the file', () => {
    const inBundle = structuredClone(input);
    inBundle.lus[0].source.bundlePath = 'sol02/iscsitgt-smf/iscsitgt.xml';
    expect(renderDrPlanText(buildDrPlan(inBundle))).not.toContain('curl ');
  });
});
