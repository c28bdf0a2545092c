-- Two races the lookup tables' triggers (0009) left open, closed with locks (docs/architecture.md,
-- "Search"). In READ COMMITTED each statement of a plpgsql function reads a fresh snapshot taken
-- after the locks it needs are granted, so a statement that waited sees what the other
-- transaction committed.
--
-- 1. A delete (retention, reindex) recomputed the rows of the ids it touched from what it saw,
--    while a commit adding a new sighting of the same id found the lookup row still there and
--    added nothing: both committed, and the id had a sighting but no row. Whatever deletes or
--    recomputes lookup rows now first takes both tables in SHARE ROW EXCLUSIVE mode, which
--    conflicts with the ROW EXCLUSIVE every trigger's INSERT takes: the recompute waits for
--    commits whose triggers already ran (and then sees their rows), and a commit's trigger that
--    comes later waits for the recompute to commit (and then sees the row gone, and adds it).
--    Every commit's first lookup-table statement is the host upsert's (search_names), so taking
--    search_names before search_keys, as here, is the order commits take them in: no deadlock.
--    Only deletes wait or are waited for; a daily commit takes no new lock.
CREATE FUNCTION "search_lookup_lock"() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE search_names, search_keys IN SHARE ROW EXCLUSIVE MODE;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "search_keys_refresh"(devices text[], segs text[], extent_uuids text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_lookup_lock();
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
CREATE OR REPLACE FUNCTION "search_names_targets_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_lookup_lock();
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
-- 2. A segment's first volume and first device learned by two commits at once: each paired what
--    it could see, and neither saw the other's row, so the device → volume row was never made.
--    Pairing a segment now holds a transaction-scoped advisory lock for it (one of 256 buckets
--    by the segment UUID's hash, so a capture of many new segments takes at most 256 locks),
--    taken after the transaction's own rows are in and in bucket order: of two commits pairing
--    the same segment, the second waits for the first to commit and then sees its rows. Only
--    a commit that adds a lookup row calls this; a daily capture of known devices does not.
--    (The lock class 0x76726373, "vrcs", is used for nothing else.)
CREATE OR REPLACE FUNCTION "search_keys_pair_segments"(segs text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  bucket integer;
BEGIN
  FOR bucket IN SELECT DISTINCT hashtext(s) & 255 FROM unnest(segs) s ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(1987208051, bucket);
  END LOOP;
  INSERT INTO search_keys (key, kind, ref)
  SELECT DISTINCT d.ref, 'deviceVolume', v.ref
    FROM search_keys d JOIN search_keys v ON v.key = d.key AND v.kind = 'segmentVolume'
    LEFT JOIN LATERAL (SELECT true AS found FROM search_keys k WHERE k.key = d.ref AND k.kind = 'deviceVolume' AND k.ref = v.ref LIMIT 1) k ON true
   WHERE d.key = ANY(segs) AND d.kind = 'segmentDevice' AND k.found IS NULL;
END
$$;
