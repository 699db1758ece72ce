/**
 * The one database schema. Migrations under ./migrations are generated from it by drizzle-kit
 * (`pnpm db:generate`) and committed.
 */
import {
  type AnyPgColumn,
  bigserial,
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';

/** Binary column (Yjs updates, hashed secrets). Always a Uint8Array on the JS side. */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array | Buffer }>({
  dataType: () => 'bytea',
  toDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
  fromDriver: (v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength),
});

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const roleEnum = pgEnum('member_role', ['owner', 'editor', 'reviewer', 'viewer']);
export type MemberRole = (typeof roleEnum.enumValues)[number];

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** Stored lower-cased and trimmed. */
  email: text('email').notNull().unique(),
  name: text('name').notNull(),
  passwordHash: text('password_hash').notNull(),
  /** Platform role for the farm admin console; orgs have their own roles. */
  isFarmAdmin: boolean('is_farm_admin').notNull().default(false),
  /** Manages users and instance roles (Admin > Users). The first account of an instance gets it. */
  isInstanceAdmin: boolean('is_instance_admin').notNull().default(false),
  createdAt: createdAt(),
});

/** Sessions in the lucia-auth.com design: token = `${id}.${secret}`, only sha256(secret) is stored. */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    secretHash: bytea('secret_hash').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    lastVerifiedAt: timestamp('last_verified_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** The browser's User-Agent at log-in (display only: "Chrome on Linux"). */
    userAgent: text('user_agent'),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

export const orgs = pgTable('orgs', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

export const memberships = pgTable(
  'memberships',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: roleEnum('role').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] }), index('memberships_user_idx').on(t.userId)],
);

export const invites = pgTable('invites', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: uuid('org_id')
    .notNull()
    .references(() => orgs.id, { onDelete: 'cascade' }),
  /** Email invites: only this address may accept. Null for a link invite (anyone with the link). */
  email: text('email'),
  /** Set: the invite gives a role on this one project (a project override), not an org membership. */
  projectId: uuid('project_id').references((): AnyPgColumn => projects.id, { onDelete: 'cascade' }),
  role: roleEnum('role').notNull(),
  tokenHash: bytea('token_hash').notNull(),
  invitedBy: uuid('invited_by').references(() => users.id, { onDelete: 'set null' }),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  /** Last acceptance (for single-use invites: the one). */
  acceptedAt: timestamp('accepted_at', { withTimezone: true }),
  /** How many accounts may join with it; null = any number until it expires or is revoked. */
  maxUses: integer('max_uses').default(1),
  uses: integer('uses').notNull().default(0),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  createdAt: createdAt(),
}, (t) => [uniqueIndex('invites_token_hash_uq').on(t.tokenHash), index('invites_org_idx').on(t.orgId)]);

/** Project-level role overrides: on this project the user has this role instead of their org role (or none). */
export const projectMembers = pgTable(
  'project_members',
  {
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: roleEnum('role').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.userId] }), index('project_members_user_idx').on(t.userId)],
);

/** One-time account tokens (password reset, email change): only sha256 of the token is stored. */
export const userTokens = pgTable(
  'user_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['password-reset', 'email-change'] }).notNull(),
    tokenHash: bytea('token_hash').notNull(),
    /** For email-change: the address being confirmed. */
    newEmail: text('new_email'),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('user_tokens_hash_uq').on(t.tokenHash), index('user_tokens_user_idx').on(t.userId)],
);

export const projects = pgTable(
  'projects',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    fpsNum: integer('fps_num').notNull().default(30),
    fpsDen: integer('fps_den').notNull().default(1),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** In the trash since then (restorable); deleted for good by "delete forever". */
    trashedAt: timestamp('trashed_at', { withTimezone: true }),
    /**
     * Review setting: the editor who rendered a version may approve it too. Off by default (someone
     * else has to approve an editor's work; owners always may).
     */
    allowSelfApproval: boolean('allow_self_approval').notNull().default(false),
  },
  (t) => [index('projects_org_idx').on(t.orgId)],
);

export const assetKindEnum = pgEnum('asset_kind', ['video', 'audio', 'image']);
export const proxyStatusEnum = pgEnum('proxy_status', ['queued', 'encoding', 'ready', 'failed']);
export type ProxyStatus = (typeof proxyStatusEnum.enumValues)[number];

export const assets = pgTable(
  'assets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    kind: assetKindEnum('kind').notNull(),
    /** The uploader's file name, display only: never used as a path. */
    name: text('name').notNull(),
    storageKey: text('storage_key').notNull(),
    posterKey: text('poster_key'),
    /** A remux the editor's <video> plays instead of the original (shared/media/ingest.ts previewRenditionReason); null: the original. */
    previewKey: text('preview_key'),
    /**
     * The edit proxy the farm makes of a video (shared/media/edit-proxy.ts: 540p H.264, GOP <= 10,
     * frame for frame the original), which the editor previews and scrubs; renders read the
     * original. Set when the proxy is ready; null before (and for audio, images, older uploads).
     */
    proxyKey: text('proxy_key'),
    /** The edit proxy's job: null when none was made (not a video, or uploaded before proxies). */
    proxyStatus: proxyStatusEnum('proxy_status'),
    /** Encoding progress of the edit proxy, 0-100. */
    proxyPercent: integer('proxy_percent').notNull().default(0),
    /**
     * The edit-proxy job this row follows (its job id, the id of the asset that requested it). The
     * proxy belongs to the file: rows sharing a storage key (a duplicated project's copies) follow one
     * job and all turn ready or failed with it (services/edit-proxies.ts). Null when none was made.
     */
    proxyJobId: uuid('proxy_job_id'),
    /** When that job was queued: a job the queue has lost since RENDER_LOST_JOB_SECONDS fails the proxy. */
    proxyRequestedAt: timestamp('proxy_requested_at', { withTimezone: true }),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    width: integer('width').notNull().default(0),
    height: integer('height').notNull().default(0),
    fpsNum: integer('fps_num'),
    fpsDen: integer('fps_den'),
    durationUs: bigint('duration_us', { mode: 'number' }).notNull().default(0),
    durationFrames: integer('duration_frames'),
    hasAudio: boolean('has_audio').notNull().default(false),
    videoCodec: text('video_codec'),
    /** The demuxer the ingest probe detected (shared/media/ingest.ts); forced with -f on every later run. */
    container: text('container'),
    /** Video (else first) stream start after the container start, microseconds. */
    videoStartUs: bigint('video_start_us', { mode: 'number' }).notNull().default(0),
    /** Audio stream start after the container start, microseconds. */
    audioStartUs: bigint('audio_start_us', { mode: 'number' }).notNull().default(0),
    /** Display rotation, degrees clockwise (0/90/180/270). */
    rotation: integer('rotation').notNull().default(0),
    /** Pixel aspect ratio. */
    sarNum: integer('sar_num').notNull().default(1),
    sarDen: integer('sar_den').notNull().default(1),
    /** Variable frame rate (phone video). */
    vfr: boolean('vfr').notNull().default(false),
    /** Transfer characteristic (bt709, smpte2084 = PQ, arib-std-b67 = HLG); null when untagged. */
    colorTransfer: text('color_transfer'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [index('assets_project_idx').on(t.projectId), index('assets_proxy_job_idx').on(t.proxyJobId)],
);

export const renderStatusEnum = pgEnum('render_status', ['queued', 'rendering', 'succeeded', 'failed', 'cancelled']);
export type RenderStatus = (typeof renderStatusEnum.enumValues)[number];

export const renders = pgTable(
  'renders',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    orgId: uuid('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    /** v1, v2, ... per project. */
    version: integer('version').notNull(),
    status: renderStatusEnum('status').notNull().default('queued'),
    priority: text('priority').notNull().default('normal'),
    specKey: text('spec_key').notNull(),
    outputPrefix: text('output_prefix').notNull(),
    outputKey: text('output_key'),
    posterKey: text('poster_key'),
    thumbKey: text('thumb_key'),
    stage: text('stage').notNull().default('queued'),
    progress: real('progress').notNull().default(0),
    fps: real('fps'),
    etaSeconds: real('eta_seconds'),
    error: text('error'),
    workerId: text('worker_id'),
    encoder: text('encoder'),
    bytes: bigint('bytes', { mode: 'number' }),
    durationFrames: integer('duration_frames').notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('renders_project_idx').on(t.projectId), uniqueIndex('renders_project_version_uq').on(t.projectId, t.version)],
);

export const renderMinuteKindEnum = pgEnum('render_minute_kind', ['debit', 'refund', 'grant']);
export type RenderMinuteKind = (typeof renderMinuteKindEnum.enumValues)[number];

/**
 * The render-minute ledger: an org's balance is the sum of its entries' minutes (no counter column).
 * A submit or an admin retry writes a debit (negative) for its render, a failed or cancelled render a
 * refund (positive) naming the debit it returns — unique, so a debit is refunded at most once however
 * often the failure arrives — and an admin a grant (either sign) with a reason.
 */
export const renderMinuteLedger = pgTable(
  'render_minute_ledger',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    kind: renderMinuteKindEnum('kind').notNull(),
    /** Signed change of the balance. */
    minutes: integer('minutes').notNull(),
    reason: text('reason').notNull(),
    /** The render a debit or refund is for (its id is also its queue job id). No foreign key: the ledger outlives deleted renders. */
    renderId: uuid('render_id'),
    /** A refund's debit. */
    refundOf: bigint('refund_of', { mode: 'number' }).references((): AnyPgColumn => renderMinuteLedger.id),
    /** Who caused it (the submitter, the granting admin); null for the system (opening allowance, the farm's failure). */
    actorId: uuid('actor_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    index('render_minute_ledger_org_idx').on(t.orgId, t.id),
    index('render_minute_ledger_render_idx').on(t.renderId),
    uniqueIndex('render_minute_ledger_refund_uq').on(t.refundOf),
    check(
      'render_minute_ledger_shape',
      sql`(${t.kind} = 'debit' and ${t.minutes} < 0 and ${t.renderId} is not null and ${t.refundOf} is null)
        or (${t.kind} = 'refund' and ${t.minutes} > 0 and ${t.renderId} is not null and ${t.refundOf} is not null)
        or (${t.kind} = 'grant' and ${t.minutes} <> 0 and ${t.refundOf} is null)`,
    ),
  ],
);

/**
 * Every ffmpeg run of a render (whole render, video chunk, audio, stitch) as its worker recorded it
 * (shared/jobs JobRun): the exact argv, target, encoder, worker, per-stage ms and the last 200 lines of
 * stderr. Copied from Redis when the render finishes, so it outlives the queue's records.
 */
export const renderRuns = pgTable(
  'render_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    renderId: uuid('render_id')
      .notNull()
      .references(() => renders.id, { onDelete: 'cascade' }),
    jobId: text('job_id').notNull(),
    kind: text('kind').notNull(),
    chunkIndex: integer('chunk_index'),
    attempt: integer('attempt').notNull(),
    workerId: text('worker_id').notNull(),
    target: text('target').notNull(),
    encoder: text('encoder'),
    argv: jsonb('argv').$type<string[]>().notNull(),
    stagesMs: jsonb('stages_ms').$type<Record<string, number>>().notNull(),
    stderrTail: text('stderr_tail').notNull(),
    ok: boolean('ok').notNull(),
    error: text('error'),
    finishedAt: timestamp('finished_at', { withTimezone: true }).notNull(),
  },
  (t) => [uniqueIndex('render_runs_run_uq').on(t.renderId, t.jobId, t.attempt, t.kind, t.finishedAt)],
);

/** Every Yjs update, stored before it is applied and broadcast (see collab-server). */
export const documentUpdates = pgTable(
  'document_updates',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    update: bytea('update').notNull(),
    userId: uuid('user_id'),
    createdAt: createdAt(),
  },
  (t) => [index('document_updates_project_idx').on(t.projectId, t.id)],
);

/** Compaction snapshots (kind 'compaction') and named versions (kind 'named'). */
export const documentSnapshots = pgTable(
  'document_snapshots',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['compaction', 'named'] }).notNull(),
    name: text('name'),
    /** Y.encodeStateAsUpdate of the whole doc at that point. */
    state: bytea('state').notNull(),
    /** For compaction: every update with id <= this is folded into `state`. */
    uptoUpdateId: bigint('upto_update_id', { mode: 'number' }).notNull().default(0),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
  },
  (t) => [index('document_snapshots_project_idx').on(t.projectId, t.kind)],
);

export * from './schema-review.ts';
export * from './schema-captions.ts';
