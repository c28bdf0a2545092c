CREATE INDEX "targets_iqn_lower" ON "targets" USING btree (lower("iqn"));--> statement-breakpoint
CREATE INDEX "targets_backing" ON "targets" USING btree ("backing_store");--> statement-breakpoint
CREATE INDEX "targets_alias_trgm" ON "targets" USING gin ("alias" gin_trgm_ops);