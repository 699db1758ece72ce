CREATE TYPE "public"."proxy_status" AS ENUM('queued', 'encoding', 'ready', 'failed');--> statement-breakpoint
ALTER TABLE "assets" ADD COLUMN "proxy_key" text;--> statement-breakpoint
ALTER TABLE "assets" ADD COLUMN "proxy_status" "proxy_status";--> statement-breakpoint
ALTER TABLE "assets" ADD COLUMN "proxy_percent" integer DEFAULT 0 NOT NULL;