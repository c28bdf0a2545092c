/**
 * RESTORE.md's "Lost iSCSI target configuration" says what a redacted export brings back.
 * The collector and the catalog put the placeholder REDACTED where each secret was
 * (formats/redact.ts). iscsitgtd reads each value of its `passwords` group as base64
 * (illumos-gate usr/src/cmd/iscsi/iscsitgtd/mgmt_scf.c, mgmt_get_main_config: sasl_decode64),
 * and "REDACTED" is valid base64, so an import sets it as every secret. COMSTAR keeps each
 * provider's whole configuration as one packed nvlist in `provider_data_pg_*` opaque values
 * (illumos-gate usr/src/lib/libstmf/common/store.c): the iscsit one, withheld where it carries a
 * CHAP secret, holds all the targets.
 */
import { describe, expect, it } from 'vitest';
import { renderRestoreGuide } from '../../api/bundle/render.js';
import { composeSelection } from '../../api/bundle/select.js';
import { descriptor, header, rows, target } from './rows-fixture.js';

const VOL = '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c';

describe('RESTORE.md, lost iSCSI target configuration', () => {
  const guide = renderRestoreGuide(
    composeSelection(
      rows({ volumes: [VOL], volume: { label: 'prod', version: 'VMFS-3.31' }, extents: [header()], descriptors: [descriptor(VOL)], targets: [target()] }),
      { vmfsUuid: VOL },
      new Date('2026-10-01T05:00:00Z'),
      new Date('2026-10-02T00:00:00Z'),
    )!,
  );
  const section = guide.slice(guide.indexOf('### Lost iSCSI target configuration'), guide.indexOf('### Deleted vmdk'));

  it('says an iscsitgt import sets the REDACTED placeholder as every secret and gives the commands that set each again', () => {
    const line = section.split('\n').find((l) => l.startsWith('- Legacy iscsitgt'))!;
    expect(line).toContain('placeholder `REDACTED`');
    expect(line).toContain('`iscsitadm modify admin -C`');
    expect(line).toContain('`iscsitadm modify initiator -C <name>`');
  });

  it('does not send a COMSTAR admin to svccfg import a file whose iscsit provider data was withheld, and says what to do instead', () => {
    const line = section.split('\n').find((l) => l.startsWith('- COMSTAR'))!;
    expect(line).toMatch(/`svccfg import <stmf-smf file>`.*only when the file holds no `REDACTED` value/);
    expect(line).toContain('`provider_data_pg_iscsit`');
    expect(line).toContain('rebuild from the listings');
  });
});
