ALTER TABLE "hosts" ADD COLUMN "introduced_by" text;--> statement-breakpoint
CREATE INDEX "hosts_introduced_by" ON "hosts" USING btree ("introduced_by") WHERE introduced_by IS NOT NULL;