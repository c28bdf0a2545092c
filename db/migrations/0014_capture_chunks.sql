CREATE TABLE "capture_chunks" (
	"capture_id" text NOT NULL,
	"sha256" text NOT NULL,
	"size" integer NOT NULL,
	"encoding" text NOT NULL,
	"stored_size" integer NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	CONSTRAINT "capture_chunks_capture_id_sha256_pk" PRIMARY KEY("capture_id","sha256")
);
