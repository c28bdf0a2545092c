/**
 * Search answers whatever an operator pastes: a VMFS UUID with or without dashes
 * or cut to a prefix, an NAA id in stmfadm's upper case or as bare hex, a `vml.`
 * id (decoded to device id and LUN), a label fragment, a host name, an IQN, a zvol
 * path or ZFS dataset. Each answer says how the term was understood.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { EXTENT1, EXTENT2, IQN, PROD, SCRATCH, seedDatacenter, vmlOf } from './read-side-seed.js';

interface Json {
  [k: string]: any;
}

describeEachFlavour('GET /v1/search', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await seedDatacenter(catalog);
  });
  afterAll(async () => catalog?.close());

  const search = async (q: string, extra = '') => {
    const res = await catalog.request(`/v1/search?q=${encodeURIComponent(q)}${extra}`);
    return { status: res.status, body: (await res.json()) as Json };
  };
  const volumeHits = (body: Json) => body.hits.filter((h: Json) => h.type === 'volume').map((h: Json) => h.vmfsUuid);
  const hostNames = (body: Json) =>
    body.hits
      .filter((h: Json) => h.type === 'host')
      .map((h: Json) => h.name)
      .sort();

  it('finds the volume and its LUN by a vml. id, decoded to device id and LUN', async () => {
    const vml = vmlOf(EXTENT1.deviceId, EXTENT1.lun);
    const { status, body } = await search(vml.toUpperCase().replace('VML.', 'vml.'));
    expect(status).toBe(200);
    expect(body.query).toMatchObject({ type: 'vml', deviceId: EXTENT1.deviceId, lun: EXTENT1.lun });
    expect(body.hits[0]).toMatchObject({ type: 'lun', deviceId: EXTENT1.deviceId, lun: EXTENT1.lun, score: 100 });
    expect(volumeHits(body)).toEqual([PROD.vmfsUuid]);
    expect(body.hits.find((h: Json) => h.type === 'target')).toMatchObject({ iqn: IQN, lun: EXTENT1.lun, storageHost: 'sol01' });
  });

  it('finds a volume by its UUID with dashes, without, in upper case', async () => {
    for (const q of [PROD.vmfsUuid, PROD.vmfsUuid.replace(/-/g, ''), PROD.vmfsUuid.toUpperCase()]) {
      const { body } = await search(q);
      expect(body.hits[0], q).toMatchObject({ type: 'volume', vmfsUuid: PROD.vmfsUuid, label: PROD.label, score: 100 });
    }
    expect((await search(PROD.vmfsUuid)).body.query.type).toBe('vmfsUuid');
    expect((await search(PROD.vmfsUuid.replace(/-/g, ''))).body.query.type).toBe('hex');
  });

  it('finds a volume by an 8+ hex digit prefix of its UUID', async () => {
    for (const q of ['5a1c3e7f', '5A1C3E7F-2B4D', '5a1c3e7f2b4d6e8']) {
      const { body } = await search(q);
      expect(body.query.type, q).toBe('uuidPrefix');
      expect(volumeHits(body), q).toEqual([PROD.vmfsUuid]);
    }
    expect(volumeHits((await search('5a1c3e7e')).body)).toEqual([]);
    // 16 bare hex digits read as an 8-byte NAA id still find the UUID they start.
    const sixteen = await search('5a1c3e7f2b4d6e80');
    expect(sixteen.body.query.type).toBe('deviceId');
    expect(volumeHits(sixteen.body)).toEqual([PROD.vmfsUuid]);
  });

  it('finds a device by its NAA in stmfadm upper case, as bare hex, with or without naa.', async () => {
    for (const q of [
      EXTENT2.deviceId.toUpperCase(),
      EXTENT2.deviceId.slice(4).toUpperCase(),
      EXTENT2.deviceId.slice(4),
      `naa.${EXTENT2.deviceId.slice(4).toUpperCase()}`,
    ]) {
      const { body } = await search(q);
      const lun = body.hits.find((h: Json) => h.type === 'lun');
      expect(lun, q).toMatchObject({ deviceId: EXTENT2.deviceId, lun: EXTENT2.lun, vendor: 'SUN', model: 'COMSTAR' });
      expect(volumeHits(body), q).toEqual([PROD.vmfsUuid]);
    }
    // Bare 32 hex digits are read both ways: as a VMFS UUID and (leading 6) as an NAA id.
    expect((await search(EXTENT2.deviceId.slice(4))).body.query).toMatchObject({ type: 'hex', deviceId: EXTENT2.deviceId });
  });

  it('finds volumes by a label fragment, exact label first', async () => {
    const { body } = await search('datastore-0');
    expect(body.query.type).toBe('text');
    expect(volumeHits(body)).toEqual([PROD.vmfsUuid]);
    const exact = await search('PROD-DATASTORE-01');
    expect(exact.body.hits[0]).toMatchObject({ type: 'volume', vmfsUuid: PROD.vmfsUuid, match: 'label', score: 95 });
    expect(volumeHits((await search('vmfs')).body)).toEqual([SCRATCH.vmfsUuid]);
  });

  it('matches a fragment where a word starts and inside words, word starts first when the answer is cut short', async () => {
    // 's' starts a word of 'scratch-vmfs'; 'prod-datastore-01' holds it mid-word: a substring search answers both.
    expect(volumeHits((await search('s')).body).sort()).toEqual([PROD.vmfsUuid, SCRATCH.vmfsUuid].sort());
    // An answer of one hit is filled from the word starts ('scratch-vmfs', the host 'sol01'), never the mid-word match.
    const cut = await search('s', '&limit=1');
    expect(cut.status).toBe(200);
    expect(volumeHits(cut.body)).not.toContain(PROD.vmfsUuid);
    // 'store-01' starts no word anywhere: found inside 'prod-datastore-01'.
    expect(volumeHits((await search('store-01')).body)).toEqual([PROD.vmfsUuid]);
    expect(volumeHits((await search('TASTORE')).body)).toEqual([PROD.vmfsUuid]);
    // A separator before the fragment is kept: '-vmfs' is in 'scratch-vmfs', not in any other label.
    expect(volumeHits((await search('-vmfs')).body)).toEqual([SCRATCH.vmfsUuid]);
    // A fragment holding a word start followed by digits is found mid-word through that word start
    // ('qn.1986-03': the IQN's word '1986-03…'), only where the whole fragment is; a short number
    // ('tastore-01') through the trigram index.
    const targetIqns = (body: Json) => [...new Set(body.hits.filter((h: Json) => h.type === 'target').map((h: Json) => h.iqn))];
    expect(targetIqns((await search('QN.1986-03')).body)).toEqual([IQN]);
    expect(targetIqns((await search('qn.1986-04')).body)).toEqual([]);
    expect(targetIqns((await search('com.sun:02')).body)).toEqual([IQN]);
    expect(volumeHits((await search('tastore-01')).body)).toEqual([PROD.vmfsUuid]);
    expect(volumeHits((await search('tastore-011')).body)).toEqual([]);
    // Digits after letters start a word: '01' finds the hosts esx01 and sol01 (not esx02) as well as the label's '01'.
    const digits = await search('01');
    expect(volumeHits(digits.body)).toEqual([PROD.vmfsUuid]);
    expect(hostNames(digits.body)).toEqual(['esx01', 'sol01']);
    // LIKE wildcards and tsquery syntax in a fragment mean themselves.
    for (const q of ["prod'", 'prod\\', 'prod%', 'prod_', 'prod:*', 'prod & x', '!prod']) {
      const { status, body } = await search(q);
      expect(status, q).toBe(200);
      expect(volumeHits(body), q).toEqual([]);
    }
  });

  it('finds a host by name', async () => {
    const { body } = await search('esx01');
    expect(body.hits[0]).toMatchObject({ type: 'host', name: 'esx01', kind: 'esxi', score: 95 });
    const fragment = await search('esx');
    expect(hostNames(fragment.body)).toEqual(['esx01', 'esx02']);
  });

  it('finds the target LUs by IQN, in any case', async () => {
    const { body } = await search(IQN.toUpperCase());
    expect(body.query).toMatchObject({ type: 'iqn', iqn: IQN });
    const targets = body.hits.filter((h: Json) => h.type === 'target');
    expect(targets.map((t: Json) => t.lun).sort()).toEqual([EXTENT1.lun, EXTENT2.lun]);
    expect(targets[0]).toMatchObject({ storageHost: 'sol01', stack: 'iscsitgt', alias: 'prod-ds', score: 100 });
  });

  it('finds the LU, the volume on it and the snapshots by zvol path or dataset', async () => {
    const { body } = await search(EXTENT1.zvol);
    expect(body.query).toMatchObject({ type: 'backingStore', dataset: EXTENT1.dataset });
    expect(body.hits[0]).toMatchObject({ type: 'target', backingStore: EXTENT1.zvol, deviceId: EXTENT1.deviceId });
    expect(volumeHits(body)).toEqual([PROD.vmfsUuid]);
    const snaps = body.hits
      .filter((h: Json) => h.type === 'snapshot')
      .map((h: Json) => h.name)
      .sort();
    expect(snaps).toEqual([`${EXTENT1.dataset}@daily-2026-09-30`, `${EXTENT1.dataset}@daily-2026-10-01`]);
    const byDataset = await search(EXTENT2.dataset);
    expect(byDataset.body.hits.filter((h: Json) => h.type === 'snapshot').map((h: Json) => h.name)).toEqual([`${EXTENT2.dataset}@daily-2026-10-01`]);
    const bySnapshot = await search(`${EXTENT1.dataset}@daily-2026-09-30`);
    expect(bySnapshot.body.hits.find((h: Json) => h.type === 'snapshot')).toMatchObject({ name: `${EXTENT1.dataset}@daily-2026-09-30`, score: 100 });
  });

  it('understands ESX paths: /vmfs/volumes/<uuid or label> and /vmfs/devices/disks/<id>:<partition>', async () => {
    for (const q of [`/vmfs/volumes/${PROD.vmfsUuid}/vm1/vm1.vmdk`, `/vmfs/volumes/${PROD.label}`]) {
      const { body } = await search(q);
      expect(body.hits[0], q).toMatchObject({ type: 'volume', vmfsUuid: PROD.vmfsUuid });
    }
    const { body } = await search(`/vmfs/devices/disks/${EXTENT2.deviceId}:1`);
    expect(body.hits[0]).toMatchObject({ type: 'lun', deviceId: EXTENT2.deviceId });
    expect(volumeHits(body)).toEqual([PROD.vmfsUuid]);
  });

  it('understands what vSphere and array tools print: a datastore URL, a datastore path, an NAA in colon-separated bytes', async () => {
    for (const q of [`ds:///vmfs/volumes/${PROD.vmfsUuid}/`, `[${PROD.label}] vm1/vm1.vmx`]) {
      const { body } = await search(q);
      expect(body.hits[0], q).toMatchObject({ type: 'volume', vmfsUuid: PROD.vmfsUuid });
    }
    const colons = EXTENT2.deviceId.slice(4).match(/../g)!.join(':').toUpperCase();
    const { body } = await search(colons);
    expect(body.hits[0], colons).toMatchObject({ type: 'lun', deviceId: EXTENT2.deviceId });
  });

  it('understands what a Linux host at the DR site prints: /dev/disk/by-id names, lsscsi 0x, multipath 3…, a GUID', async () => {
    const hex = EXTENT2.deviceId.slice(4);
    const guid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`.toUpperCase();
    for (const q of [`/dev/disk/by-id/wwn-0x${hex}`, `0x${hex}`, `scsi-3${hex}`, `3${hex}`, guid]) {
      const { body } = await search(q);
      expect(body.hits[0], q).toMatchObject({ type: 'lun', deviceId: EXTENT2.deviceId });
    }
  });

  it('bounds the hits, says when it cut, and answers nothing for the unknown', async () => {
    const { body } = await search('esx', '&limit=1');
    expect(body.hits).toHaveLength(1);
    expect(body.truncated).toBe(true);
    const none = await search('no-such-thing-anywhere');
    expect(none.status).toBe(200);
    expect(none.body.hits).toEqual([]);
    // LIKE wildcards mean themselves.
    expect((await search('%')).body.hits).toEqual([]);
  });

  it('refuses an empty or missing q with 400', async () => {
    for (const path of ['/v1/search?q=', '/v1/search?q=%20%20', '/v1/search', '/v1/search?q=x&limit=0']) {
      const res = await catalog.request(path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as Json).error.code).toBe('bad_request');
    }
  });
});
