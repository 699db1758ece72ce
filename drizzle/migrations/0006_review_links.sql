ALTER TABLE "comments" ADD COLUMN "frame_end" integer;--> statement-breakpoint
ALTER TABLE "share_links" ADD COLUMN "allow_comment" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "share_links" ADD COLUMN "allow_approve" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "share_links" ADD COLUMN "follow_latest" boolean DEFAULT false NOT NULL;