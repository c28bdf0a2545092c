/**
 * Golden evidence for the volume table entry and the FS descriptor: bytes
 * written by hand at the offsets public readers use, NOT through the project's
 * fixture writer.
 *
 * - glandium/vmfs-tools `libvmfs/vmfs_volume.h` (struct vmfs_lvminfo_raw, at LVM
 *   header + 0x200): u64 size +0x00, u64 blocks +0x08, uuid_str[35] +0x14,
 *   uuid +0x54, num_segments +0x74, first_segment +0x78, last_segment +0x80,
 *   num_extents +0x90.
 * - fox-it/dissect.vmfs `dissect/vmfs/c_lvm.py` (LVM_VolDescriptor): state +0x10
 *   (1 = LVM_NORMAL), name[64] +0x14, lvID.uuid +0x54, snapID +0x64, creationTimeUS
 *   +0x68 (the same fields, 0x200 bytes per entry), LVM_DEV_HEADER_OFFSET 0x100000.
 * - glandium/vmfs-tools `libvmfs/vmfs_fs.h` (struct vmfs_fsinfo_raw at LV +
 *   0x200000, magic 0x2fabf15e): volver +0x04, ver +0x08, uuid +0x09, mode +0x19,
 *   label[128] +0x1D, dev_blocksize +0x9D, blocksize u64 +0xA1, ctime u32 +0xA9,
 *   lvm_uuid +0xB1, subblock_size +0xD9.
 * - glandium/vmfs-tools `libvmfs/utils.c` (m_uuid_to_str): a UUID prints as the
 *   little-endian u32 at +0, the u32 at +4, the u16 at +8 (each as hex digits,
 *   most significant first), then bytes 10–15 in stored order.
 */
import { describe, expect, it } from 'vitest';
import { parseVhSf, parseVmfsHeader, type VmfsHeaderDetails } from '../../formats/vmfs.js';

const LVM = 0x100000;
const DATA_OFFSET = 0x1100000;
const FS = DATA_OFFSET + 0x200000;

/** The 16 stored bytes of a UUID whose words are given, MAC last. */
function uuid(timeLo: number, timeHi: number, rand: number, mac: number[]): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, timeLo, true);
  v.setUint32(4, timeHi, true);
  v.setUint16(8, rand, true);
  b.set(mac, 10);
  return b;
}

const MAC = [0x00, 0x0c, 0x29, 0x11, 0xd1, 0xb8];
const SEGMENT = uuid(0x49f2a6c1, 0x0a1b2c3d, 0x4e5f, MAC);
const SEGMENT_TEXT = '49f2a6c1-0a1b2c3d-4e5f-000c2911d1b8';
const VOLUME = uuid(0x49f2a6c2, 0x11223344, 0x5566, MAC);
const VOLUME_TEXT = '49f2a6c2-11223344-5566-000c2911d1b8';

function fsDescriptorAt(dump: Uint8Array, at: number, label: Uint8Array): void {
  const v = new DataView(dump.buffer);
  v.setUint32(at + 0x00, 0x2fabf15e, true);
  v.setUint32(at + 0x04, 4, true); // volver 4: VMFS3
  dump[at + 0x08] = 31; // ver: VMFS-3.31
  dump.set(VOLUME, at + 0x09);
  dump.set(label.subarray(0, 128), at + 0x1d);
  v.setUint32(at + 0x9d, 512, true);
  v.setBigUint64(at + 0xa1, 8n * 1024n * 1024n, true); // 8 MiB file blocks
  v.setUint32(at + 0xa9, 0x49f2a6c2, true);
  dump.set(SEGMENT, at + 0xb1);
  v.setUint32(at + 0xd9, 64 * 1024, true);
}

/** A partition-relative dump through the FS descriptor: LVM header, one volume table entry, FS descriptor. */
function handVolume(_label: Uint8Array): Uint8Array {
  const dump = new Uint8Array(FS + 4096);
  const v = new DataView(dump.buffer);
  v.setUint32(LVM, 0xc001d00d, true);
  v.setUint32(LVM + 0x04, 3, true);
  dump[LVM + 0x0c] = 2;
  dump[LVM + 0x0d] = 22;
  dump.set(Buffer.from('600144f0c0ffee0000004a1c3e7f0003', 'hex'), LVM + 0x2e);
  dump.set(Buffer.from('COMSTA', 'latin1'), LVM + 0x2e + 16);
  dump.set(Buffer.from('COMSTAR         ', 'latin1'), LVM + 0x1a);
  v.setBigUint64(LVM + 0x5e, 100n * 2n ** 30n, true);
  v.setUint32(LVM + 0x66, 1, true);
  v.setBigUint64(LVM + 0x7a, BigInt(DATA_OFFSET), true);
  const e = LVM + 0x200; // LVM 3: the first entry follows the 512-byte device header.
  v.setBigUint64(e + 0x00, 100n * 2n ** 30n, true);
  v.setBigUint64(e + 0x08, 9n, true);
  v.setUint32(e + 0x10, 1, true);
  dump.set(Buffer.from(SEGMENT_TEXT, 'latin1'), e + 0x14);
  dump.set(SEGMENT, e + 0x54);
  v.setBigUint64(e + 0x68, 1240640193_000000n, true);
  v.setUint32(e + 0x74, 399, true);
  v.setBigUint64(e + 0x78, 0n, true);
  v.setBigUint64(e + 0x80, 398n, true);
  v.setUint32(e + 0x90, 1, true);
  fsDescriptorAt(dump, FS, Buffer.from('datastore1', 'utf8'));
  return dump;
}

describe('volume table entry at the offsets vmfs-tools and dissect.vmfs read', () => {
  it('gives the segment UUID, PE range and extent count', () => {
    const parsed = parseVmfsHeader(handVolume(Buffer.from('datastore1')));
    const [entry] = (parsed.details as VmfsHeaderDetails).volumeTable;
    expect(entry).toMatchObject({
      logicalSize: 100 * 2 ** 30,
      state: 1,
      stateName: 'normal',
      name: SEGMENT_TEXT,
      segmentUuid: SEGMENT_TEXT,
      createdAt: new Date(1240640193_000).toISOString(),
      peCount: 399,
      firstPE: 0,
      lastPE: 398,
      extentCount: 1,
    });
    expect(parsed.vmfs?.segmentUuid).toBe(SEGMENT_TEXT);
  });
});

describe('FS descriptor at the offsets vmfs-tools reads', () => {
  it('gives the VMFS UUID as m_uuid_to_str prints it, the label, version and block size', () => {
    const parsed = parseVmfsHeader(handVolume(Buffer.from('datastore1')));
    expect(parsed.vmfs).toMatchObject({
      vmfsUuid: VOLUME_TEXT,
      label: 'datastore1',
      version: 'VMFS-3.31',
      blockSize: 8 * 1024 * 1024,
      segmentUuid: SEGMENT_TEXT,
      createdAt: new Date(0x49f2a6c2 * 1000).toISOString(),
      creatorMac: '00:0c:29:11:d1:b8',
    });
  });

  it('reads the same descriptor from a .vh.sf copy, whose byte 0 is LV byte 0', () => {
    const copy = new Uint8Array(4 * 1024 * 1024);
    fsDescriptorAt(copy, 0x200000, Buffer.from('datastore1'));
    expect(parseVhSf(copy).vmfs).toMatchObject({ vmfsUuid: VOLUME_TEXT, label: 'datastore1', segmentUuid: SEGMENT_TEXT });
  });

  it('keeps a UTF-8 label and shows a label full of control and invalid bytes by the text rule', () => {
    const copy = new Uint8Array(4 * 1024 * 1024);
    fsDescriptorAt(copy, 0x200000, Buffer.from('Datastöre ☃', 'utf8'));
    expect(parseVhSf(copy).vmfs?.label).toBe('Datastöre ☃');
    fsDescriptorAt(copy, 0x200000, Uint8Array.from([0x64, 0x73, 0x01, 0xff, 0x7f, 0x31, 0x00, 0x41]));
    expect(parseVhSf(copy).vmfs?.label).toBe('ds\\x01\\xff\\x7f1');
  });
});
