CREATE TABLE "capture_pins" (
	"capture_id" text PRIMARY KEY NOT NULL,
	"note" text NOT NULL,
	"pinned_at" timestamp with time zone NOT NULL,
	"pinned_by" text
);
--> statement-breakpoint
CREATE TABLE "retention_runs" (
	"id" serial PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"ran_by" text NOT NULL,
	"dry_run" boolean NOT NULL,
	"policy" text NOT NULL,
	"kept" integer DEFAULT 0 NOT NULL,
	"dropped" jsonb NOT NULL,
	"chunks_deleted" integer DEFAULT 0 NOT NULL,
	"bytes_freed" bigint DEFAULT 0 NOT NULL,
	"locked" jsonb
);
--> statement-breakpoint
CREATE TABLE "scrub_state" (
	"name" text PRIMARY KEY NOT NULL,
	"cursor" text,
	"pass_started_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "retention_runs_started" ON "retention_runs" USING btree ("started_at");