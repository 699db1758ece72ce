CREATE TABLE "render_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"render_id" uuid NOT NULL,
	"job_id" text NOT NULL,
	"kind" text NOT NULL,
	"chunk_index" integer,
	"attempt" integer NOT NULL,
	"worker_id" text NOT NULL,
	"target" text NOT NULL,
	"encoder" text,
	"argv" jsonb NOT NULL,
	"stages_ms" jsonb NOT NULL,
	"stderr_tail" text NOT NULL,
	"ok" boolean NOT NULL,
	"error" text,
	"finished_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "render_runs" ADD CONSTRAINT "render_runs_render_id_renders_id_fk" FOREIGN KEY ("render_id") REFERENCES "public"."renders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "render_runs_run_uq" ON "render_runs" USING btree ("render_id","job_id","attempt","kind","finished_at");