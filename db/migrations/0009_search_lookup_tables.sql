CREATE TABLE "search_keys" (
	"key" text NOT NULL,
	"kind" text NOT NULL,
	"ref" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "search_names" (
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"ref" text NOT NULL
);
--> statement-breakpoint
DROP INDEX "hosts_name_trgm";--> statement-breakpoint
DROP INDEX "targets_iqn_trgm";--> statement-breakpoint
DROP INDEX "targets_backing_trgm";--> statement-breakpoint
DROP INDEX "targets_alias_trgm";--> statement-breakpoint
DROP INDEX "volumes_label_trgm";--> statement-breakpoint
CREATE INDEX "search_keys_key" ON "search_keys" USING btree ("key","kind","ref");--> statement-breakpoint
CREATE INDEX "search_names_ref" ON "search_names" USING btree ("kind","ref","name");--> statement-breakpoint
CREATE INDEX "targets_alias" ON "targets" USING btree ("alias");
--> statement-breakpoint
-- The searchable spellings and what each one names, derived from the child rows of committed
-- artifacts (docs/architecture.md, "Search"). search_keys holds exactly the distinct rows of
-- this view; the triggers below keep it so as extents and segments are inserted and deleted.
CREATE VIEW "search_key_sources" AS
  SELECT e.device_id AS key, 'deviceVolume'::text AS kind, e.vmfs_uuid AS ref FROM extents e
   WHERE e.device_id IS NOT NULL AND e.vmfs_uuid IS NOT NULL
  UNION ALL
  SELECT e.device_id, 'deviceVolume', s.vmfs_uuid FROM extents e JOIN segments s ON s.segment_uuid = e.segment_uuid
   WHERE e.device_id IS NOT NULL
  UNION ALL
  SELECT e.device_id, 'deviceVolume', x.vmfs_uuid FROM extents e JOIN extents x ON x.segment_uuid = e.segment_uuid
   WHERE e.device_id IS NOT NULL AND x.vmfs_uuid IS NOT NULL
  UNION ALL
  SELECT s.segment_uuid, 'segmentVolume', s.vmfs_uuid FROM segments s
  UNION ALL
  SELECT e.segment_uuid, 'segmentVolume', e.vmfs_uuid FROM extents e
   WHERE e.segment_uuid IS NOT NULL AND e.vmfs_uuid IS NOT NULL
  UNION ALL
  SELECT e.segment_uuid, 'segmentDevice', e.device_id FROM extents e
   WHERE e.segment_uuid IS NOT NULL AND e.device_id IS NOT NULL
  UNION ALL
  SELECT e.extent_uuid, 'extentDevice', e.device_id FROM extents e
   WHERE e.extent_uuid IS NOT NULL AND e.device_id IS NOT NULL;
--> statement-breakpoint
-- A device holds the volumes of its segments: pairs the devices and volumes of these segments.
CREATE FUNCTION "search_keys_pair_segments"(segs text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_keys (key, kind, ref)
  SELECT DISTINCT d.ref, 'deviceVolume', v.ref
    FROM search_keys d JOIN search_keys v ON v.key = d.key AND v.kind = 'segmentVolume'
    LEFT JOIN LATERAL (SELECT true AS found FROM search_keys k WHERE k.key = d.ref AND k.kind = 'deviceVolume' AND k.ref = v.ref LIMIT 1) k ON true
   WHERE d.key = ANY(segs) AND d.kind = 'segmentDevice' AND k.found IS NULL;
END
$$;
--> statement-breakpoint
-- Recomputes every row keyed by these devices, segments and extent UUIDs from the child rows
-- left (after a delete: retention, reindex, rebuild of an artifact).
CREATE FUNCTION "search_keys_refresh"(devices text[], segs text[], extent_uuids text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  -- The devices of these segments hold their volumes: they are recomputed too.
  devices := devices || ARRAY(SELECT ref FROM search_keys WHERE key = ANY(segs) AND kind = 'segmentDevice');
  DELETE FROM search_keys WHERE kind = 'deviceVolume' AND key = ANY(devices);
  DELETE FROM search_keys WHERE kind IN ('segmentVolume', 'segmentDevice') AND key = ANY(segs);
  DELETE FROM search_keys WHERE kind = 'extentDevice' AND key = ANY(extent_uuids);
  INSERT INTO search_keys (key, kind, ref) SELECT DISTINCT key, kind, ref FROM search_key_sources WHERE kind = 'deviceVolume' AND key = ANY(devices);
  INSERT INTO search_keys (key, kind, ref) SELECT DISTINCT key, kind, ref FROM search_key_sources WHERE kind = 'segmentVolume' AND key = ANY(segs);
  INSERT INTO search_keys (key, kind, ref) SELECT DISTINCT key, kind, ref FROM search_key_sources WHERE kind = 'segmentDevice' AND key = ANY(segs);
  INSERT INTO search_keys (key, kind, ref) SELECT DISTINCT key, kind, ref FROM search_key_sources WHERE kind = 'extentDevice' AND key = ANY(extent_uuids);
END
$$;
--> statement-breakpoint
-- Adds what new child rows name that is not there yet. No unique index: two commits learning
-- the same new key at once each add it rather than wait on one another; readers take distinct
-- rows. A segment that gained a device or a volume pairs them.
CREATE FUNCTION "search_keys_extents_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  added bigint;
BEGIN
  INSERT INTO search_keys (key, kind, ref)
  SELECT DISTINCT n.key, n.kind, n.ref FROM (
    SELECT device_id AS key, 'deviceVolume'::text AS kind, vmfs_uuid AS ref FROM new_rows
    UNION ALL SELECT segment_uuid, 'segmentVolume', vmfs_uuid FROM new_rows
    UNION ALL SELECT segment_uuid, 'segmentDevice', device_id FROM new_rows
    UNION ALL SELECT extent_uuid, 'extentDevice', device_id FROM new_rows
  ) n
    LEFT JOIN LATERAL (SELECT true AS found FROM search_keys k WHERE k.key = n.key AND k.kind = n.kind AND k.ref = n.ref LIMIT 1) k ON true
   WHERE n.key IS NOT NULL AND n.ref IS NOT NULL AND k.found IS NULL;
  GET DIAGNOSTICS added = ROW_COUNT;
  IF added > 0 THEN
    PERFORM search_keys_pair_segments(ARRAY(SELECT DISTINCT segment_uuid FROM new_rows WHERE segment_uuid IS NOT NULL));
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "search_keys_segments_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  added bigint;
BEGIN
  INSERT INTO search_keys (key, kind, ref)
  SELECT DISTINCT n.segment_uuid, 'segmentVolume', n.vmfs_uuid FROM new_rows n
    LEFT JOIN LATERAL (SELECT true AS found FROM search_keys k WHERE k.key = n.segment_uuid AND k.kind = 'segmentVolume' AND k.ref = n.vmfs_uuid LIMIT 1) k ON true
   WHERE k.found IS NULL;
  GET DIAGNOSTICS added = ROW_COUNT;
  IF added > 0 THEN
    PERFORM search_keys_pair_segments(ARRAY(SELECT DISTINCT segment_uuid FROM new_rows));
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "search_keys_extents_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_keys_refresh(
    ARRAY(SELECT DISTINCT device_id FROM old_rows WHERE device_id IS NOT NULL),
    ARRAY(SELECT DISTINCT segment_uuid FROM old_rows WHERE segment_uuid IS NOT NULL),
    ARRAY(SELECT DISTINCT extent_uuid FROM old_rows WHERE extent_uuid IS NOT NULL));
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "search_keys_segments_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_keys_refresh(ARRAY[]::text[], ARRAY(SELECT DISTINCT segment_uuid FROM old_rows), ARRAY[]::text[]);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "search_keys_extents_insert" AFTER INSERT ON "extents" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_keys_extents_inserted();
--> statement-breakpoint
CREATE TRIGGER "search_keys_segments_insert" AFTER INSERT ON "segments" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_keys_segments_inserted();
--> statement-breakpoint
CREATE TRIGGER "search_keys_extents_delete" AFTER DELETE ON "extents" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_keys_extents_deleted();
--> statement-breakpoint
CREATE TRIGGER "search_keys_segments_delete" AFTER DELETE ON "segments" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_keys_segments_deleted();
--> statement-breakpoint
INSERT INTO "search_keys" ("key", "kind", "ref") SELECT DISTINCT "key", "kind", "ref" FROM "search_key_sources";
--> statement-breakpoint
-- The names a text fragment is matched against (docs/architecture.md, "Search"): volume labels
-- (ref: the volume), host names (ref: the host) and the IQNs, aliases and backing stores of
-- target LUs (ref: empty; the target rows are found by the name itself). search_names holds
-- exactly the distinct rows of this view; the triggers below keep it so.
CREATE VIEW "search_name_sources" AS
  SELECT 'label'::text AS kind, v.label AS name, v.vmfs_uuid AS ref FROM volumes v WHERE v.label IS NOT NULL
  UNION ALL SELECT 'host', h.name, h.name FROM hosts h
  UNION ALL SELECT 'iqn', t.iqn, '' FROM targets t WHERE t.iqn IS NOT NULL
  UNION ALL SELECT 'alias', t.alias, '' FROM targets t WHERE t.alias IS NOT NULL
  UNION ALL SELECT 'backingStore', t.backing_store, '' FROM targets t WHERE t.backing_store IS NOT NULL;
--> statement-breakpoint
CREATE FUNCTION "search_names_volumes_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_names (kind, name, ref) SELECT 'label', n.label, n.vmfs_uuid FROM new_rows n WHERE n.label IS NOT NULL;
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- A relabelled volume: its one label row is replaced.
CREATE FUNCTION "search_names_volume_relabelled"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM search_names WHERE kind = 'label' AND ref = NEW.vmfs_uuid;
  IF NEW.label IS NOT NULL THEN
    INSERT INTO search_names (kind, name, ref) VALUES ('label', NEW.label, NEW.vmfs_uuid);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "search_names_hosts_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_names (kind, name, ref) SELECT 'host', n.name, n.name FROM new_rows n;
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- Adds the target names not there yet (no unique index, as for search_keys).
CREATE FUNCTION "search_names_targets_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_names (kind, name, ref)
  SELECT DISTINCT n.kind, n.name, '' FROM (
    SELECT 'iqn'::text AS kind, iqn AS name FROM new_rows
    UNION ALL SELECT 'alias', alias FROM new_rows
    UNION ALL SELECT 'backingStore', backing_store FROM new_rows
  ) n
    LEFT JOIN LATERAL (SELECT true AS found FROM search_names s WHERE s.kind = n.kind AND s.ref = '' AND s.name = n.name LIMIT 1) s ON true
   WHERE n.name IS NOT NULL AND s.found IS NULL;
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- Drops the target names no target row carries any more.
CREATE FUNCTION "search_names_targets_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM search_names s USING (SELECT DISTINCT iqn FROM old_rows WHERE iqn IS NOT NULL) o
   WHERE s.kind = 'iqn' AND s.ref = '' AND s.name = o.iqn
     AND NOT EXISTS (SELECT 1 FROM targets t WHERE lower(t.iqn) = lower(o.iqn) AND t.iqn = o.iqn);
  DELETE FROM search_names s USING (SELECT DISTINCT alias FROM old_rows WHERE alias IS NOT NULL) o
   WHERE s.kind = 'alias' AND s.ref = '' AND s.name = o.alias
     AND NOT EXISTS (SELECT 1 FROM targets t WHERE t.alias = o.alias);
  DELETE FROM search_names s USING (SELECT DISTINCT backing_store FROM old_rows WHERE backing_store IS NOT NULL) o
   WHERE s.kind = 'backingStore' AND s.ref = '' AND s.name = o.backing_store
     AND NOT EXISTS (SELECT 1 FROM targets t WHERE t.backing_store = o.backing_store);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "search_names_volumes_insert" AFTER INSERT ON "volumes" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_names_volumes_inserted();
--> statement-breakpoint
CREATE TRIGGER "search_names_volume_relabel" AFTER UPDATE OF "label" ON "volumes"
  FOR EACH ROW WHEN (OLD.label IS DISTINCT FROM NEW.label) EXECUTE FUNCTION search_names_volume_relabelled();
--> statement-breakpoint
CREATE TRIGGER "search_names_hosts_insert" AFTER INSERT ON "hosts" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_names_hosts_inserted();
--> statement-breakpoint
CREATE TRIGGER "search_names_targets_insert" AFTER INSERT ON "targets" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_names_targets_inserted();
--> statement-breakpoint
CREATE TRIGGER "search_names_targets_delete" AFTER DELETE ON "targets" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_names_targets_deleted();
--> statement-breakpoint
INSERT INTO "search_names" ("kind", "name", "ref") SELECT DISTINCT "kind", "name", "ref" FROM "search_name_sources";
--> statement-breakpoint
CREATE INDEX "search_names_name_trgm" ON "search_names" USING gin ("name" gin_trgm_ops) WITH (fastupdate = off);
--> statement-breakpoint
ANALYZE "search_keys";
--> statement-breakpoint
ANALYZE "search_names";
