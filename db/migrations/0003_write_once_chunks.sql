CREATE TABLE "host_chunks" (
	"host" text NOT NULL,
	"sha256" text NOT NULL,
	CONSTRAINT "host_chunks_host_sha256_pk" PRIMARY KEY("host","sha256")
);
--> statement-breakpoint
ALTER TABLE "artifacts" ADD COLUMN "redaction" jsonb;--> statement-breakpoint
ALTER TABLE "captures" ADD COLUMN "last_begun_at" timestamp with time zone;--> statement-breakpoint
-- Captures committed before per-host dedup: each host holds the chunks its artifacts reference.
INSERT INTO "host_chunks" ("host", "sha256")
SELECT DISTINCT a."host", c->>'sha256' FROM "artifacts" a, jsonb_array_elements(a."chunks") c
ON CONFLICT DO NOTHING;
