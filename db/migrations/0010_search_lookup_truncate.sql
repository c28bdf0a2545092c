-- TRUNCATE fires no DELETE trigger: emptying a table the lookup tables follow (an operator
-- about to rebuild from the bucket) recomputes them from the rows left.
CREATE FUNCTION "search_lookup_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME IN ('extents', 'segments') THEN
    DELETE FROM search_keys;
    INSERT INTO search_keys (key, kind, ref) SELECT DISTINCT key, kind, ref FROM search_key_sources;
  ELSE
    DELETE FROM search_names;
    INSERT INTO search_names (kind, name, ref) SELECT DISTINCT kind, name, ref FROM search_name_sources;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "search_keys_extents_truncate" AFTER TRUNCATE ON "extents" FOR EACH STATEMENT EXECUTE FUNCTION search_lookup_truncated();
--> statement-breakpoint
CREATE TRIGGER "search_keys_segments_truncate" AFTER TRUNCATE ON "segments" FOR EACH STATEMENT EXECUTE FUNCTION search_lookup_truncated();
--> statement-breakpoint
CREATE TRIGGER "search_names_volumes_truncate" AFTER TRUNCATE ON "volumes" FOR EACH STATEMENT EXECUTE FUNCTION search_lookup_truncated();
--> statement-breakpoint
CREATE TRIGGER "search_names_hosts_truncate" AFTER TRUNCATE ON "hosts" FOR EACH STATEMENT EXECUTE FUNCTION search_lookup_truncated();
--> statement-breakpoint
CREATE TRIGGER "search_names_targets_truncate" AFTER TRUNCATE ON "targets" FOR EACH STATEMENT EXECUTE FUNCTION search_lookup_truncated();
