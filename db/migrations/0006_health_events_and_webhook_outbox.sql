CREATE TABLE "webhook_outbox" (
	"id" serial PRIMARY KEY NOT NULL,
	"event_id" integer,
	"body" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"delivered_at" timestamp with time zone,
	"last_status" integer,
	"last_error" text
);
--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "condition" text;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "resolved_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "webhook_outbox_due" ON "webhook_outbox" USING btree ("next_attempt_at") WHERE "webhook_outbox"."delivered_at" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "events_open_condition" ON "events" USING btree ("condition") WHERE "events"."resolved_at" IS NULL;--> statement-breakpoint
CREATE INDEX "extents_host_seen" ON "extents" USING btree ("host","seen_at");--> statement-breakpoint
CREATE INDEX "targets_host_seen" ON "targets" USING btree ("storage_host","seen_at");--> statement-breakpoint
CREATE INDEX "zfs_snapshots_host" ON "zfs_snapshots" USING btree ("host","capture_id");