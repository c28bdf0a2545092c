import { describe, expect, test } from 'vitest';
import { parseComstarListing } from '../../formats/comstar.js';
import { REDACTED, redactSecrets } from '../../formats/redact.js';
import { parseIscsitgtSmf, parseStmfSmf, type StmfDetails } from '../../formats/smf.js';
import { ARTIFACT_KINDS } from '../../formats/types.js';
import { FIXTURE_SECRETS, collectorFile, iscsitgtExport, itadmListTarget, stmfExport } from '../fixtures/text-fixtures.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const b64 = (s: string): string => Buffer.from(s).toString('base64');

const ISCSITGT = iscsitgtExport({
  targets: [{ name: 't0', iqn: 'iqn.2001-04.com.example:t0', acl: ['esx01'], luns: [{ lun: 0, guid: '600144f0c6e7d3b400004f9a2c4e0001' }] }],
  initiators: [{ name: 'esx01', iqn: 'iqn.1998-01.com.vmware:esx01' }],
  passwords: true,
});

describe('redactSecrets', () => {
  test('iscsitgt: the passwords group values become REDACTED, the rest stays byte for byte', () => {
    const { bytes, redacted } = redactSecrets('iscsitgt-smf', enc(ISCSITGT));
    const text = dec(bytes);
    for (const s of Object.values(FIXTURE_SECRETS)) {
      expect(text).not.toContain(b64(s));
      expect(text).not.toContain(s);
    }
    expect(redacted).toEqual(['passwords/main', 'passwords/radius', 'passwords/I_esx01']);
    // Only the secret values changed.
    const expected = ISCSITGT.replace(b64(FIXTURE_SECRETS.targetChap), REDACTED)
      .replace(b64(FIXTURE_SECRETS.radius), REDACTED)
      .replace(b64(FIXTURE_SECRETS.initiatorChap), REDACTED);
    expect(text).toBe(expected);
    // The result still parses, and still names what was secret.
    const parsed = parseIscsitgtSmf(bytes);
    expect(parsed.details.targetLus).toHaveLength(1);
    expect(parsed.details.redacted).toEqual(expect.arrayContaining(['passwords/main']));
  });

  test('is deterministic and idempotent', () => {
    const a = redactSecrets('iscsitgt-smf', enc(ISCSITGT));
    const b = redactSecrets('iscsitgt-smf', enc(ISCSITGT));
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    const again = redactSecrets('iscsitgt-smf', a.bytes);
    expect(Buffer.from(again.bytes).equals(Buffer.from(a.bytes))).toBe(true);
  });

  test('secret-named properties outside the passwords group, propval or value list', () => {
    const xml = `<?xml version='1.0'?>
<service_bundle type='manifest' name='export'>
  <service name='system/iscsitgt' type='service' version='0'>
    <property_group name='iscsitgt' type='basic'>
      <propval name='radius-secret' type='astring' value='r4d1us-s3cret'/>
      <propval name="chap-secret" type="astring" value="double-quoted-s3cret"/>
      <property name='old-secret-list' type='astring'>
        <astring_list>
          <value_node value='list-s3cret-1'/>
          <value_node value='list-s3cret-2'/>
        </astring_list>
      </property>
      <propval name='base-directory' type='astring' value='/etc/iscsi'/>
    </property_group>
  </service>
</service_bundle>
`;
    const { bytes, redacted } = redactSecrets('iscsitgt-smf', enc(xml));
    const text = dec(bytes);
    expect(text).not.toMatch(/s3cret/);
    expect(text).toContain("value='/etc/iscsi'");
    expect(text).toContain('value="REDACTED"');
    expect(redacted).toEqual(['iscsitgt/radius-secret', 'iscsitgt/chap-secret', 'iscsitgt/old-secret-list']);
  });

  test('stmf: iscsit provider data carrying a CHAP secret is redacted whole; sbd provider data is kept', () => {
    const xml = stmfExport({ lus: [{ guid: '600144F0C6E7D3B400004F9A2C4E0001', views: [{ entry: 0, lun: 0 }] }], sbdChunks: 1, iscsitSecret: true });
    const secretHex = Buffer.from(FIXTURE_SECRETS.targetChap, 'latin1').toString('hex');
    expect(xml).toContain(secretHex);
    const { bytes, redacted } = redactSecrets('stmf-smf', enc(xml));
    const text = dec(bytes);
    expect(text).not.toContain(secretHex);
    expect(redacted).toEqual(['provider_data_pg_iscsit']);
    const d = parseStmfSmf(bytes).details as StmfDetails;
    expect(d.providerData.find((p) => p.provider === 'iscsit')).toMatchObject({ redacted: true });
    expect(d.providerData.find((p) => p.provider === 'sbd')).toMatchObject({ redacted: false, bytes: 4000 });
    expect(d.redacted).toContain('provider_data_pg_iscsit');
  });

  test('comstar listing: a CHAP secret printed in clear is replaced, set/unset are kept', () => {
    const text = collectorFile(
      [
        {
          command: 'itadm list-target -v',
          output: itadmListTarget(
            [
              { iqn: 'iqn.2001-04.com.example:t0', chapSecret: 'my-clear-chap-secret' },
              { iqn: 'iqn.2001-04.com.example:t1', chapSecret: 'set' },
            ],
            { crlf: true },
          ),
        },
        { command: 'itadm list-defaults', output: 'iSCSI Target Default Properties:\r\n\r\nradiussecret:  \tplain-radius-secret\r\n' },
      ],
      { crlf: true },
    );
    const { bytes, redacted } = redactSecrets('comstar-listing', enc(text));
    const out = dec(bytes);
    expect(out).not.toContain('my-clear-chap-secret');
    expect(out).not.toContain('plain-radius-secret');
    expect(out).toContain('targetchapsecret:   \tREDACTED\r\n');
    expect(out).toContain('targetchapsecret:   \tset\r\n');
    expect(redacted).toEqual(['targetchapsecret', 'radiussecret']);
    expect(out.split('\r\n').length).toBe(text.split('\r\n').length);
    const parsed = parseComstarListing(bytes);
    expect(JSON.stringify(parsed)).not.toContain('my-clear-chap-secret');
  });

  test('the parser alone never returns a clear CHAP secret either', () => {
    const parsed = parseComstarListing(itadmListTarget([{ iqn: 'iqn.2001-04.com.example:t0', chapSecret: 'my-clear-chap-secret' }]));
    expect(JSON.stringify(parsed)).not.toContain('my-clear-chap-secret');
    expect(parsed.details.redacted).toEqual(['iqn.2001-04.com.example:t0/targetchapsecret']);
  });

  test('kinds without secrets come back unchanged', () => {
    const input = enc('gpt\n1 2 3 4\n');
    for (const kind of ARTIFACT_KINDS.filter((k) => !['iscsitgt-smf', 'stmf-smf', 'comstar-listing'].includes(k))) {
      const r = redactSecrets(kind, input);
      expect(r.bytes).toBe(input);
      expect(r.redacted).toEqual([]);
    }
  });

  test('bytes that are not UTF-8 survive untouched around a redaction', () => {
    const head = enc(
      "<service_bundle><service name='s'><property_group name='passwords' type='application'><propval name='main' type='astring' value='c2VjcmV0'/>",
    );
    const input = new Uint8Array([...head, 0xff, 0xfe, 0x80, ...enc('</property_group></service></service_bundle>')]);
    const { bytes } = redactSecrets('iscsitgt-smf', input);
    expect(Array.from(bytes.slice(bytes.length - 44 - 3, bytes.length - 44))).toEqual([0xff, 0xfe, 0x80]);
    expect(dec(bytes)).not.toContain('c2VjcmV0');
  });
});
