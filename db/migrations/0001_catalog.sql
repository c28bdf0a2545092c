CREATE TABLE "artifacts" (
	"id" text PRIMARY KEY NOT NULL,
	"capture_id" text NOT NULL,
	"host" text NOT NULL,
	"collected_at" timestamp with time zone NOT NULL,
	"kind" text NOT NULL,
	"file_name" text NOT NULL,
	"source_path" text NOT NULL,
	"device" text,
	"size" bigint NOT NULL,
	"sha256" text NOT NULL,
	"chunks" jsonb NOT NULL,
	"parse_status" text NOT NULL,
	"parse_error" jsonb,
	"parsed" jsonb,
	"pinned" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit" (
	"id" serial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"token_id" text,
	"role" text,
	"action" text NOT NULL,
	"subject" text NOT NULL,
	"remote_addr" text,
	"request_id" text,
	"details" jsonb
);
--> statement-breakpoint
CREATE TABLE "blobs" (
	"sha256" text PRIMARY KEY NOT NULL,
	"size" integer NOT NULL,
	"encoding" text NOT NULL,
	"stored_size" integer NOT NULL,
	"first_stored" timestamp with time zone NOT NULL,
	"last_verified" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "captures" (
	"id" text PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"state" text NOT NULL,
	"collected_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"committed_at" timestamp with time zone,
	"collector_version" text NOT NULL,
	"manifest_key" text,
	"request" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" serial PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"severity" text NOT NULL,
	"vmfs_uuid" text,
	"device_id" text,
	"host" text,
	"capture_id" text,
	"artifact_id" text,
	"message" text NOT NULL,
	"details" jsonb,
	"created_at" timestamp with time zone NOT NULL,
	"acknowledged" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "extents" (
	"id" serial PRIMARY KEY NOT NULL,
	"artifact_id" text NOT NULL,
	"capture_id" text NOT NULL,
	"host" text NOT NULL,
	"source" text NOT NULL,
	"vmfs_uuid" text,
	"segment_uuid" text,
	"extent_uuid" text,
	"device_id" text,
	"vml" text,
	"lun" integer,
	"vendor" text,
	"model" text,
	"revision" text,
	"size_bytes" bigint,
	"partition_scheme" text,
	"partition_index" integer,
	"partition_start" bigint,
	"partition_end" bigint,
	"partition_type" text,
	"partition_missing" boolean DEFAULT false NOT NULL,
	"device_path" text,
	"seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hosts" (
	"name" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"system_uuid" text,
	"first_seen" timestamp with time zone NOT NULL,
	"last_seen" timestamp with time zone NOT NULL,
	"last_capture_id" text
);
--> statement-breakpoint
CREATE TABLE "luns" (
	"device_id" text PRIMARY KEY NOT NULL,
	"lun" integer,
	"vml" text,
	"vendor" text,
	"model" text,
	"size_bytes" bigint,
	"last_seen" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "segments" (
	"artifact_id" text NOT NULL,
	"segment_uuid" text NOT NULL,
	"vmfs_uuid" text NOT NULL,
	"seen_at" timestamp with time zone NOT NULL,
	CONSTRAINT "segments_artifact_id_segment_uuid_pk" PRIMARY KEY("artifact_id","segment_uuid")
);
--> statement-breakpoint
CREATE TABLE "targets" (
	"id" serial PRIMARY KEY NOT NULL,
	"artifact_id" text NOT NULL,
	"capture_id" text NOT NULL,
	"storage_host" text NOT NULL,
	"stack" text NOT NULL,
	"iqn" text,
	"alias" text,
	"lun" integer,
	"device_id" text,
	"backing_store" text,
	"size_bytes" bigint,
	"tpgs" jsonb NOT NULL,
	"acl" jsonb NOT NULL,
	"seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"host" text,
	"secret_sha256" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "volumes" (
	"vmfs_uuid" text PRIMARY KEY NOT NULL,
	"label" text,
	"version" text,
	"block_size" bigint,
	"created_at" timestamp with time zone,
	"creator_mac" text,
	"first_seen" timestamp with time zone NOT NULL,
	"last_seen" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "zfs_snapshots" (
	"id" serial PRIMARY KEY NOT NULL,
	"artifact_id" text NOT NULL,
	"capture_id" text NOT NULL,
	"host" text NOT NULL,
	"dataset" text NOT NULL,
	"snapshot" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"used_bytes" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "artifacts_capture" ON "artifacts" USING btree ("capture_id");--> statement-breakpoint
CREATE INDEX "artifacts_sha256" ON "artifacts" USING btree ("sha256");--> statement-breakpoint
CREATE INDEX "artifacts_host_time" ON "artifacts" USING btree ("host","collected_at");--> statement-breakpoint
CREATE INDEX "audit_at" ON "audit" USING btree ("at");--> statement-breakpoint
CREATE INDEX "captures_host_time" ON "captures" USING btree ("host","collected_at");--> statement-breakpoint
CREATE INDEX "events_vmfs" ON "events" USING btree ("vmfs_uuid");--> statement-breakpoint
CREATE INDEX "events_device" ON "events" USING btree ("device_id");--> statement-breakpoint
CREATE INDEX "events_artifact" ON "events" USING btree ("artifact_id");--> statement-breakpoint
CREATE INDEX "extents_artifact" ON "extents" USING btree ("artifact_id");--> statement-breakpoint
CREATE INDEX "extents_vmfs" ON "extents" USING btree ("vmfs_uuid");--> statement-breakpoint
CREATE INDEX "extents_segment" ON "extents" USING btree ("segment_uuid");--> statement-breakpoint
CREATE INDEX "extents_device" ON "extents" USING btree ("device_id");--> statement-breakpoint
CREATE INDEX "extents_vml" ON "extents" USING btree ("vml");--> statement-breakpoint
CREATE INDEX "hosts_name_trgm" ON "hosts" USING gin ("name" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "luns_vml" ON "luns" USING btree ("vml");--> statement-breakpoint
CREATE INDEX "segments_segment" ON "segments" USING btree ("segment_uuid");--> statement-breakpoint
CREATE INDEX "segments_vmfs" ON "segments" USING btree ("vmfs_uuid");--> statement-breakpoint
CREATE INDEX "targets_artifact" ON "targets" USING btree ("artifact_id");--> statement-breakpoint
CREATE INDEX "targets_device" ON "targets" USING btree ("device_id");--> statement-breakpoint
CREATE INDEX "targets_iqn_trgm" ON "targets" USING gin ("iqn" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "targets_backing_trgm" ON "targets" USING gin ("backing_store" gin_trgm_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "tokens_secret" ON "tokens" USING btree ("secret_sha256");--> statement-breakpoint
CREATE INDEX "volumes_label_trgm" ON "volumes" USING gin ("label" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "zfs_snapshots_artifact" ON "zfs_snapshots" USING btree ("artifact_id");--> statement-breakpoint
CREATE INDEX "zfs_snapshots_dataset" ON "zfs_snapshots" USING btree ("dataset");