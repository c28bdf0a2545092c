/**
 * dist/collector.cjs leaves fast-xml-parser's entity and number-guessing code out
 * (infra/build.mjs, infra/shims/) and writes formats/smf.ts's fixed parser options into its
 * code (infra/xml-options-folded.json): the bundle must still read SMF exports exactly as
 * the source parsers do, and stay within the collector's 150 KB budget.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { XMLParser } from 'fast-xml-parser';
import { parseArtifact } from '../../formats/index.js';
import { XML_PARSER_OPTIONS } from '../../formats/smf.js';
import { iscsitgtExport, stmfExport } from '../fixtures/text-fixtures.js';
import { ROOT } from '../helpers/spawn-server.js';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'vrc-bundle-'));
const bundle = join(ROOT, 'dist/collector.cjs');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const guid = '600144F0A1B2C3D4E5F6A7B8C9D0E1F2';
const iscsitgt = (crlf: boolean) =>
  iscsitgtExport({
    targets: [
      {
        name: 'lun0',
        iqn: 'iqn.1986-03.com.sun:02:3b1c8f2e-lun0',
        alias: 'vmfs & co',
        luns: [{ lun: 0, guid: guid.toLowerCase(), backingStore: '/dev/zvol/rdsk/tank/iscsi/lun0', blocks: 0x6400000 }],
        acl: ['esx1'],
      },
    ],
    initiators: [{ name: 'esx1', iqn: 'iqn.1998-01.com.vmware:esx1-4a2b' }],
    tpgts: [{ tag: '1', addresses: ['192.0.2.10'] }],
    passwords: true,
    crlf,
  });
/**
 * What the folded options decide (comments, processing instructions, CDATA, prefixed
 * attribute names, CRLF line ends): a manifest's template section as svccfg exports it
 * (smf_template(5): common_name holds loctext with an xml:lang attribute), a comment, a
 * processing instruction and a CDATA section in it.
 */
const withTemplate = (xml: string) => {
  const eol = xml.includes('\r\n') ? '\r\n' : '\n';
  const template = [
    '    <!-- template: added by hand -->',
    "    <?vmfs-test note='a processing instruction'?>",
    '    <template>',
    '      <common_name>',
    "        <loctext xml:lang='C'><![CDATA[iSCSI target <daemon>]]> service</loctext>",
    '      </common_name>',
    '    </template>',
  ].join(eol);
  return xml.replace(`    <stability value='Unstable'/>`, `${template}${eol}    <stability value='Unstable'/>`);
};
const exports: Array<[string, 'iscsitgt-smf' | 'stmf-smf', string]> = [
  ['iscsitgt.xml', 'iscsitgt-smf', iscsitgt(false)],
  ['iscsitgt-crlf-template.xml', 'iscsitgt-smf', withTemplate(iscsitgt(true))],
  [
    'stmf.xml',
    'stmf-smf',
    stmfExport({
      targetGroups: [{ name: 'tg-esx', members: ['iqn.2010-09.org.illumos:02:target0'] }],
      lus: [
        {
          guid,
          views: [
            { entry: 0, targetGroup: 'tg-esx', lun: 3 },
            { entry: 1, lun: 4 },
          ],
        },
      ],
      sbdChunks: 2,
    }),
  ],
];

it.each(exports)('%s: `inspect --json` from the bundle equals the source parser', async (name, kind, xml) => {
  const file = join(work, name);
  writeFileSync(file, xml);
  const { stdout } = await run(process.execPath, [bundle, 'inspect', '--json', '--kind', kind, file]);
  const [result] = JSON.parse(stdout) as Array<{ ok: boolean; details: unknown }>;
  expect(result.ok).toBe(true);
  const source = parseArtifact(kind, new TextEncoder().encode(xml));
  expect(result.details).toEqual(JSON.parse(JSON.stringify(source.details)));
  expect((source.details.targetLus ?? []).length).toBeGreaterThan(0);
});

it('formats/smf.ts gives the parser every option the bundle has written in as a constant', () => {
  const folded = JSON.parse(readFileSync(join(ROOT, 'infra/xml-options-folded.json'), 'utf8')) as Record<string, unknown>;
  // The options as fast-xml-parser itself completes them (its defaults under smf.ts's).
  const { options } = new XMLParser(XML_PARSER_OPTIONS) as unknown as { options: Record<string, unknown> };
  expect(Object.keys(folded).length).toBeGreaterThan(10);
  for (const [name, value] of Object.entries(folded)) expect({ [name]: options[name] }).toEqual({ [name]: value });
  // What infra/build.mjs's FOLDED_EDITS assume: no stop nodes, no unpaired tags, entities off, smf.ts's own decoder.
  expect(options.stopNodes).toEqual([]);
  expect(options.unpairedTags).toEqual([]);
  expect((options.processEntities as { enabled: boolean }).enabled).toBe(false);
  expect(options.entityDecoder).toBeTruthy();
});

it('an entity declaration is still refused by the bundle', async () => {
  const file = join(work, 'bomb.xml');
  writeFileSync(
    file,
    `<?xml version='1.0'?>\n<!DOCTYPE service_bundle [<!ENTITY a "aaaaaaaa">]>\n<service_bundle type='profile' name='x'>&a;</service_bundle>\n`,
  );
  const child = await run(process.execPath, [bundle, 'inspect', '--json', '--kind', 'iscsitgt-smf', file]).catch((e: { code: number; stdout: string }) => e);
  expect((child as { code?: number }).code).toBe(2);
  const [result] = JSON.parse((child as { stdout: string }).stdout) as Array<{ ok: boolean; error: { code: string } }>;
  expect(result.ok).toBe(false);
  expect(result.error.code).toBe('malformed');
});

it('the bundle is within the 150 KB budget', () => {
  const bytes = statSync(bundle).size;
  console.log(`dist/collector.cjs: ${bytes} bytes`);
  expect(bytes).toBeLessThanOrEqual(150_000);
});
