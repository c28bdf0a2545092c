/**
 * The catalog's data model (docs/architecture.md, "Data model"). Identifiers are stored
 * canonical: VMFS UUIDs 8-8-4-12 lower-case, device ids `naa.<lower hex>`.
 * Child rows (extents, targets, segments, snapshots) belong to the artifact they
 * were parsed from, so `reindex` can replace them artifact by artifact.
 */
import { sql } from 'drizzle-orm';
import { pgTable, text, integer, bigint, boolean, timestamp, jsonb, serial, index, uniqueIndex, primaryKey } from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const big = (name: string) => bigint(name, { mode: 'number' });

export const hosts = pgTable(
  'hosts',
  {
    name: text('name').primaryKey(),
    kind: text('kind').notNull(),
    systemUuid: text('system_uuid'),
    firstSeen: ts('first_seen').notNull(),
    lastSeen: ts('last_seen').notNull(),
    lastCaptureId: text('last_capture_id'),
    /**
     * The token whose capture's commit brought the host into the catalog (its `captures.opened_by`;
     * null for a host committed before migration 0026, or rebuilt from the store): a collector
     * token may bring at most COLLECTOR_TOKEN_HOSTS_MAX hosts (api/ingest/begin.ts), as a
     * wildcard token could otherwise invent any number.
     */
    introducedBy: text('introduced_by'),
  },
  // Host names are searched through search_names (below). A token's hosts, counted by a begin naming a new host.
  (t) => [index('hosts_introduced_by').on(t.introducedBy).where(sql`introduced_by IS NOT NULL`)],
);

export const tokens = pgTable(
  'tokens',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    role: text('role').notNull(), // admin | operator | collector
    host: text('host'), // collector tokens: the only host they may write for
    secretSha256: text('secret_sha256').notNull(),
    createdAt: ts('created_at').notNull(),
    lastUsedAt: ts('last_used_at'),
    revokedAt: ts('revoked_at'),
  },
  (t) => [uniqueIndex('tokens_secret').on(t.secretSha256)],
);

export const captures = pgTable(
  'captures',
  {
    id: text('id').primaryKey(),
    host: text('host').notNull(),
    state: text('state').notNull(), // open | committed
    collectedAt: ts('collected_at').notNull(),
    receivedAt: ts('received_at').notNull(),
    committedAt: ts('committed_at'),
    collectorVersion: text('collector_version').notNull(),
    /**
     * The begin said `collector.mode: "import"`: the collection time is the modification time of
     * files saved before the collector existed, so retention buckets it by that time (api/retention/policy.ts).
     */
    imported: boolean('imported').notNull().default(false),
    manifestKey: text('manifest_key'),
    /** The begin request as accepted, so commit and retries see exactly what was announced. */
    request: jsonb('request').notNull(),
    /** The latest begin: its upload URLs are valid from here on; staged uploads are swept a while after. */
    lastBegunAt: ts('last_begun_at'),
    /**
     * The chunk lists (format 3) a commit of this capture is about to name, written before its
     * transaction so that a commit that fails after its manifest went out leaves them named:
     * garbage collection and `check` count an open capture's lists as in use, as its request's chunks.
     */
    chunkLists: jsonb('chunk_lists'),
    /**
     * The token whose begin opened the capture (null for a capture begun before migration 0025):
     * a collector token may hold at most MAX_OPEN_CAPTURES_PER_TOKEN open captures over all the
     * hosts of its scope (api/ingest/begin.ts), as a wildcard token could otherwise invent hosts.
     */
    openedBy: text('opened_by'),
  },
  (t) => [
    index('captures_host_time').on(t.host, t.collectedAt),
    // A host's open captures in any letter case (its tokens cover every spelling), counted by every
    // new begin (api/ingest/begin.ts MAX_OPEN_CAPTURES); a row leaves it when its capture commits.
    index('captures_open_host').on(sql`lower(${t.host})`).where(sql`state = 'open'`),
    // A token's open captures, counted by every new begin of a collector token (MAX_OPEN_CAPTURES_PER_TOKEN).
    index('captures_open_token').on(t.openedBy).where(sql`state = 'open'`),
  ],
);

export const blobs = pgTable('blobs', {
  sha256: text('sha256').primaryKey(),
  size: integer('size').notNull(),
  encoding: text('encoding').notNull(), // identity | gzip
  storedSize: integer('stored_size').notNull(),
  firstStored: ts('first_stored').notNull(),
  lastVerified: ts('last_verified').notNull(),
});

/**
 * Chunks a capture sent through the catalog (`POST /v1/captures/{id}/chunks`): verified in
 * memory and published under their chunk key by that request. Written after the object is
 * stored, so a row always names an object that rests there as recorded; the commit takes
 * these chunks as delivered without reading them back, and deletes the rows. Rows of
 * captures that are gone or abandoned go with the staging sweep.
 */
export const captureChunks = pgTable(
  'capture_chunks',
  {
    captureId: text('capture_id').notNull(),
    sha256: text('sha256').notNull(),
    size: integer('size').notNull(),
    encoding: text('encoding').notNull(), // identity | gzip
    storedSize: integer('stored_size').notNull(),
    receivedAt: ts('received_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.captureId, t.sha256] })],
);

/**
 * Dedup is scoped per host: a chunk counts as present for a host only when one of that
 * host's committed captures holds it (the host uploaded it, or had it verified from its own
 * upload). Another host's chunks are uploaded again (to staging) and verified, so `begin`
 * tells no host which chunks other hosts hold, and no host can reference bytes it never had.
 */
export const hostChunks = pgTable(
  'host_chunks',
  {
    host: text('host').notNull(),
    sha256: text('sha256').notNull(),
  },
  (t) => [primaryKey({ columns: [t.host, t.sha256] })],
);

export const artifacts = pgTable(
  'artifacts',
  {
    id: text('id').primaryKey(),
    captureId: text('capture_id').notNull(),
    host: text('host').notNull(),
    collectedAt: ts('collected_at').notNull(),
    kind: text('kind').notNull(),
    fileName: text('file_name').notNull(),
    sourcePath: text('source_path').notNull(),
    device: text('device'),
    size: big('size').notNull(),
    sha256: text('sha256').notNull(),
    chunks: jsonb('chunks').notNull(), // [{sha256,size,encoding,storedSize}]
    /**
     * The SHA-256 of the artifact's chunk list stored as a chunk (format 3 manifests,
     * api/pipeline/chunk-lists.ts): garbage collection, `check` and Object Lock count it as a
     * chunk the artifact references. Null for an artifact rebuilt from format 1 or 2.
     */
    chunkList: text('chunk_list'),
    parseStatus: text('parse_status').notNull(), // ok | error | opaque
    parseError: jsonb('parse_error'),
    parsed: jsonb('parsed'),
    pinned: boolean('pinned').notNull().default(false),
    /** Set when the catalog redacted secrets before storing: `{ originalSha256, originalSize, fields }`. */
    redaction: jsonb('redaction'),
    /**
     * The parser revision (formats/parse.ts PARSER_VERSION) that produced `parsed`: a commit
     * reuses a parse of the same bytes only from its own revision (api/pipeline/parse.ts).
     */
    parserVersion: integer('parser_version'),
  },
  (t) => [index('artifacts_capture').on(t.captureId), index('artifacts_sha256').on(t.sha256), index('artifacts_host_time').on(t.host, t.collectedAt)],
);

export const volumes = pgTable(
  'volumes',
  {
    vmfsUuid: text('vmfs_uuid').primaryKey(),
    label: text('label'),
    version: text('version'),
    blockSize: big('block_size'),
    createdAt: ts('created_at'),
    creatorMac: text('creator_mac'),
    firstSeen: ts('first_seen').notNull(),
    lastSeen: ts('last_seen').notNull(),
  },
  // Labels are searched through volume_labels and search_names (below).
);

/**
 * Every label a volume was seen with (a header dump's, an ESX inventory's), first and last
 * seen: a datastore renamed since, or a resignatured copy's `snap-…` prefix, is still found by
 * the name the operator remembers. Labels are searched through search_names, kept by a trigger
 * on this table (db/migrations/0023).
 */
export const volumeLabels = pgTable(
  'volume_labels',
  {
    vmfsUuid: text('vmfs_uuid').notNull(),
    label: text('label').notNull(),
    firstSeen: ts('first_seen').notNull(),
    lastSeen: ts('last_seen').notNull(),
  },
  (t) => [primaryKey({ columns: [t.vmfsUuid, t.label] })],
);

/** segment UUID → VMFS UUID, learned from FS descriptors (`.vh.sf`, long header dumps). */
export const segments = pgTable(
  'segments',
  {
    artifactId: text('artifact_id').notNull(),
    segmentUuid: text('segment_uuid').notNull(),
    vmfsUuid: text('vmfs_uuid').notNull(),
    seenAt: ts('seen_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.artifactId, t.segmentUuid] }), index('segments_segment').on(t.segmentUuid), index('segments_vmfs').on(t.vmfsUuid)],
);

/** One extent as seen in one artifact: a header dump's LVM header, or an ESX inventory line. */
export const extents = pgTable(
  'extents',
  {
    id: serial('id').primaryKey(),
    artifactId: text('artifact_id').notNull(),
    captureId: text('capture_id').notNull(),
    host: text('host').notNull(),
    source: text('source').notNull(), // header | inventory
    vmfsUuid: text('vmfs_uuid'),
    segmentUuid: text('segment_uuid'),
    extentUuid: text('extent_uuid'),
    deviceId: text('device_id'),
    vml: text('vml'),
    lun: integer('lun'),
    vendor: text('vendor'),
    model: text('model'),
    revision: text('revision'),
    sizeBytes: big('size_bytes'),
    partitionScheme: text('partition_scheme'),
    partitionIndex: integer('partition_index'),
    partitionStart: big('partition_start'),
    partitionEnd: big('partition_end'),
    partitionType: text('partition_type'),
    partitionMissing: boolean('partition_missing').notNull().default(false),
    devicePath: text('device_path'),
    seenAt: ts('seen_at').notNull(),
  },
  (t) => [
    index('extents_artifact').on(t.artifactId),
    index('extents_vmfs').on(t.vmfsUuid),
    index('extents_segment').on(t.segmentUuid),
    index('extents_device').on(t.deviceId),
    index('extents_vml').on(t.vml),
    // Search by extent UUID (the LVM header's device UUID) and drift's previous sighting of an extent.
    index('extents_extent').on(t.extentUuid),
    // Health checks: the newest extent sightings of each host.
    index('extents_host_seen').on(t.host, t.seenAt),
  ],
);

/** device id ↔ its latest known LUN, vml, vendor/model. */
export const luns = pgTable(
  'luns',
  {
    deviceId: text('device_id').primaryKey(),
    lun: integer('lun'),
    vml: text('vml'),
    vendor: text('vendor'),
    model: text('model'),
    sizeBytes: big('size_bytes'),
    lastSeen: ts('last_seen').notNull(),
  },
  (t) => [index('luns_vml').on(t.vml)],
);

/** iSCSI target LUs as a storage host presents them (iscsitgt or COMSTAR). */
export const targets = pgTable(
  'targets',
  {
    id: serial('id').primaryKey(),
    artifactId: text('artifact_id').notNull(),
    captureId: text('capture_id').notNull(),
    storageHost: text('storage_host').notNull(),
    stack: text('stack').notNull(), // iscsitgt | comstar
    iqn: text('iqn'),
    alias: text('alias'),
    lun: integer('lun'),
    deviceId: text('device_id'),
    backingStore: text('backing_store'),
    sizeBytes: big('size_bytes'),
    tpgs: jsonb('tpgs').notNull(),
    acl: jsonb('acl').notNull(),
    seenAt: ts('seen_at').notNull(),
  },
  (t) => [
    index('targets_artifact').on(t.artifactId),
    index('targets_device').on(t.deviceId),
    // Exact lookups (fragments go through search_names first, then here by the names found).
    index('targets_iqn_lower').on(sql`lower(${t.iqn})`),
    index('targets_backing').on(t.backingStore),
    index('targets_alias').on(t.alias),
    // Search by initiator IQN: the target LUs whose ACL names it (`acl @> '["iqn…"]'`).
    index('targets_acl').using('gin', sql`${t.acl} jsonb_path_ops`),
    // Health checks: the newest target capture of each storage host.
    index('targets_host_seen').on(t.storageHost, t.seenAt),
    // Search by a fragment: the newest target rows first (api/read/search.ts fragmentSql).
    index('targets_seen').on(t.seenAt, t.id),
  ],
);

export const zfsSnapshots = pgTable(
  'zfs_snapshots',
  {
    id: serial('id').primaryKey(),
    artifactId: text('artifact_id').notNull(),
    captureId: text('capture_id').notNull(),
    host: text('host').notNull(),
    dataset: text('dataset').notNull(),
    snapshot: text('snapshot').notNull(),
    name: text('name').notNull(),
    createdAt: ts('created_at').notNull(),
    usedBytes: big('used_bytes').notNull(),
  },
  (t) => [
    index('zfs_snapshots_artifact').on(t.artifactId),
    index('zfs_snapshots_dataset').on(t.dataset),
    // Health checks: the newest snapshot listing of each host.
    index('zfs_snapshots_host').on(t.host, t.captureId),
  ],
);

/**
 * Search's lookup table: a searchable id → what it names, one row per distinct pair, so a
 * search by device id or LVM UUID reads a few index entries instead of every sighting.
 * `kind` says how `key` relates to `ref`:
 * - `deviceVolume`: device id → a VMFS UUID on it (an extent names it, or the extent's
 *   segment does, through `segmentVolume`);
 * - `segmentVolume`: LVM segment UUID → its VMFS UUID (a segments row, or an extent naming both);
 * - `segmentDevice`: segment UUID → a device holding it;
 * - `extentDevice`: extent (LVM device) UUID → its device.
 * Kept by triggers on extents and segments (the migration creates them and the view
 * `search_key_sources` they follow), so ingest, reindex, rebuild and retention need not know.
 */
export const searchKeys = pgTable(
  'search_keys',
  {
    key: text('key').notNull(),
    kind: text('kind').notNull(),
    ref: text('ref').notNull(),
  },
  (t) => [index('search_keys_key').on(t.key, t.kind, t.ref)],
);

/**
 * The names a text fragment is matched against: volume labels (`ref` the VMFS UUID), host
 * names (`ref` the host) and the IQNs, aliases and backing stores of target LUs (`ref` empty:
 * the target rows are found by the name). One distinct row per name, kept by triggers on
 * volumes, hosts and targets (view `search_name_sources`). Its trigram index
 * (`search_names_name_trgm`, gin_trgm_ops, fastupdate off: the table changes only when a new
 * name appears, and a pending list would be scanned by every search) is created by the
 * migration after the backfill, as building it in one pass is much faster than row by row.
 */
export const searchNames = pgTable(
  'search_names',
  {
    kind: text('kind').notNull(), // label | host | iqn | alias | backingStore
    name: text('name').notNull(),
    ref: text('ref').notNull(),
  },
  (t) => [index('search_names_ref').on(t.kind, t.ref, t.name)],
);

/**
 * The word starts of the labels and host names in search_names (`search_name_words`, one row
 * per word start and name), with the name's count of distinct trigrams, what pg_trgm's
 * similarity divides by. Btree indexes read lazily, so a search stops after as many names as
 * it ranks: in byte order of the word start (`search_name_starts_word`: is the fragment in at
 * most that many names?) and, where it is in more, fewest trigrams first
 * (`search_name_starts_trigrams`: the names most similar to a short fragment are the short
 * ones). Kept by triggers on search_names (db/migrations/0018).
 */
export const searchNameStarts = pgTable(
  'search_name_starts',
  {
    kind: text('kind').notNull(), // label | host
    word: text('word').notNull(),
    trigrams: integer('trigrams').notNull(),
    name: text('name').notNull(),
    ref: text('ref').notNull(),
  },
  (t) => [
    // Both created with INCLUDE (kind, name, ref) by the migration, for index-only reads.
    index('search_name_starts_word').on(t.word.op('text_pattern_ops')),
    index('search_name_starts_trigrams').on(t.trigrams, t.word.op('text_pattern_ops')),
    index('search_name_starts_ref').on(t.ref, t.kind),
  ],
);

export const events = pgTable(
  'events',
  {
    id: serial('id').primaryKey(),
    type: text('type').notNull(), // lun-id-changed, device-id-changed, partition-missing, …
    severity: text('severity').notNull(), // info | warning | critical
    vmfsUuid: text('vmfs_uuid'),
    deviceId: text('device_id'),
    host: text('host'),
    captureId: text('capture_id'),
    artifactId: text('artifact_id'),
    message: text('message').notNull(),
    details: jsonb('details'),
    createdAt: ts('created_at').notNull(),
    acknowledged: boolean('acknowledged').notNull().default(false),
    /** When and by which token (id) an operator acknowledged the event, and the note they left. */
    acknowledgedAt: ts('acknowledged_at'),
    acknowledgedBy: text('acknowledged_by'),
    ackNote: text('ack_note'),
    /**
     * Health events (target-guid-mismatch, backing-store-missing, host-stale) name the condition
     * they report, e.g. `host-stale:esx01`: at most one unresolved event per condition, resolved
     * (resolved_at) when a later capture or scan finds the condition gone.
     */
    condition: text('condition'),
    resolvedAt: ts('resolved_at'),
  },
  (t) => [
    index('events_vmfs').on(t.vmfsUuid),
    index('events_device').on(t.deviceId),
    index('events_artifact').on(t.artifactId),
    uniqueIndex('events_open_condition').on(t.condition).where(sql`${t.resolvedAt} IS NULL`),
    // A commit that stores chunks asks which of them have an open chunk-corrupt event (api/events/chunk-corrupt.ts).
    index('events_open_chunk_corrupt').on(sql`(${t.details}->>'sha256')`).where(sql`${t.type} = 'chunk-corrupt' AND ${t.resolvedAt} IS NULL`),
  ],
);

/**
 * Webhook deliveries waiting or done (WEBHOOK_URL): written in the transaction that raised
 * the event, sent after it commits and by the scheduled run, retried with backoff.
 */
export const webhookOutbox = pgTable(
  'webhook_outbox',
  {
    id: serial('id').primaryKey(),
    eventId: integer('event_id'),
    /** The JSON body as it is sent, byte for byte (the signature covers these bytes). */
    body: text('body').notNull(),
    createdAt: ts('created_at').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull(),
    deliveredAt: ts('delivered_at'),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
  },
  (t) => [index('webhook_outbox_due').on(t.nextAttemptAt).where(sql`${t.deliveredAt} IS NULL`)],
);

export const audit = pgTable(
  'audit',
  {
    id: serial('id').primaryKey(),
    at: ts('at').notNull(),
    tokenId: text('token_id'),
    role: text('role'),
    action: text('action').notNull(), // download, bundle, token-create, token-revoke, rebuild, reindex
    subject: text('subject').notNull(),
    remoteAddr: text('remote_addr'),
    requestId: text('request_id'),
    details: jsonb('details'),
  },
  (t) => [index('audit_at').on(t.at)],
);

/**
 * Web console sign-ins. The cookie carries a random session id; only its SHA-256 is kept,
 * with the token (id) it was opened with, so a revoked token ends its sessions too.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    idSha256: text('id_sha256').primaryKey(),
    tokenId: text('token_id').notNull(),
    role: text('role').notNull(),
    createdAt: ts('created_at').notNull(),
    lastSeenAt: ts('last_seen_at').notNull(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [index('console_sessions_expires').on(t.expiresAt)],
);

/** Captures retention must keep whatever its policy says, with the operator's reason (api/retention/pins.ts). */
export const capturePins = pgTable('capture_pins', {
  captureId: text('capture_id').primaryKey(),
  note: text('note').notNull(),
  pinnedAt: ts('pinned_at').notNull(),
  pinnedBy: text('pinned_by'), // token id, or 'cli'
});

/** One retention run: who ran it, what it dropped, what it freed (api/retention/run.ts). */
export const retentionRuns = pgTable(
  'retention_runs',
  {
    id: serial('id').primaryKey(),
    startedAt: ts('started_at').notNull(),
    finishedAt: ts('finished_at'),
    ranBy: text('ran_by').notNull(), // token id, 'cli' or 'maintenance'
    dryRun: boolean('dry_run').notNull(),
    policy: text('policy').notNull(),
    kept: integer('kept').notNull().default(0),
    dropped: jsonb('dropped').notNull(), // capture ids
    chunksDeleted: integer('chunks_deleted').notNull().default(0),
    bytesFreed: big('bytes_freed').notNull().default(0),
    /** Objects left in place because the bucket's Object Lock holds them: [{ key, until }]. */
    locked: jsonb('locked'),
  },
  (t) => [index('retention_runs_started').on(t.startedAt)],
);

/** Where the read-data scrub stopped (the last chunk key re-hashed), so the next slice goes on from there. */
export const scrubState = pgTable('scrub_state', {
  name: text('name').primaryKey(),
  cursor: text('cursor'),
  /** When the current pass over the store started (a pass ends when the cursor wraps). */
  passStartedAt: ts('pass_started_at'),
  updatedAt: ts('updated_at').notNull(),
});

/**
 * Commits handed to a worker because verifying their staged chunks would outlast a request
 * (api/ingest/commit-jobs.ts). One row per capture while its commit is queued or running, or
 * failed and not yet reported; the capture's own state stays the truth of "committed".
 * A runner holds a job while `lease_until` is ahead and pushes it on as it works; a job whose
 * lease ran out (its runner was killed) is taken again by the next runner.
 */
export const commitJobs = pgTable(
  'commit_jobs',
  {
    captureId: text('capture_id').primaryKey(),
    host: text('host').notNull(),
    state: text('state').notNull(), // queued | running | failed
    /** Bytes of staged chunks the commit must read and hash, as counted when it was queued. */
    bytes: big('bytes').notNull(),
    attempts: integer('attempts').notNull().default(0),
    queuedAt: ts('queued_at').notNull(),
    startedAt: ts('started_at'),
    leaseUntil: ts('lease_until'),
    /** Which process runs it (host:pid or the Lambda request id), for the logs. */
    runner: text('runner'),
    finishedAt: ts('finished_at'),
    /** A failed job: the error the commit answered ({ status, code, message, details }). */
    error: jsonb('error'),
  },
  (t) => [index('commit_jobs_lease').on(t.state, t.leaseUntil)],
);
