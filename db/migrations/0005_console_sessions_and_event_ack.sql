CREATE TABLE "console_sessions" (
	"id_sha256" text PRIMARY KEY NOT NULL,
	"token_id" text NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "acknowledged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "acknowledged_by" text;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "ack_note" text;--> statement-breakpoint
CREATE INDEX "console_sessions_expires" ON "console_sessions" USING btree ("expires_at");