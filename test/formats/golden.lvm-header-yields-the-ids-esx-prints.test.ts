/**
 * Golden evidence for the LVM device header: each header is written byte by byte
 * at offsets taken from public readers of the format, NOT through the project's
 * fixture writer, and each expected id is one ESX itself prints for that device.
 *
 * Layout sources:
 * - fox-it/dissect.vmfs `dissect/vmfs/c_lvm.py`: LVM_DevMetadata (magic +0x00,
 *   majorVersion +0x04, minorVersion +0x08, SCSI_DiskId diskID +0x0C,
 *   diskBlockSize +0x5A, totalBytes +0x5E, numVolumes +0x66, dataOffset +0x7A,
 *   devID +0x82, initTimeUS +0x92, modTimeUS +0x9A); SCSI_DiskId = u8 type,
 *   u8 len, u16 lun, u8 deviceType, u8 scsiLevel, char vendor[8], model[16],
 *   revision[4], id[44] (so vendor at +0x12, model +0x1A, revision +0x2A, id +0x2E).
 * - glandium/vmfs-tools `libvmfs/vmfs_volume.h` (struct vmfs_volinfo_raw):
 *   LVM header at partition + 0x100000, magic 0xC001D00D, lun byte at +0x0E,
 *   a 28-byte "name" at +0x12 (vendor + model + revision as one string), the
 *   device identifier from +0x2E, size/256 as a u32 at +0x5F, uuid at +0x82.
 *
 * Id sources:
 * - VMware KB 2078730 ("Correlating VML ID with naa ID in ESXi 5.x"): a vml is
 *   vml. + uuid type (02 = naa) + device type + LUN + 00 + the disk id + 6 more
 *   bytes; its example vml.02000000006000eb3952315fbe000000000000001b695343534944
 *   belongs to naa.6000eb3952315fbe000000000000001b, and the RDM example
 *   vml.02000000006090a0a8e07bea184a0685b5f62efd94313030452d30.
 * - Broadcom KB 379673 (same article for ESXi 7+): LUNs past 255 store the high
 *   byte after the low byte; its example vml.02000501006000eb3952315fbe0000000000000041695343534944
 *   has LUN bytes 05 01 = LUN 0x105.
 * - The seed-era host (ESX 3.5 on an OpenSolaris COMSTAR LU, LUN 3): length byte
 *   +0x0D = 0x16 = 22 = 16-byte NAA + "COMSTA"; esxcfg-scsidevs printed
 *   naa.<32 hex> and vml.0200030000<32 hex>434f4d535441. COMSTAR LU names start
 *   600144f0 (NAA 6 + Sun's OUI 00144F; illumos-gate stmf_sbd).
 */
import { describe, expect, it } from 'vitest';
import { parseVmfsHeader, type VmfsHeaderDetails } from '../../formats/vmfs.js';
import { parseArtifact } from '../../formats/parse.js';

const LVM = 0x100000; // partition-relative dump: the header sits at byte 0x100000.

interface HandHeader {
  idType: number;
  /** The byte at +0x0D exactly as the host wrote it. */
  lengthByte: number;
  lun: number;
  vendor: string;
  model: string;
  revision: string;
  /** What sits in the 44-byte field at +0x2E, in order. */
  idField: Uint8Array;
  sizeBytes: number;
  /** Padding of the text fields. */
  pad?: number;
}

function text(s: string, len: number, pad: number): Uint8Array {
  const out = new Uint8Array(len).fill(pad);
  out.set(Buffer.from(s, 'latin1').subarray(0, len));
  return out;
}

/** A 2 MiB partition-relative dump holding only the LVM device header. */
function handHeader(h: HandHeader): Uint8Array {
  const dump = new Uint8Array(2 * 1024 * 1024);
  const v = new DataView(dump.buffer);
  const pad = h.pad ?? 0x20;
  v.setUint32(LVM + 0x00, 0xc001d00d, true);
  v.setUint32(LVM + 0x04, 3, true); // LVM 3: ESX 3.x
  v.setUint32(LVM + 0x08, 3, true);
  dump[LVM + 0x0c] = h.idType;
  dump[LVM + 0x0d] = h.lengthByte;
  v.setUint16(LVM + 0x0e, h.lun, true);
  dump[LVM + 0x10] = 0; // SCSI device type 0: disk
  dump[LVM + 0x11] = 5;
  dump.set(text(h.vendor, 8, pad), LVM + 0x12);
  dump.set(text(h.model, 16, pad), LVM + 0x1a);
  dump.set(text(h.revision, 4, pad), LVM + 0x2a);
  dump.set(h.idField.subarray(0, 44), LVM + 0x2e);
  v.setUint32(LVM + 0x5a, 512, true);
  v.setBigUint64(LVM + 0x5e, BigInt(h.sizeBytes), true);
  v.setUint32(LVM + 0x66, 0, true); // no volume table entries to read
  v.setBigUint64(LVM + 0x7a, 0x1100000n, true);
  // devID (VMFS UUID layout): time 0x4a1c3e7d, then 0xaabbccdd, 0xeeff, MAC 00:50:56:9a:1b:2c.
  v.setUint32(LVM + 0x82, 0x4a1c3e7d, true);
  v.setUint32(LVM + 0x86, 0xaabbccdd, true);
  v.setUint16(LVM + 0x8a, 0xeeff, true);
  dump.set([0x00, 0x50, 0x56, 0x9a, 0x1b, 0x2c], LVM + 0x8c);
  return dump;
}

const hex = (s: string) => Buffer.from(s, 'hex');
const concat = (...parts: Uint8Array[]) => Buffer.concat(parts);

describe('seed-era header: ESX 3.5 on a COMSTAR LU, LUN 3, length byte 22', () => {
  const naa = '600144f0c0ffee0000004a1c3e7f0003';
  const header = {
    idType: 2,
    lengthByte: 0x16,
    lun: 3,
    vendor: 'SUN',
    model: 'COMSTAR',
    revision: '1.0',
    idField: concat(hex(naa), Buffer.from('COMSTA', 'latin1')),
    sizeBytes: 200 * 2 ** 30,
  };

  it.each([0x20, 0x00])('inspects to naa.<32 hex> and the vml esxcfg-scsidevs printed (text padding 0x%s)', (pad) => {
    const parsed = parseArtifact('vmfs-header', handHeader({ ...header, pad }));
    expect(parsed.device).toMatchObject({
      deviceId: `naa.${naa}`,
      vml: `vml.0200030000${naa}434f4d535441`,
      lun: 3,
      vendor: 'SUN',
      model: 'COMSTAR',
      revision: '1.0',
      sizeBytes: 200 * 2 ** 30,
      extentUuid: '4a1c3e7d-aabbccdd-eeff-0050569a1b2c',
    });
    const lvm = (parsed.details as VmfsHeaderDetails).lvm;
    expect(lvm).toMatchObject({ deviceIdLength: 22, deviceIdLayout: 'with-model-prefix', deviceIdHex: naa, modelPrefix: 'COMSTA' });
    expect(lvm.deviceIdFieldHex).toBe(naa + '434f4d535441' + '00'.repeat(22));
    expect((parsed.details as VmfsHeaderDetails).notes.filter((n) => /device id/.test(n))).toEqual([]);
    expect(JSON.stringify(parsed)).not.toMatch(/\\u0000/);
  });

  it('reads vendor, model and revision where vmfs-tools reads one 28-byte name at +0x12', () => {
    const dump = handHeader(header);
    // vmfs-tools vmfs_volinfo_raw.name: the same 28 bytes as one string.
    expect(Buffer.from(dump.subarray(LVM + 0x12, LVM + 0x12 + 28)).toString('latin1')).toBe('SUN     COMSTAR         1.0 ');
    expect(parseVmfsHeader(dump).device).toMatchObject({ vendor: 'SUN', model: 'COMSTAR', revision: '1.0' });
  });

  it('reads the size vmfs-tools reads as size/256 in a u32 at +0x5F', () => {
    const dump = handHeader(header);
    const vmfsToolsSize = new DataView(dump.buffer).getUint32(LVM + 0x5f, true) * 256;
    expect(parseVmfsHeader(dump).device?.sizeBytes).toBe(vmfsToolsSize);
  });
});

describe('published vml ids rebuilt from a header', () => {
  it('VMware KB 2078730: naa.6000eb3952315fbe000000000000001b, LUN 0, model tail "iSCSID"', () => {
    const naa = '6000eb3952315fbe000000000000001b';
    // G = 695343534944 in the KB is ASCII "iSCSID": the model's first 6 bytes.
    const parsed = parseVmfsHeader(
      handHeader({
        idType: 2,
        lengthByte: 22,
        lun: 0,
        vendor: 'ISCSI',
        model: 'iSCSIDisk',
        revision: '0001',
        idField: concat(hex(naa), Buffer.from('iSCSID', 'latin1')),
        sizeBytes: 2 ** 30,
      }),
    );
    expect(parsed.device?.deviceId).toBe('naa.6000eb3952315fbe000000000000001b');
    expect(parsed.device?.vml).toBe('vml.02000000006000eb3952315fbe000000000000001b695343534944');
  });

  it('VMware KB 2078730 RDM example, written in the older id-then-model reading (length 16)', () => {
    const naa = '6090a0a8e07bea184a0685b5f62efd94';
    // 313030452d30 = "100E-0": the model's first 6 bytes (an EqualLogic 100E-00).
    const parsed = parseVmfsHeader(
      handHeader({
        idType: 2,
        lengthByte: 16,
        lun: 0,
        vendor: 'EQLOGIC',
        model: '100E-00',
        revision: '4.3',
        idField: concat(hex(naa), Buffer.from('100E-0', 'latin1')),
        sizeBytes: 2 ** 30,
      }),
    );
    expect(parsed.device?.deviceId).toBe(`naa.${naa}`);
    expect(parsed.device?.vml).toBe('vml.02000000006090a0a8e07bea184a0685b5f62efd94313030452d30');
    expect((parsed.details as VmfsHeaderDetails).lvm.deviceIdLayout).toBe('id-then-model');
  });

  it('Broadcom KB 379673: LUN 0x105 is stored low byte first, 05 01', () => {
    // The KB's prose names naa.…001b; the vml it decodes carries …0041, which is what the bytes say.
    const naa = '6000eb3952315fbe0000000000000041';
    const parsed = parseVmfsHeader(
      handHeader({
        idType: 2,
        lengthByte: 22,
        lun: 0x105,
        vendor: 'ISCSI',
        model: 'iSCSIDisk',
        revision: '0001',
        idField: concat(hex(naa), Buffer.from('iSCSID', 'latin1')),
        sizeBytes: 2 ** 30,
      }),
    );
    expect(parsed.device?.lun).toBe(261);
    expect(parsed.device?.vml).toBe('vml.02000501006000eb3952315fbe0000000000000041695343534944');
    expect(parsed.device?.deviceId).toBe(`naa.${naa}`);
  });
});
