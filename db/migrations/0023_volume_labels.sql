CREATE TABLE "volume_labels" (
	"vmfs_uuid" text NOT NULL,
	"label" text NOT NULL,
	"first_seen" timestamp with time zone NOT NULL,
	"last_seen" timestamp with time zone NOT NULL,
	CONSTRAINT "volume_labels_vmfs_uuid_label_pk" PRIMARY KEY("vmfs_uuid","label")
);
--> statement-breakpoint
-- Every label a volume was seen with (docs/architecture.md, "Search"): the labels known so far are
-- the current ones; reindex adds the earlier ones the kept artifacts name.
INSERT INTO "volume_labels" ("vmfs_uuid", "label", "first_seen", "last_seen")
  SELECT "vmfs_uuid", "label", "first_seen", "last_seen" FROM "volumes" WHERE "label" IS NOT NULL;
--> statement-breakpoint
-- search_names' label rows now follow volume_labels: a relabelled volume keeps its earlier label rows.
DROP TRIGGER "search_names_volumes_insert" ON "volumes";
--> statement-breakpoint
DROP TRIGGER "search_names_volume_relabel" ON "volumes";
--> statement-breakpoint
DROP TRIGGER "search_names_volumes_truncate" ON "volumes";
--> statement-breakpoint
DROP FUNCTION "search_names_volumes_inserted"();
--> statement-breakpoint
DROP FUNCTION "search_names_volume_relabelled"();
--> statement-breakpoint
CREATE OR REPLACE VIEW "search_name_sources" AS
  SELECT 'label'::text AS kind, l.label AS name, l.vmfs_uuid AS ref FROM volume_labels l
  UNION ALL SELECT 'host', h.name, h.name FROM hosts h
  UNION ALL SELECT 'iqn', t.iqn, '' FROM targets t WHERE t.iqn IS NOT NULL
  UNION ALL SELECT 'alias', t.alias, '' FROM targets t WHERE t.alias IS NOT NULL
  UNION ALL SELECT 'backingStore', t.backing_store, '' FROM targets t WHERE t.backing_store IS NOT NULL;
--> statement-breakpoint
-- Only the rows an INSERT … ON CONFLICT really inserted are in new_rows (one seen again only updates last_seen).
CREATE FUNCTION "search_names_labels_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_names (kind, name, ref) SELECT 'label', n.label, n.vmfs_uuid FROM new_rows n;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "search_names_labels_insert" AFTER INSERT ON "volume_labels" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_names_labels_inserted();
--> statement-breakpoint
CREATE TRIGGER "search_names_labels_truncate" AFTER TRUNCATE ON "volume_labels" FOR EACH STATEMENT EXECUTE FUNCTION search_lookup_truncated();
