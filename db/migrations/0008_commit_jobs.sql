CREATE TABLE "commit_jobs" (
	"capture_id" text PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"state" text NOT NULL,
	"bytes" bigint NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"queued_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"lease_until" timestamp with time zone,
	"runner" text,
	"finished_at" timestamp with time zone,
	"error" jsonb
);
--> statement-breakpoint
CREATE INDEX "commit_jobs_lease" ON "commit_jobs" USING btree ("state","lease_until");