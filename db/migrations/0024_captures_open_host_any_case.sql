DROP INDEX "captures_open_host";--> statement-breakpoint
CREATE INDEX "captures_open_host" ON "captures" USING btree (lower("host")) WHERE state = 'open';