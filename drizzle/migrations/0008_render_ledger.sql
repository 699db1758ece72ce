CREATE TYPE "public"."render_minute_kind" AS ENUM('debit', 'refund', 'grant');--> statement-breakpoint
CREATE TABLE "render_minute_ledger" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"kind" "render_minute_kind" NOT NULL,
	"minutes" integer NOT NULL,
	"reason" text NOT NULL,
	"render_id" uuid,
	"refund_of" bigint,
	"actor_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "render_minute_ledger_shape" CHECK (("render_minute_ledger"."kind" = 'debit' and "render_minute_ledger"."minutes" < 0 and "render_minute_ledger"."render_id" is not null and "render_minute_ledger"."refund_of" is null)
        or ("render_minute_ledger"."kind" = 'refund' and "render_minute_ledger"."minutes" > 0 and "render_minute_ledger"."render_id" is not null and "render_minute_ledger"."refund_of" is not null)
        or ("render_minute_ledger"."kind" = 'grant' and "render_minute_ledger"."minutes" <> 0 and "render_minute_ledger"."refund_of" is null))
);
--> statement-breakpoint
ALTER TABLE "render_minute_ledger" ADD CONSTRAINT "render_minute_ledger_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "render_minute_ledger" ADD CONSTRAINT "render_minute_ledger_refund_of_render_minute_ledger_id_fk" FOREIGN KEY ("refund_of") REFERENCES "public"."render_minute_ledger"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "render_minute_ledger" ADD CONSTRAINT "render_minute_ledger_actor_id_users_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "render_minute_ledger_org_idx" ON "render_minute_ledger" USING btree ("org_id","id");--> statement-breakpoint
CREATE INDEX "render_minute_ledger_render_idx" ON "render_minute_ledger" USING btree ("render_id");--> statement-breakpoint
CREATE UNIQUE INDEX "render_minute_ledger_refund_uq" ON "render_minute_ledger" USING btree ("refund_of");--> statement-breakpoint
-- Data (added by hand to the generated file, before the counters go): each org's counter becomes an
-- opening grant (counter + standing charges), each standing render charge its debit, so the balance
-- is unchanged, old renders keep their charge, and a render in flight is still refunded if it fails.
INSERT INTO "render_minute_ledger" ("org_id", "kind", "minutes", "reason")
  SELECT o."id", 'grant', o."render_minutes_quota" + coalesce(sum(r."charged_minutes"), 0), 'opening balance (migrated from the render_minutes_quota counter)'
  FROM "orgs" o LEFT JOIN "renders" r ON r."org_id" = o."id" AND r."charged_minutes" > 0
  GROUP BY o."id", o."render_minutes_quota"
  HAVING o."render_minutes_quota" + coalesce(sum(r."charged_minutes"), 0) <> 0;--> statement-breakpoint
INSERT INTO "render_minute_ledger" ("org_id", "kind", "minutes", "reason", "render_id", "actor_id", "created_at")
  SELECT "org_id", 'debit', -"charged_minutes", 'render submitted (migrated charge)', "id", "created_by", "created_at"
  FROM "renders" WHERE "charged_minutes" > 0;--> statement-breakpoint
ALTER TABLE "orgs" DROP COLUMN "render_minutes_quota";--> statement-breakpoint
ALTER TABLE "renders" DROP COLUMN "charged_minutes";