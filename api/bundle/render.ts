/**
 * Render: the generated files of a restore bundle (RESTORE.md, bundle.json, SHA256SUMS,
 * restore.sh, DR-PLAN.txt) as pure functions of a selection.
 */
import { createHash } from 'node:crypto';
import type { DrPlan } from '../dr/plan.js';
import { completeButCautions, incompleteReasons, PICK_ONE, renderDrPlanText, type PlanStep } from '../dr/plan.js';
import { candidateExtent, describePartition, extentAction, renderRestoreScript, sourceCommand, type RestoreExtent } from './restore-script.js';
import { visible } from '../../formats/printable.js';
import type { BundleSelection } from './select.js';
import type { DumpRef, LeftOutFile, OlderDump } from './types.js';

/** `sha256sum -c` lines: `<hex>  <path>`. */
export function renderSha256Sums(entries: Array<{ path: string; sha256: string }>): string {
  return entries.map((e) => `${e.sha256}  ${e.path}\n`).join('');
}

/** A Markdown table cell: one line, control characters shown escaped, `|` escaped. */
function mdCell(s: string | number | null | undefined): string {
  return visible(String(s ?? '—')).replace(/\|/g, '\\|');
}

/**
 * RESTORE.md: what each file is, where it came from, and the steps for each accident. Pure.
 * Collector-supplied text (labels, host names, device paths) appears with control
 * characters escaped, so it can neither break a line nor open a code block; commands
 * in code blocks quote their arguments as restore.sh does.
 */
export function renderRestoreGuide(sel: BundleSelection): string {
  const title = visible(sel.vmfsUuid ? `VMFS volume ${sel.vmfsUuid}${sel.label ? ` ("${sel.label}")` : ''}` : `LUN ${sel.deviceId}`);
  const out: string[] = [];
  out.push(`# Restore bundle: ${title}`);
  out.push('');
  out.push(`As of **${sel.at}** (the newest capture of every source at or before that time). Generated ${sel.generatedAt} by the VMFS Recovery Catalog.`);
  if (sel.version) out.push(`Filesystem: ${visible(sel.version)}.`);
  if (sel.deviceId && sel.volumes.length) out.push(`Volumes on this device: ${visible(sel.volumes.join(', '))}.`);
  out.push('');
  const older = (sel.olderDumps ?? []).filter((o) => o.warning || o.reason === 'left-out');
  if (older.length) out.push(...renderOlderDumps(older), '');
  if (sel.leftOut?.length) out.push(...renderLeftOut(sel.leftOut), '');
  out.push(
    'First, in this directory: `sha256sum -c SHA256SUMS` (Solaris/illumos: `digest -a sha256 <file>` per line; `restore.sh` does this itself). Do not use a bundle that fails it.',
  );
  out.push('');
  out.push('## Extents');
  out.push('');
  if (sel.plan.extents.length === 0) {
    out.push("No header dump of this volume's devices was captured by then: the partition table cannot be restored from this bundle.");
  } else {
    out.push('| # | device id | LUN | host | device path | partition table (from the dump) | saved dump |');
    out.push('|---|---|---|---|---|---|---|');
    for (const e of sel.plan.extents) {
      if (e.dispute) {
        const hosts = e.dispute.map((c) => c.host).join(', ');
        out.push(
          `| ${e.number} | ${mdCell(e.deviceId)} | ${mdCell(e.lun)} | ${mdCell(hosts)} | one per host (below) | **disputed**: the hosts' dumps disagree (below) | one per host (below) |`,
        );
        continue;
      }
      out.push(
        `| ${e.number} | ${mdCell(e.deviceId)} | ${mdCell(e.lun)} | ${mdCell(e.host)} | ${mdCell(e.devicePath)} | ${mdCell(describePartition(e.partition))} | ${mdCell(e.headerFile)} (${mdCell(e.headerCollectedAt)}) |`,
      );
    }
    for (const e of sel.plan.extents) if (e.dispute) out.push('', ...renderDispute(e));
    out.push('');
    out.push(
      "What `restore.sh` would run for each (dry run: `sh restore.sh`; write: `sh restore.sh --apply`, after it checks the device's LVM header at partition + 0x100000 carries the device id above):",
    );
    out.push('');
    out.push('```');
    for (const e of sel.plan.extents) {
      if (e.dispute) {
        out.push(`# extent ${e.number}: ${visible(e.deviceId ?? 'unknown device')}: disputed, nothing is run without --source ${e.number}=HOST (see above)`);
        continue;
      }
      const a = extentAction(e, e.devicePath);
      out.push(`# extent ${e.number}: ${visible(e.deviceId ?? 'unknown device')}`);
      out.push(a.kind === 'none' ? `# nothing automatic: ${visible(a.reason)}` : a.command);
    }
    out.push('```');
    out.push('');
    out.push(
      'Device paths differ between hosts and boots (`/dev/sdX` on ESX 3, `/vmfs/devices/disks/<id>` on ESXi, `/dev/zvol/rdsk/<dataset>` on the storage host): name the right one with `--device N=PATH`. If the device\'s LVM header is gone or carries another id, the script refuses; once you have checked the device yourself (for instance when the id recorded above is wrong), `--force-device PATH` lets it write that one device. A device that already holds the saved table is left alone ("nothing to write"), and a partition given where the disk is wanted (`DISK:1` on ESXi, `/dev/sdb1`) is refused, naming the disk to give. `--apply` exits 0 when it wrote every extent it could (or every table was already as saved), 2 when an extent was refused or failed, 3 when there was nothing to write.',
    );
  }
  out.push('');
  if (sel.targets.length) {
    out.push('## iSCSI LUs presenting these devices');
    out.push('');
    out.push('| storage host | stack | target IQN | alias | LUN | LU GUID / device id | backing store | size |');
    out.push('|---|---|---|---|---|---|---|---|');
    for (const t of sel.targets)
      out.push(
        `| ${mdCell(t.storageHost)} | ${mdCell(t.stack)} | ${mdCell(t.iqn)} | ${mdCell(t.alias)} | ${mdCell(t.lun)} | ${mdCell(t.deviceId)} | ${mdCell(t.backingStore)} | ${mdCell(t.sizeBytes)} |`,
      );
    out.push('');
  }
  if (sel.snapshots.length) {
    out.push('## ZFS snapshots of the backing stores');
    out.push('');
    out.push('Newest first, as the last snapshot list at or before the bundle time showed them:');
    out.push('');
    for (const s of sel.snapshots.slice(0, 50)) out.push(`- \`${visible(s.name)}\` (${s.createdAt}, on ${visible(s.host)})`);
    if (sel.snapshots.length > 50) out.push(`- … ${sel.snapshots.length - 50} more in the zfs-snapshots list`);
    out.push('');
  }
  if (sel.drPlan) out.push(...renderDrPlanSection(sel.drPlan), '');
  out.push('## Files');
  out.push('');
  out.push('| file | what it is | host | captured | bytes | SHA-256 |');
  out.push('|---|---|---|---|---|---|');
  for (const f of sel.files)
    out.push(`| ${mdCell(f.path)} | ${mdCell(f.describes)} | ${mdCell(f.host)} | ${mdCell(f.collectedAt)} | ${f.size} | \`${f.sha256}\` |`);
  out.push('| restore.sh | the restore script (POSIX sh) | | | | |');
  if (sel.drPlan) out.push('| DR-PLAN.txt | the DR plan as `sh restore.sh --plan` prints it | | | | |');
  out.push('| bundle.json | this selection, machine-readable | | | | |');
  out.push('');
  out.push('## Steps for each accident');
  out.push('');
  out.push('### Wiped partition table (the datastore "disappeared")');
  out.push('The LVM header and the data are still on the LUN; only sector 0 (MBR) or the GPT lost the VMFS entry.');
  out.push(
    "1. `sh restore.sh` — verifies the bundle and prints, per extent, the `dd` (MBR: the saved first sector) or `partedUtil setptbl` (GPT) line, and whether the device's LVM header carries the expected id.",
  );
  out.push(
    "2. `sh restore.sh --apply` (add `--device N=PATH` when the device path differs, and `--source N=HOST` for a disputed extent once you have judged which host's dump is right).",
  );
  out.push('3. ESXi: `esxcli storage core adapter rescan --all`, then `esxcli storage filesystem list`; ESX 3.x: `esxcfg-rescan vmhbaN`, `vmkfstools -V`.');
  out.push(
    'If the newest dump had already lost the table, this bundle also holds the newest dump that still had it and the script uses that one; otherwise ask for a bundle with an earlier `at`.',
  );
  out.push('');
  out.push('### LUN re-presented under another LUN ID, or as a snapshot LUN (resignature)');
  out.push('ESX compares the device id and LUN in the LVM header with what it sees; a mismatch makes the volume a *snapshot LUN* that is not mounted.');
  out.push(
    "- Best: present the LU again with its old LUN number (table above). COMSTAR: `stmfadm remove-view -l <GUID> -a` then `stmfadm add-view -n <LUN> <GUID>`; iscsitgt: the LUN is in the name of the LU's SMF group, so with the service disabled import a copy of the saved export whose `param_<target>_<LUN>` group carries the old LUN, then `svccfg -s iscsitgt delpropvalue target_<target>/lun-list <other LUN>` and `svccfg -s iscsitgt addpropvalue target_<target>/lun-list <LUN>` (`sh restore.sh --plan` prints these with the saved names); re-creating the LU with `iscsitadm create target -u <LUN>` gives it a new GUID, itself a snapshot LUN to ESX.",
  );
  out.push(
    '- Or mount keeping the signature (same VMFS UUID, VMs stay registered): ESXi `esxcli storage vmfs snapshot list`, `esxcli storage vmfs snapshot mount -u <VMFS UUID>`; ESX 3.x: set `LVM.DisallowSnapshotLun = 0`, rescan. Never while the original is also mounted.',
  );
  out.push(
    '- Or resignature (new VMFS UUID; every VM must be re-registered): `esxcli storage vmfs snapshot resignature -u <VMFS UUID>`, ESX 3.x `LVM.EnableResignature = 1`.',
  );
  out.push('');
  out.push('### DR target whose LU GUID (NAA) differs from the one in the VMFS header');
  out.push(
    'A replica or clone presented under a new GUID is a snapshot LUN to ESX. Either give the LU the original GUID (COMSTAR: `stmfadm create-lu -p guid=<original 32 hex digits> <zvol>`; iscsitgt: the `guid` in the `param_<target>_<lun>` group of the saved SMF export) or mount keeping the signature as above. `restore.sh` checks the header, not the live NAA, so it accepts a replica whose header still carries the original id.',
  );
  out.push('');
  out.push('### Damaged VMFS header or `.vh.sf`');
  out.push(
    'The saved `.vh.sf` copy holds the FS descriptor at +0x200000 (VMFS UUID, label, block size); the header dumps hold the LVM header and volume table at partition + 0x100000. Compare them with the damaged device before writing anything (`dd ... | xxd`); copying VMs off read-only with vmfs-tools (`vmfs-fuse`) using these files is safer than writing metadata back. Writing a header region back is a last resort, on a clone of the LUN (ZFS: `zfs clone <snapshot> <pool>/clones/<name>`).',
  );
  out.push('');
  out.push('### Lost iSCSI target configuration');
  out.push(
    '- Legacy iscsitgt: `svcadm disable iscsitgt`, `svccfg import <iscsitgt-smf file>`, `svcadm enable iscsitgt`. Secrets are never uploaded: the export holds the placeholder `REDACTED` where each CHAP or RADIUS secret was (the `passwords` group), and the import sets it, so set every secret again, not only when something changed: `iscsitadm modify admin -C` (and `-R` for RADIUS), `iscsitadm modify initiator -C <name>` for each initiator.',
  );
  out.push(
    '- COMSTAR: `svcadm disable stmf`, `svccfg import <stmf-smf file>`, `svcadm enable stmf` — only when the file holds no `REDACTED` value: where CHAP was configured, the iscsit provider data (`provider_data_pg_iscsit`, every target, portal group and CHAP setting in one packed block) was withheld at capture and reads `REDACTED`, which is not opaque data svccfg can import, and the targets are not in the file. Then, or always: rebuild from the listings: `stmfadm import-lu <data file>` when the zvol still has its LU metadata, else `stmfadm create-lu -p guid=<GUID> -p blk=<Block Size> -p wcd=true (when Writeback Cache is Disabled) -p alias=<Alias> <data file>`, `itadm create-tpg <TPG> <portal>`, `itadm create-target -n <IQN> -t <TPG>` (every target, for a view with target group All), `stmfadm add-view -n <LUN> <GUID>`; `restore.sh --plan` prints these with the saved values.',
  );
  out.push('- Keep every GUID and LUN exactly as above, or ESX sees snapshot LUNs.');
  out.push('');
  out.push('### Deleted vmdk');
  out.push(
    "If a vmfs-undelete archive is listed above, restore with VMware's vmfs-undelete utility on the host it came from; otherwise clone a ZFS snapshot from before the deletion and copy the vmdk off it.",
  );
  out.push('');
  return out.join('\n');
}

/**
 * RESTORE.md's account of a disputed extent: each host's newest intact dump of the device
 * (its LUN, when collected, its partition entry, the file) and the command restoring it would run,
 * with the restore.sh line that picks it — what the operator judges by (which host's
 * inventory agrees, which dump is newest) before choosing.
 */
function renderDispute(e: RestoreExtent): string[] {
  const id = visible(e.deviceId ?? 'unknown device');
  const out = [`### Extent ${e.number} (${id}) is disputed`, ''];
  out.push(
    `The newest header dumps of ${id} from ${e.dispute!.length} hosts disagree on its partition table entry. Any host that sees the LUN can send a dump of it, so the catalog cannot tell which is right: \`restore.sh --apply\` writes nothing to this extent until you pick the host whose dump you trust with \`--source ${e.number}=HOST\`. Check against what the hosts' inventories and your own records say about the datastore; newest is not proof. The LVM header check still runs on the picked host's table.`,
  );
  out.push('');
  // Each host's LUN as its dump's LVM header records it, as bundle.json and the DR plan give
  // it: hosts that disagree on the table often disagree on the LUN too.
  out.push('| host | LUN | dump collected | partition table (from the dump) | saved dump | device path |');
  out.push('|---|---|---|---|---|---|');
  for (const c of e.dispute!) {
    out.push(
      `| ${mdCell(c.host)} | ${mdCell(c.lun)} | ${mdCell(c.headerCollectedAt)} | ${mdCell(describePartition(c.partition))} | ${mdCell(c.headerFile)} | ${mdCell(c.devicePath)} |`,
    );
  }
  out.push('');
  // Every line a comment: pasted as a block, one candidate's command after another's would leave the last one's table.
  out.push('```');
  out.push("# Pick ONE host; run its restore.sh line (or, by hand, its command) alone, without the leading '#':");
  for (const c of e.dispute!) {
    const a = extentAction(candidateExtent(e, c), c.devicePath);
    out.push(`# from ${visible(c.host)}: ${sourceCommand(e.number, c.host)}`);
    out.push(a.kind === 'none' ? `# nothing automatic: ${visible(a.reason)}` : `#   ${a.command}`);
  }
  out.push('```');
  return out;
}

/** RESTORE.md's "DR plan" section: the NAA checks, missing links, and each step's commands in a code block. */
function renderDrPlanSection(plan: DrPlan): string[] {
  const out: string[] = ['## DR plan', ''];
  out.push(
    'The storage commands, in order, that bring these LUNs back with the NAA the VMFS header expects (`sh restore.sh --plan` prints the same).' +
      (plan.at ? ` Planned as of ${visible(plan.at)}: the LUs are backed by clones of the newest snapshot at or before that time.` : ''),
  );
  out.push('');
  if (!plan.complete)
    out.push(`**The plan is NOT complete**: ${visible(incompleteReasons(plan).join('; '))}. Read the notes below before running any step.`, '');
  else if (completeButCautions(plan).length) out.push(`**The plan is complete, but** ${visible(completeButCautions(plan).join('; '))}.`, '');
  for (const c of plan.naaChecks) {
    out.push(`- **NAA check (${c.verdict})**: ${visible(c.message)}`);
    if (c.dispute) out.push('', '  ```', `  ${PICK_ONE}`, ...c.dispute.candidates.map((d) => `  #   ${d.command}`), '  ```', '');
  }
  for (const m of plan.missing) out.push(`- **Missing ${m.link}**: ${visible(m.message)} — ${visible(m.collector)}`);
  const late = plan.storageFactsFrom ?? [];
  for (const f of late) out.push(`- **Storage facts from after the requested time**: ${visible(f.message)}`);
  if (plan.naaChecks.length || plan.missing.length || late.length) out.push('');
  const from = (s: PlanStep) => s.from.map((f) => visible(f.bundlePath ?? `${f.kind} ${f.fileName} (${f.host}, not in this bundle)`)).join(', ');
  for (const s of plan.steps) {
    out.push(`${s.n}. **${visible(s.title)}** (${s.stage}; from ${from(s)})${s.note ? ` — ${visible(s.note)}` : ''}`);
    if (s.commands.length) {
      out.push('');
      out.push('   ```');
      for (const c of s.commands) out.push(`   ${c}`);
      out.push('   ```');
    }
  }
  return out;
}

/** What the bundle left out because the catalog's copy is damaged, and what it carries instead. */
function renderLeftOut(leftOut: LeftOutFile[]): string[] {
  const out = ['## Left out: damaged in the catalog', ''];
  out.push(
    'These files have a stored chunk that no longer matches its SHA-256 (or is gone), so the bundle does not carry them. The catalog set the chunk aside and raised chunk-corrupt; the next capture of the host stores it again.',
  );
  out.push('');
  out.push('| file | host | captured | chunk | instead |');
  out.push('|---|---|---|---|---|');
  for (const l of leftOut)
    out.push(
      `| ${mdCell(l.fileName)} (${mdCell(l.kind)}) | ${mdCell(l.host)} | ${mdCell(l.collectedAt)} | \`${l.chunk}\` | ${l.replacedBy ? mdCell(describeDump(l.replacedBy)) : 'nothing: no other capture reads whole'} |`,
    );
  return out;
}

/** A carried dump as the admin finds it: bundle path, host, when, capture and artifact ids. */
function describeDump(d: DumpRef): string {
  return `${d.path} (${d.host}, captured ${d.collectedAt}, capture ${d.captureId}, artifact ${d.artifactId})`;
}

/**
 * RESTORE.md's account of extents restored from a dump older than the newest capture of
 * their device: first, in bold, each one whose LUN or partition entry differs (the sentence
 * bundle.json's `olderDumps[].warning` holds), then which dump each extent uses.
 */
function renderOlderDumps(older: OlderDump[]): string[] {
  const out = ['## Restored from an older header dump', ''];
  for (const o of older) if (o.warning) out.push(`**Check before running restore.sh:** ${o.warning}`, '');
  for (const o of older) {
    const why =
      o.reason === 'left-out'
        ? 'its dump is damaged in the catalog and left out'
        : o.reason === 'lost-table'
          ? 'its dump had lost the partition table'
          : 'it holds no header dump of the device';
    out.push(
      `- Extent ${o.extent} (${visible(o.deviceId ?? 'unknown device')}): restored from ${visible(describeDump(o.used))}; the newer capture of ${visible(o.newest.host)}, ${o.newest.collectedAt} (capture ${o.newest.captureId}), is not used because ${why}. ${o.differences.length ? 'They differ (above).' : 'Its LUN and partition entry agree with the dump.'}`,
    );
  }
  return out;
}

/** bundle.json: the selection without chunk lists. */
export function renderBundleJson(sel: BundleSelection): string {
  return (
    JSON.stringify(
      {
        format: 'vmfs-catalog-bundle/1',
        vmfsUuid: sel.vmfsUuid,
        deviceId: sel.deviceId,
        label: sel.label,
        version: sel.version,
        at: sel.at,
        generatedAt: sel.generatedAt,
        volumes: sel.volumes,
        files: sel.files.map(({ chunks: _chunks, ...f }) => f),
        extents: sel.plan.extents,
        targets: sel.targets,
        snapshots: sel.snapshots,
        drPlan: sel.drPlan ?? null,
        leftOut: sel.leftOut ?? [],
        olderDumps: sel.olderDumps ?? [],
      },
      null,
      2,
    ) + '\n'
  );
}

interface GeneratedFile {
  path: string;
  bytes: Uint8Array;
  mode: number;
}

/** The generated files of a bundle, SHA256SUMS last (it lists all the others and every artifact). */
export function generatedFiles(sel: BundleSelection): GeneratedFile[] {
  const enc = new TextEncoder();
  const files: GeneratedFile[] = [
    { path: 'RESTORE.md', bytes: enc.encode(renderRestoreGuide(sel)), mode: 0o644 },
    { path: 'restore.sh', bytes: enc.encode(renderRestoreScript(sel.plan)), mode: 0o755 },
    { path: 'bundle.json', bytes: enc.encode(renderBundleJson(sel)), mode: 0o644 },
  ];
  if (sel.drPlan) files.push({ path: 'DR-PLAN.txt', bytes: enc.encode(renderDrPlanText(sel.drPlan)), mode: 0o644 });
  const sums = [
    ...files.map((f) => ({ path: f.path, sha256: createHash('sha256').update(f.bytes).digest('hex') })),
    ...sel.files.map((f) => ({ path: f.path, sha256: f.sha256 })),
  ];
  files.push({ path: 'SHA256SUMS', bytes: enc.encode(renderSha256Sums(sums)), mode: 0o644 });
  return files;
}
