-- Search by device id, vml or VMFS UUID (docs/architecture.md, "Search") as functions, so that
-- what the usual answer does not need is never started: a VMFS UUID that is not also an LVM
-- segment or extent UUID costs a volumes probe and one search_keys probe, not the initialisation
-- of every branch a single statement would carry. Each statement inside keeps its plan for the
-- connection.

-- A device's LUN as one jsonb row: its luns row, else its latest extent, else its latest target
-- sighting; NULL when the catalog has never seen the device.
CREATE FUNCTION "search_lun_row"(p_device text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  r jsonb;
BEGIN
  SELECT to_jsonb(l) INTO r FROM luns l WHERE l.device_id = p_device;
  IF r IS NULL THEN
    SELECT to_jsonb(k) - 'pri' INTO r FROM (
      (SELECT e.device_id, e.lun, e.vml, e.vendor, e.model, e.size_bytes, e.seen_at AS last_seen, 1 AS pri FROM extents e
        WHERE e.device_id = p_device ORDER BY e.seen_at DESC LIMIT 1)
      UNION ALL
      (SELECT t.device_id, t.lun, NULL, NULL, NULL, t.size_bytes, t.seen_at, 2 FROM targets t
        WHERE t.device_id = p_device ORDER BY t.seen_at DESC LIMIT 1)
    ) k ORDER BY k.pri LIMIT 1;
  END IF;
  RETURN r;
END
$$;
--> statement-breakpoint
-- The volume a VMFS UUID names as one jsonb row: its volumes row, else (no row yet) when an FS
-- descriptor or an inventory extent last saw it; NULL when nothing names it.
CREATE FUNCTION "search_volume_row"(p_uuid text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  r jsonb;
  seen timestamptz;
BEGIN
  SELECT jsonb_build_object('vmfs_uuid', v.vmfs_uuid, 'label', v.label, 'version', v.version, 'last_seen', v.last_seen) INTO r
    FROM volumes v WHERE v.vmfs_uuid = p_uuid;
  IF r IS NULL THEN
    SELECT max(x.seen_at) INTO seen FROM (
      SELECT s.seen_at FROM segments s WHERE s.vmfs_uuid = p_uuid
      UNION ALL
      SELECT e.seen_at FROM extents e WHERE e.vmfs_uuid = p_uuid
    ) x;
    IF seen IS NOT NULL THEN
      r := jsonb_build_object('vmfs_uuid', p_uuid, 'label', NULL, 'version', NULL, 'last_seen', seen);
    END IF;
  END IF;
  RETURN r;
END
$$;
--> statement-breakpoint
-- The hits for ids, each row a hit kind, how it matched, its score and its row:
-- - each device (p_device, matched as p_match, and those p_uuid names as an extent UUID): its
--   LUN (100), the latest row of each target LU presenting it (95), the volumes on it (90);
-- - p_uuid as a VMFS UUID: the volume (100); as an LVM segment UUID: its volumes (95) and the
--   devices holding it (85, at most p_limit);
-- - p_vml: the LUN recorded with that exact vml (100), read only when the device's own LUN row
--   does not carry it.
CREATE FUNCTION "search_id_hits"(p_uuid text, p_device text, p_match text, p_vml text, p_limit integer)
  RETURNS TABLE (o_hit text, o_match text, o_score integer, o_row jsonb) LANGUAGE plpgsql STABLE AS $$
DECLARE
  devices text[] := '{}';
  matches text[] := '{}';
  dev text;
  m text;
  r jsonb;
  keyed boolean := false;
  vml_answered boolean := false;
BEGIN
  IF p_device IS NOT NULL THEN
    devices := ARRAY[p_device];
    matches := ARRAY[p_match];
  END IF;
  IF p_uuid IS NOT NULL THEN
    -- The volumes row here; search_volume_row's fallbacks only for a UUID without one.
    SELECT jsonb_build_object('vmfs_uuid', v.vmfs_uuid, 'label', v.label, 'version', v.version, 'last_seen', v.last_seen) INTO r
      FROM volumes v WHERE v.vmfs_uuid = p_uuid;
    IF r IS NULL THEN
      r := search_volume_row(p_uuid);
    END IF;
    IF r IS NOT NULL THEN
      o_hit := 'volume'; o_match := 'vmfsUuid'; o_score := 100; o_row := r;
      RETURN NEXT;
    END IF;
    keyed := EXISTS (SELECT 1 FROM search_keys k WHERE k.key = p_uuid);
    IF keyed THEN
      SELECT devices || array_agg(x.ref), matches || array_agg('extentUuid'::text) INTO devices, matches
        FROM (SELECT DISTINCT k.ref FROM search_keys k WHERE k.key = p_uuid AND k.kind = 'extentDevice') x;
      devices := coalesce(devices, '{}');
      matches := coalesce(matches, '{}');
    END IF;
  END IF;
  FOR i IN 1 .. coalesce(array_length(devices, 1), 0) LOOP
    dev := devices[i];
    m := matches[i];
    -- The luns row here; search_lun_row's fallbacks only for a device without one.
    SELECT to_jsonb(l) INTO r FROM luns l WHERE l.device_id = dev;
    IF r IS NULL THEN
      r := search_lun_row(dev);
    END IF;
    IF r IS NOT NULL THEN
      o_hit := 'lun'; o_match := m; o_score := 100; o_row := r;
      RETURN NEXT;
      vml_answered := vml_answered OR coalesce(r->>'vml' = p_vml, false);
    END IF;
    RETURN QUERY SELECT 'target'::text, m, 95, to_jsonb(x) FROM (
      SELECT DISTINCT ON (t.storage_host, t.stack, coalesce(t.iqn, ''), coalesce(t.lun, -1), coalesce(t.device_id, '')) t.*
        FROM targets t WHERE t.device_id = dev
       ORDER BY t.storage_host, t.stack, coalesce(t.iqn, ''), coalesce(t.lun, -1), coalesce(t.device_id, ''), t.seen_at DESC, t.id DESC
    ) x ORDER BY x.seen_at DESC LIMIT p_limit;
    RETURN QUERY SELECT 'volume'::text, m, 90, jsonb_build_object('vmfs_uuid', k.ref, 'label', v.label, 'version', v.version, 'last_seen', v.last_seen)
      FROM (SELECT DISTINCT s.ref FROM search_keys s WHERE s.key = dev AND s.kind = 'deviceVolume') k
      LEFT JOIN volumes v ON v.vmfs_uuid = k.ref;
  END LOOP;
  IF keyed THEN
    RETURN QUERY SELECT 'volume'::text, 'segmentUuid'::text, 95, jsonb_build_object('vmfs_uuid', k.ref, 'label', v.label, 'version', v.version, 'last_seen', v.last_seen)
      FROM (SELECT DISTINCT s.ref FROM search_keys s WHERE s.key = p_uuid AND s.kind = 'segmentVolume') k
      LEFT JOIN volumes v ON v.vmfs_uuid = k.ref;
    RETURN QUERY SELECT 'lun'::text, 'segmentUuid'::text, 85, l.r FROM (
      SELECT search_lun_row(k.ref) AS r FROM (SELECT DISTINCT s.ref FROM search_keys s WHERE s.key = p_uuid AND s.kind = 'segmentDevice' LIMIT p_limit) k
    ) l WHERE l.r IS NOT NULL;
  END IF;
  IF p_vml IS NOT NULL AND NOT vml_answered THEN
    RETURN QUERY SELECT 'lun'::text, 'vml'::text, 100, to_jsonb(l)
      FROM (SELECT lu.device_id, lu.lun, lu.vml, lu.vendor, lu.model, lu.size_bytes, lu.last_seen FROM luns lu WHERE lu.vml = p_vml LIMIT 1) l;
  END IF;
END
$$;
