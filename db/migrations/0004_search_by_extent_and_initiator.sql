CREATE INDEX "extents_extent" ON "extents" USING btree ("extent_uuid");--> statement-breakpoint
CREATE INDEX "targets_acl" ON "targets" USING gin ("acl" jsonb_path_ops);