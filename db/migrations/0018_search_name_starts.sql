-- The word starts of labels and host names in btree order (api/read/search.ts fragmentSql,
-- docs/architecture.md "Search"). A GIN read collects every entry of its range before the first
-- row comes back, so a fragment that starts a word of 200,000 labels ('prod') read and ranked all
-- of them; a btree range is read lazily and stops at a LIMIT. One row per word start of each
-- label and host row of search_names (the lexemes of search_name_words, 0012), with the name's
-- count of distinct trigrams (what pg_trgm's similarity divides by, so the names most similar to
-- a short fragment have few). search_name_starts holds exactly the rows of this view; the
-- triggers below keep it so.
CREATE TABLE "search_name_starts" (
	"kind" text NOT NULL,
	"word" text NOT NULL,
	"trigrams" integer NOT NULL,
	"name" text NOT NULL,
	"ref" text NOT NULL
);
--> statement-breakpoint
CREATE VIEW "search_name_start_sources" AS
  SELECT n.kind, w.word, cardinality(show_trgm(n.name)) AS trigrams, n.name, n.ref
    FROM (SELECT DISTINCT kind, name, ref FROM search_names WHERE kind IN ('label', 'host')) n
   CROSS JOIN LATERAL unnest(tsvector_to_array(search_name_words(n.name))) w(word);
--> statement-breakpoint
-- A label or host name new to search_names adds its word starts (one already there adds none).
CREATE FUNCTION "search_name_starts_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_name_starts (kind, word, trigrams, name, ref)
  SELECT n.kind, w.word, cardinality(show_trgm(n.name)), n.name, n.ref
    FROM (SELECT DISTINCT kind, name, ref FROM new_rows WHERE kind IN ('label', 'host')) n
   CROSS JOIN LATERAL unnest(tsvector_to_array(search_name_words(n.name))) w(word)
   WHERE NOT EXISTS (SELECT 1 FROM search_name_starts s WHERE s.ref = n.ref AND s.kind = n.kind AND s.name = n.name);
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- A label or host name gone from search_names (a relabelled volume) takes its word starts along.
CREATE FUNCTION "search_name_starts_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM search_name_starts s USING (SELECT DISTINCT kind, name, ref FROM old_rows WHERE kind IN ('label', 'host')) o
   WHERE s.ref = o.ref AND s.kind = o.kind AND s.name = o.name
     AND NOT EXISTS (SELECT 1 FROM search_names n WHERE n.kind = o.kind AND n.ref = o.ref AND n.name = o.name);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "search_name_starts_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM search_name_starts;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "search_name_starts_insert" AFTER INSERT ON "search_names" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_name_starts_inserted();
--> statement-breakpoint
CREATE TRIGGER "search_name_starts_delete" AFTER DELETE ON "search_names" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_name_starts_deleted();
--> statement-breakpoint
CREATE TRIGGER "search_name_starts_truncate" AFTER TRUNCATE ON "search_names"
  FOR EACH STATEMENT EXECUTE FUNCTION search_name_starts_truncated();
--> statement-breakpoint
INSERT INTO "search_name_starts" ("kind", "word", "trigrams", "name", "ref") SELECT "kind", "word", "trigrams", "name", "ref" FROM "search_name_start_sources";
--> statement-breakpoint
-- Each holds the row's other columns too (INCLUDE, which db/schema.ts cannot say): a search reads
-- the index alone, not a heap page for each of up to 1,001 rows.
CREATE INDEX "search_name_starts_word" ON "search_name_starts" USING btree ("word" text_pattern_ops) INCLUDE ("kind", "name", "ref");--> statement-breakpoint
CREATE INDEX "search_name_starts_trigrams" ON "search_name_starts" USING btree ("trigrams","word" text_pattern_ops) INCLUDE ("kind", "name", "ref");--> statement-breakpoint
CREATE INDEX "search_name_starts_ref" ON "search_name_starts" USING btree ("ref","kind");--> statement-breakpoint
ANALYZE "search_name_starts";
