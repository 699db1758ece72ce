CREATE TYPE "public"."transcript_status" AS ENUM('queued', 'transcribing', 'succeeded', 'failed', 'cancelled');--> statement-breakpoint
CREATE TABLE "transcript_words" (
	"transcript_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"word" text NOT NULL,
	"start_ms" integer NOT NULL,
	"end_ms" integer NOT NULL,
	"confidence" real NOT NULL,
	"speaker" text,
	CONSTRAINT "transcript_words_transcript_id_position_pk" PRIMARY KEY("transcript_id","position")
);
--> statement-breakpoint
CREATE TABLE "transcripts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"asset_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"status" "transcript_status" DEFAULT 'queued' NOT NULL,
	"mode" text NOT NULL,
	"requested_engine" text DEFAULT 'auto' NOT NULL,
	"engine" text,
	"quality" text,
	"language" text NOT NULL,
	"range_start_ms" integer,
	"range_end_ms" integer,
	"priority" text DEFAULT 'normal' NOT NULL,
	"stage" text DEFAULT 'queued' NOT NULL,
	"progress" real DEFAULT 0 NOT NULL,
	"eta_seconds" real,
	"error" text,
	"worker_id" text,
	"output_key" text NOT NULL,
	"word_count" integer,
	"media_duration_ms" integer,
	"real_time_factor" real,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "transcript_words" ADD CONSTRAINT "transcript_words_transcript_id_transcripts_id_fk" FOREIGN KEY ("transcript_id") REFERENCES "public"."transcripts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transcripts" ADD CONSTRAINT "transcripts_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transcripts" ADD CONSTRAINT "transcripts_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transcripts" ADD CONSTRAINT "transcripts_asset_id_assets_id_fk" FOREIGN KEY ("asset_id") REFERENCES "public"."assets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transcripts" ADD CONSTRAINT "transcripts_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "transcripts_project_idx" ON "transcripts" USING btree ("project_id");--> statement-breakpoint
CREATE UNIQUE INDEX "transcripts_asset_version_uq" ON "transcripts" USING btree ("asset_id","version");