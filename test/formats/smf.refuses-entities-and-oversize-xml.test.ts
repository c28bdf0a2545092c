import { describe, expect, test } from 'vitest';
import { FormatError } from '../../formats/errors.js';
import { parseIscsitgtSmf, parseStmfSmf } from '../../formats/smf.js';
import { iscsitgtExport, stmfExport } from '../fixtures/text-fixtures.js';

const GUID = '600144f0c6e7d3b400004f9a2c4e0001';
const plain = iscsitgtExport({
  targets: [{ name: 't0', iqn: 'iqn.2001-04.com.example:t0', luns: [{ lun: 0, guid: GUID, backingStore: '/dev/zvol/rdsk/tank/lun0' }] }],
});

function refusal(fn: () => unknown): FormatError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    return e as FormatError;
  }
  throw new Error('expected a FormatError');
}

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE service_bundle [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<service_bundle type='manifest' name='export'>
  <service name='system/iscsitgt' type='service' version='0'>
    <property_group name='target_t0' type='configuration'>
      <propval name='alias' type='astring' value='&lol9;'/>
    </property_group>
  </service>
</service_bundle>`;

describe('SMF hardening', () => {
  test.each([
    ['iscsitgt', parseIscsitgtSmf],
    ['stmf', parseStmfSmf],
  ])('refuses an entity bomb as malformed, naming the line (%s)', (_name, parse) => {
    const e = refusal(() => parse(BILLION_LAUGHS));
    expect(e.code).toBe('malformed');
    expect(e.line).toBe(3);
  });

  test('refuses an external (SYSTEM) entity without reading it', () => {
    const xml = plain
      .replace(
        "<!DOCTYPE service_bundle SYSTEM '/usr/share/lib/xml/dtd/service_bundle.dtd.1'>",
        '<!DOCTYPE service_bundle [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
      )
      .replace("value='iqn.2001-04.com.example:t0'", "value='&xxe;'");
    const e = refusal(() => parseIscsitgtSmf(xml));
    expect(e.code).toBe('malformed');
    expect(JSON.stringify(e)).not.toContain('root:');
  });

  test('refuses an internal DTD subset even without entities', () => {
    const xml = plain.replace("<!DOCTYPE service_bundle SYSTEM '/usr/share/lib/xml/dtd/service_bundle.dtd.1'>", '<!DOCTYPE service_bundle [<!ELEMENT x ANY>]>');
    expect(refusal(() => parseIscsitgtSmf(xml)).code).toBe('malformed');
  });

  test('accepts and ignores the DOCTYPE of a real export, whatever DTD it names', () => {
    const xml = plain.replace('/usr/share/lib/xml/dtd/service_bundle.dtd.1', 'http://127.0.0.1:9/never-fetched.dtd');
    expect(parseIscsitgtSmf(xml).details.targetLus).toHaveLength(1);
  });

  test('leaves an undeclared entity reference literal instead of expanding it', () => {
    const xml = plain.replace("value='iqn.2001-04.com.example:t0'", "value='&xxe;'");
    const rows = parseIscsitgtSmf(xml).details.targetLus ?? [];
    expect(rows[0].iqn).toBe('&xxe;');
  });

  test('ignores XInclude elements instead of following them', () => {
    const xml = plain.replace(
      '<single_instance/>',
      "<single_instance/><xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='/etc/passwd' parse='text'/>",
    );
    const parsed = parseIscsitgtSmf(xml);
    expect(parsed.details.targetLus).toHaveLength(1);
    expect(JSON.stringify(parsed)).not.toContain('root:');
  });

  test('refuses input over 16 MiB as too_large', () => {
    const big = plain + ' '.repeat(16 * 1024 * 1024);
    expect(refusal(() => parseIscsitgtSmf(big)).code).toBe('too_large');
    expect(refusal(() => parseStmfSmf(new Uint8Array(16 * 1024 * 1024 + 1))).code).toBe('too_large');
  });

  test.each([
    ['empty text', '', 'empty'],
    ['whitespace', ' \n\t\r\n', 'empty'],
    ['not XML', 'LU Name: 600144F0C6E7D3B400004F9A2C4E0001\n', 'unrecognized'],
    ['XML that is no service bundle', '<?xml version="1.0"?><html><body/></html>', 'unrecognized'],
    ['binary', '\u0000\u0001<service_bundle>', 'unrecognized'],
  ])('refuses %s', (_name, input, code) => {
    expect(refusal(() => parseIscsitgtSmf(input)).code).toBe(code);
    expect(refusal(() => parseStmfSmf(input)).code).toBe(code);
  });

  test('reports the line of broken structure', () => {
    const lines = plain.split('\n');
    const at = lines.findIndex((l) => l.includes('</property_group>'));
    lines[at] = '    </property_grup>';
    const e = refusal(() => parseIscsitgtSmf(lines.join('\n')));
    expect(e.code).toBe('malformed');
    expect(e.line).toBe(at + 1);
  });

  test('refuses an iscsitgt parse of a bundle with neither iscsitgt groups nor service', () => {
    const xml =
      "<?xml version='1.0'?><service_bundle type='manifest' name='x'><service name='system/other' type='service' version='0'><property_group name='general' type='framework'/></service></service_bundle>";
    expect(refusal(() => parseIscsitgtSmf(xml)).code).toBe('unrecognized');
    expect(refusal(() => parseStmfSmf(xml)).code).toBe('unrecognized');
  });

  test('refuses prototype-polluting names without polluting anything', () => {
    const xml =
      "<service_bundle><service name='system/iscsitgt'><__proto__ polluted='1'/><property_group name='target_t' type='configuration'><propval name='iscsi-name' value='iqn.a'/></property_group></service></service_bundle>";
    expect(refusal(() => parseIscsitgtSmf(xml)).code).toBe('malformed');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('a stmf export is not mistaken for iscsitgt content', () => {
    expect(refusal(() => parseIscsitgtSmf(stmfExport({ lus: [] }))).code).toBe('unrecognized');
  });
});
