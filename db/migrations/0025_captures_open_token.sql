ALTER TABLE "captures" ADD COLUMN "opened_by" text;--> statement-breakpoint
CREATE INDEX "captures_open_token" ON "captures" USING btree ("opened_by") WHERE state = 'open';