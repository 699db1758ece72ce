/**
 * The one database schema. Migrations under ./migrations are generated from it by drizzle-kit
 * (`pnpm db:generate`) and committed.
 */
import {
  bigserial,
  bigint,
  boolean,
  customType,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

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
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

export const orgs = pgTable('orgs', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  /** Render minutes the org may still spend; debited on submit, refunded on failure/cancel. */
  renderMinutesQuota: integer('render_minutes_quota').notNull().default(600),
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
  email: text('email').notNull(),
  role: roleEnum('role').notNull(),
  tokenHash: bytea('token_hash').notNull(),
  invitedBy: uuid('invited_by').references(() => users.id, { onDelete: 'set null' }),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  acceptedAt: timestamp('accepted_at', { withTimezone: true }),
  createdAt: createdAt(),
});

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
  },
  (t) => [index('projects_org_idx').on(t.orgId)],
);

export const assetKindEnum = pgEnum('asset_kind', ['video', 'audio', 'image']);

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
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [index('assets_project_idx').on(t.projectId)],
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
    /** Minutes debited from the org quota at submit (refunded on failure/cancel). */
    chargedMinutes: integer('charged_minutes').notNull().default(0),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('renders_project_idx').on(t.projectId), uniqueIndex('renders_project_version_uq').on(t.projectId, t.version)],
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
