/**
 * Attack (or a careless upload): an SMF export or COMSTAR listing is uploaded raw through
 * the API, secrets and all. The collector redacts before hashing, but the server must not
 * rely on that: it applies the same redaction (formats/redact.ts) before it stores the
 * bytes. The stored artifact is the redacted one (its hash is of what is stored), says it
 * was redacted, names the original hash, and its download holds no secret.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { artifacts } from '../../db/schema.js';
import { chunkKey } from '../../api/store/types.js';
import type { ArtifactKind } from '../../formats/types.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, sha256Hex } from '../helpers/ingest-client.js';
import { FIXTURE_SECRETS, collectorFile, iscsitgtExport, itadmListTarget, stmfExport } from '../fixtures/text-fixtures.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const b64 = (s: string): string => Buffer.from(s).toString('base64');

// Secrets as svccfg stores them: iscsitgt's `passwords` group holds base64 CHAP/RADIUS
// secrets (illumos-gate usr/src/cmd/iscsi/iscsitgt/mgmt_scf.c); the iscsit provider data
// is a packed nvlist that carries `targetchapsecret` in clear (illumos-gate
// usr/src/lib/libiscsit/common/libiscsit.c); `itadm list-target -v` prints a literal
// secret only when one was set on an old build (illumos-gate usr/src/cmd/itadm/itadm.c).
const RAW: Array<{ kind: ArtifactKind; declared: ArtifactKind; fileName: string; bytes: Uint8Array; secrets: string[] }> = [
  {
    kind: 'iscsitgt-smf',
    declared: 'iscsitgt-smf',
    fileName: 'iscsitgt.xml',
    bytes: enc(
      iscsitgtExport({
        targets: [{ name: 't0', iqn: 'iqn.2001-04.com.example:t0', acl: ['esx01'], luns: [{ lun: 0, guid: '600144f0c6e7d3b400004f9a2c4e0001' }] }],
        initiators: [{ name: 'esx01', iqn: 'iqn.1998-01.com.vmware:esx01' }],
        passwords: true,
      }),
    ),
    secrets: [b64(FIXTURE_SECRETS.targetChap), b64(FIXTURE_SECRETS.radius), b64(FIXTURE_SECRETS.initiatorChap)],
  },
  {
    // Declared `unknown`: the server detects what it is and still redacts.
    kind: 'iscsitgt-smf',
    declared: 'unknown',
    fileName: 'export.xml',
    bytes: enc(
      iscsitgtExport({
        targets: [{ name: 't1', iqn: 'iqn.2001-04.com.example:t1', luns: [{ lun: 1, guid: '600144f0c6e7d3b400004f9a2c4e0002' }] }],
        passwords: true,
      }),
    ),
    secrets: [b64(FIXTURE_SECRETS.targetChap), b64(FIXTURE_SECRETS.radius)],
  },
];

describeEachFlavour('attack: raw SMF secrets are redacted on the server', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  for (const raw of RAW) {
    it(`${raw.declared} ${raw.fileName}: stored and downloaded without its secrets`, async () => {
      for (const s of raw.secrets) expect(Buffer.from(raw.bytes).includes(s)).toBe(true);
      const done = await ingest(catalog, {
        host: 'sol-raw',
        hostKind: 'solaris',
        artifacts: [{ kind: raw.declared, fileName: raw.fileName, bytes: raw.bytes }],
      });
      expect(done.artifacts[0].parseStatus).toBe('ok');
      const id = done.artifacts[0].id;

      const res = await catalog.request(`/v1/artifacts/${id}/content`);
      expect(res.status).toBe(200);
      const downloaded = new Uint8Array(await res.arrayBuffer());
      for (const s of raw.secrets) expect(Buffer.from(downloaded).includes(s)).toBe(false);
      expect(Buffer.from(downloaded).includes('REDACTED')).toBe(true);

      const [row] = await catalog.services.db.select().from(artifacts).where(eq(artifacts.id, id));
      // The hash is of what is stored; the original is noted.
      expect(row.sha256).toBe(sha256Hex(downloaded));
      expect(row.size).toBe(downloaded.length);
      expect(row.redaction).toMatchObject({ originalSha256: sha256Hex(raw.bytes), originalSize: raw.bytes.length });
      expect((row.redaction as { fields: string[] }).fields.length).toBeGreaterThan(0);
      expect((row.parsed as { details: { serverRedaction?: unknown } }).details.serverRedaction).toMatchObject({ originalSha256: sha256Hex(raw.bytes) });

      // The raw chunk never reached the chunk store; the staged upload is gone.
      expect(await catalog.services.store.head(chunkKey(sha256Hex(raw.bytes)))).toBeNull();
      for await (const o of catalog.services.store.list('staging/')) expect(o.key).not.toContain(done.captureId);
    });
  }

  it('an stmf export and an itadm listing uploaded raw are redacted too', async () => {
    const stmf = enc(stmfExport({ lus: [], iscsitSecret: true }));
    const listing = enc(
      collectorFile([
        {
          command: 'itadm list-target -v',
          output: itadmListTarget([{ iqn: 'iqn.2010-09.org.example:t9', chapUser: 'u', chapSecret: 'literal-chap-secret-77' }]),
        },
      ]),
    );
    // The raw bytes do carry the secrets (hex inside the provider data's packed nvlist; literal in the listing).
    expect(Buffer.from(stmf).includes(Buffer.from(FIXTURE_SECRETS.targetChap).toString('hex'))).toBe(true);
    expect(Buffer.from(listing).includes('literal-chap-secret-77')).toBe(true);
    const done = await ingest(catalog, {
      host: 'sol-raw2',
      hostKind: 'solaris',
      artifacts: [
        { kind: 'stmf-smf', fileName: 'stmf.xml', bytes: stmf },
        { kind: 'comstar-listing', fileName: 'comstar.txt', bytes: listing },
      ],
    });
    for (const [i, secret] of [
      [0, FIXTURE_SECRETS.targetChap],
      [1, 'literal-chap-secret-77'],
    ] as const) {
      const res = await catalog.request(`/v1/artifacts/${done.artifacts[i].id}/content`);
      const text = Buffer.from(await res.arrayBuffer());
      expect(text.includes(secret)).toBe(false);
      expect(text.includes(Buffer.from(secret).toString('hex'))).toBe(false);
    }
  });

  it('an already redacted upload (what the collector sends) is stored as is', async () => {
    const { redactSecrets } = await import('../../formats/redact.js');
    const clean = redactSecrets('iscsitgt-smf', RAW[0].bytes).bytes;
    const done = await ingest(catalog, {
      host: 'sol-clean',
      hostKind: 'solaris',
      artifacts: [{ kind: 'iscsitgt-smf', fileName: 'iscsitgt.xml', bytes: clean }],
    });
    const [row] = await catalog.services.db.select().from(artifacts).where(eq(artifacts.id, done.artifacts[0].id));
    expect(row.sha256).toBe(sha256Hex(clean));
    expect(row.redaction).toBeNull();
  });
});
