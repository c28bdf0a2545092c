-- Search by a fragment (api/read/search.ts fragmentSql, docs/architecture.md "Search"): a fragment's
-- target LUs are first looked for among the newest target rows, read newest first here.
CREATE INDEX "targets_seen" ON "targets" USING btree ("seen_at","id");--> statement-breakpoint
-- The word-start index (0012) split in two by kind: volume labels and host names, and the IQNs,
-- aliases and backing stores of target LUs. A fragment that starts a word of every backing store of
-- a pool ('rdsk/tank', a million names) made every label search that read the one index walk
-- them all; now a read of one index holds only its kinds' names. Same entries, same total size.
CREATE INDEX "search_names_words_volume_host" ON "search_names" USING gin (search_name_words("name")) WITH (fastupdate = off) WHERE kind IN ('label', 'host');--> statement-breakpoint
CREATE INDEX "search_names_words_target" ON "search_names" USING gin (search_name_words("name")) WITH (fastupdate = off) WHERE kind IN ('iqn', 'alias', 'backingStore');--> statement-breakpoint
DROP INDEX "search_names_words";
