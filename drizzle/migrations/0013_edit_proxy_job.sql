ALTER TABLE "assets" ADD COLUMN "proxy_job_id" uuid;--> statement-breakpoint
ALTER TABLE "assets" ADD COLUMN "proxy_requested_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "assets_proxy_job_idx" ON "assets" USING btree ("proxy_job_id");--> statement-breakpoint
-- Rows from before: each followed its own job (job id = asset id), requested at upload.
UPDATE "assets" SET "proxy_job_id" = "id", "proxy_requested_at" = "created_at" WHERE "proxy_status" IS NOT NULL;
