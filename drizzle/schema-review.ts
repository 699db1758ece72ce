/**
 * Review and approval (issue 6): share links per render version, frame-accurate comments with
 * annotations, approval decisions, the audit log and in-app notifications.
 */
import { bigserial, boolean, customType, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
// Tables are only referenced lazily (inside .references callbacks): schema.ts re-exports this file,
// so nothing from it may be used while this module is evaluated.
import { projects, renders, users } from './schema.ts';

/** Same column type as schema.ts's bytea (defined here too because of the circular import). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array | Buffer }>({
  dataType: () => 'bytea',
  toDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
  fromDriver: (v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength),
});

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

/** A link that lets anyone holding its token see ONE render version (or the whole stack), with its own permissions. */
export const shareLinks = pgTable(
  'share_links',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    renderId: uuid('render_id')
      .notNull()
      .references(() => renders.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    /** sha256 of the random token; the token itself is shown once, to its creator. */
    tokenHash: bytea('token_hash').notNull().unique(),
    /** argon2id PHC string when the link has a password. */
    passwordHash: text('password_hash'),
    /** Guests may download the render file (an attachment URL); otherwise they can only stream it. */
    allowDownload: boolean('allow_download').notNull().default(false),
    /** Guests may comment, reply and resolve; otherwise they only watch. */
    allowComment: boolean('allow_comment').notNull().default(true),
    /** Guests may approve or request changes. Off unless the creator grants it. */
    allowApprove: boolean('allow_approve').notNull().default(false),
    /**
     * The link is for the project's version stack: it opens the latest finished version and lets the
     * guest switch between all of them (render_id is the version it was created from).
     */
    followLatest: boolean('follow_latest').notNull().default(false),
    /**
     * Guests never get the render itself: each viewer (verified email, else the name they gave) plays
     * and downloads a copy with their name, email and the time burned in by the farm (review_proxies).
     */
    watermark: boolean('watermark').notNull().default(false),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [index('share_links_render_idx').on(t.renderId)],
);

/**
 * A watermarked copy of one render for one viewer of one share link, made by the farm's review-proxy
 * job on the viewer's first open and served on that link instead of the render.
 */
export const reviewProxies = pgTable(
  'review_proxies',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    shareLinkId: uuid('share_link_id')
      .notNull()
      .references(() => shareLinks.id, { onDelete: 'cascade' }),
    renderId: uuid('render_id')
      .notNull()
      .references(() => renders.id, { onDelete: 'cascade' }),
    /** `email:<lower-cased email>` or `name:<name>`: one copy per viewer identity. */
    viewerKey: text('viewer_key').notNull(),
    /** What is burned in (name, email), kept for the team's audit of who got which copy. */
    viewerName: text('viewer_name').notNull(),
    viewerEmail: text('viewer_email'),
    status: text('status', { enum: ['queued', 'rendering', 'succeeded', 'failed'] }).notNull().default('queued'),
    percent: integer('percent').notNull().default(0),
    outputKey: text('output_key').notNull(),
    error: text('error'),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('review_proxies_viewer_idx').on(t.shareLinkId, t.renderId, t.viewerKey)],
);

/**
 * A comment at a frame of one render. clipId/cueId + itemOffset tie it to the timeline item that
 * produced that frame (from that render's frozen spec), so the editor finds the item wherever it moved.
 */
export const comments = pgTable(
  'comments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    renderId: uuid('render_id')
      .notNull()
      .references(() => renders.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    parentId: uuid('parent_id'),
    authorUserId: uuid('author_user_id').references(() => users.id, { onDelete: 'set null' }),
    /** Display name: the user's name, or the name a guest gave on the share page. */
    authorName: text('author_name').notNull(),
    shareLinkId: uuid('share_link_id').references(() => shareLinks.id, { onDelete: 'set null' }),
    frame: integer('frame').notNull(),
    /** A range comment covers [frame, frameEnd] (inclusive, set with I/O); null for a point comment. */
    frameEnd: integer('frame_end'),
    text: text('text').notNull(),
    clipId: text('clip_id'),
    cueId: text('cue_id'),
    /** Frames from the item's first timeline frame to the comment's frame. */
    itemOffset: integer('item_offset'),
    /** zod-validated shapes in normalized (0..1) frame coordinates. */
    annotation: jsonb('annotation'),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    resolvedBy: text('resolved_by'),
    createdAt: createdAt(),
  },
  (t) => [index('comments_render_idx').on(t.renderId, t.frame), index('comments_project_idx').on(t.projectId)],
);

/** Every approval decision; the latest per render is its state. */
export const approvals = pgTable(
  'approvals',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    renderId: uuid('render_id')
      .notNull()
      .references(() => renders.id, { onDelete: 'cascade' }),
    state: text('state', { enum: ['in_review', 'changes_requested', 'approved'] }).notNull(),
    byUserId: uuid('by_user_id').references(() => users.id, { onDelete: 'set null' }),
    byName: text('by_name').notNull(),
    /** A guest's email, verified by a one-time code before the decision (null for members). */
    byEmail: text('by_email'),
    /** The share link a guest decided through (null for members). */
    shareLinkId: uuid('share_link_id').references(() => shareLinks.id, { onDelete: 'set null' }),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('approvals_render_idx').on(t.renderId, t.at)],
);

/**
 * A guest on a share link proving an email address before approving: a 6-digit one-time code mailed
 * to it, stored only as an HMAC, valid for a few minutes and a few tries. verifiedAt set = proven.
 */
export const reviewVerifications = pgTable(
  'review_verifications',
  {
    id: uuid('id').primaryKey(),
    shareLinkId: uuid('share_link_id')
      .notNull()
      .references(() => shareLinks.id, { onDelete: 'cascade' }),
    /** Lower-cased. */
    email: text('email').notNull(),
    /** HMAC-SHA256(SIGNING_SECRET, id:code). */
    codeHash: bytea('code_hash').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** Wrong codes tried so far; at the limit the code is dead. */
    attempts: integer('attempts').notNull().default(0),
    verifiedAt: timestamp('verified_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('review_verifications_link_idx').on(t.shareLinkId, t.email)],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: uuid('org_id'),
    projectId: uuid('project_id'),
    actorUserId: uuid('actor_user_id'),
    actorName: text('actor_name').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    details: jsonb('details'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('audit_log_project_idx').on(t.projectId, t.id), index('audit_log_target_idx').on(t.targetType, t.targetId)],
);

export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['comment', 'decision', 'mention'] }).notNull(),
    projectId: uuid('project_id').references(() => projects.id, { onDelete: 'cascade' }),
    renderId: uuid('render_id').references(() => renders.id, { onDelete: 'cascade' }),
    commentId: uuid('comment_id'),
    text: text('text').notNull(),
    readAt: timestamp('read_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('notifications_user_idx').on(t.userId, t.createdAt)],
);
