/**
 * Review and approval: share links per render version, frame-accurate comments (with replies,
 * resolve, drawn annotations), approval decisions, the version stack, and the link from a comment
 * back to the timeline item that produced its frame.
 *
 * Two kinds of reviewer: a project member (REVIEW_ROLES comment/decide, VIEW_ROLES read), and a
 * guest holding a share link, who sees and comments on that one render only.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { planLayers, safeParseAnyRenderSpec, visualLayers, type RenderSpec } from '@clipmaker/shared/render-spec';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { hashPassword, verifyPassword } from '../auth/password.ts';
import { Annotation } from '../../review/annotation.ts';
import { EDIT_ROLES, REVIEW_ROLES, VIEW_ROLES, requireProjectRole } from './accounts/index.ts';
import { ServiceError } from './errors.ts';
import { toView } from './renders.ts';
import { audit, listAudit } from './audit.ts';
import { notifyProjectTeam } from './notifications.ts';

const { shareLinks, comments, approvals, renders, projects } = schema;

export const APPROVAL_STATES = ['in_review', 'changes_requested', 'approved'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

/** Who is acting: a logged-in member, or a guest on a share link (name given on the page). */
export type Reviewer = { kind: 'user'; userId: string; name: string } | { kind: 'guest'; linkId: string; renderId: string; name: string };

export const GuestName = z.string().trim().min(1, 'Tell us your name').max(80);

// ------------------------------------------------------------------ share links

export function hashShareToken(token: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(token).digest());
}

export const CreateShareLinkInput = z.object({
  renderId: z.string().uuid(),
  password: z.string().min(4).max(256).optional(),
  /** null/absent: never expires. */
  expiresInHours: z.number().int().min(1).max(24 * 365).nullish(),
  /** Guests may download the render file, not only stream it. Default: no. */
  allowDownload: z.boolean().default(false),
});

async function renderWithRole(ctx: AppContext, userId: string, renderId: string, roles: readonly (typeof VIEW_ROLES)[number][]) {
  const [render] = await ctx.db.db.select().from(renders).where(eq(renders.id, renderId));
  if (!render) throw new ServiceError('not-found', 'render not found');
  const { project, role } = await requireProjectRole(ctx.db.db, userId, render.projectId, roles);
  return { render, project, role };
}

export async function createShareLink(ctx: AppContext, user: { id: string; name: string }, input: z.input<typeof CreateShareLinkInput>) {
  const { render, project } = await renderWithRole(ctx, user.id, input.renderId, EDIT_ROLES);
  if (render.status !== 'succeeded') throw new ServiceError('precondition-failed', 'only a finished render can be shared');
  const token = randomBytes(24).toString('base64url');
  const [link] = await ctx.db.db
    .insert(shareLinks)
    .values({
      renderId: render.id,
      projectId: render.projectId,
      tokenHash: hashShareToken(token),
      passwordHash: input.password ? await hashPassword(input.password) : null,
      allowDownload: input.allowDownload ?? false,
      expiresAt: input.expiresInHours ? new Date(Date.now() + input.expiresInHours * 3600_000) : null,
      createdBy: user.id,
    })
    .returning();
  await audit(ctx.db.db, { orgId: project.orgId, projectId: project.id, actorUserId: user.id, actorName: user.name, action: 'share_link.create', targetType: 'render', targetId: render.id, details: { linkId: link!.id, version: render.version, password: !!input.password, allowDownload: link!.allowDownload, expiresAt: link!.expiresAt?.toISOString() ?? null } });
  return { ...linkView(link!), token, path: `/review/${token}` };
}

function linkView(l: typeof shareLinks.$inferSelect) {
  return { id: l.id, renderId: l.renderId, hasPassword: l.passwordHash !== null, allowDownload: l.allowDownload, expiresAt: l.expiresAt?.toISOString() ?? null, revokedAt: l.revokedAt?.toISOString() ?? null, createdAt: l.createdAt.toISOString() };
}

export async function listShareLinks(ctx: AppContext, userId: string, renderId: string) {
  await renderWithRole(ctx, userId, renderId, EDIT_ROLES);
  const rows = await ctx.db.db.select().from(shareLinks).where(eq(shareLinks.renderId, renderId)).orderBy(desc(shareLinks.createdAt));
  return rows.map(linkView);
}

export async function revokeShareLink(ctx: AppContext, user: { id: string; name: string }, linkId: string) {
  const [link] = await ctx.db.db.select().from(shareLinks).where(eq(shareLinks.id, linkId));
  if (!link) throw new ServiceError('not-found', 'share link not found');
  const { project } = await renderWithRole(ctx, user.id, link.renderId, EDIT_ROLES);
  await ctx.db.db.update(shareLinks).set({ revokedAt: sql`coalesce(${shareLinks.revokedAt}, now())` }).where(eq(shareLinks.id, linkId));
  await audit(ctx.db.db, { orgId: project.orgId, projectId: project.id, actorUserId: user.id, actorName: user.name, action: 'share_link.revoke', targetType: 'render', targetId: link.renderId, details: { linkId } });
}

function isLive(link: typeof shareLinks.$inferSelect | undefined, now: Date): link is typeof shareLinks.$inferSelect {
  return !!link && !link.revokedAt && !(link.expiresAt && link.expiresAt <= now);
}

/** The link behind a token if it is live; the same not-found for unknown, revoked and expired. */
export async function findLiveLink(ctx: AppContext, token: string, now = new Date()) {
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(token)) throw new ServiceError('not-found');
  const [link] = await ctx.db.db.select().from(shareLinks).where(eq(shareLinks.tokenHash, hashShareToken(token)));
  if (!isLive(link, now)) throw new ServiceError('not-found');
  return link;
}

/**
 * May a media URL minted for share link `linkId` still serve `key`? Only while the link is live, only
 * files of the link's render, and a download only when the link allows it. Checked on every request
 * by /api/files, so revoking a link stops its URLs at once.
 */
export async function linkMayServe(ctx: AppContext, linkId: string, key: string, download: boolean, now = new Date()): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/.test(linkId)) return false;
  const [row] = await ctx.db.db
    .select({ link: shareLinks, outputKey: renders.outputKey, posterKey: renders.posterKey, thumbKey: renders.thumbKey })
    .from(shareLinks)
    .innerJoin(renders, eq(renders.id, shareLinks.renderId))
    .where(eq(shareLinks.id, linkId));
  if (!row || !isLive(row.link, now)) return false;
  if (download && !row.link.allowDownload) return false;
  return key === row.outputKey || key === row.posterKey || key === row.thumbKey;
}

export async function checkLinkPassword(link: { passwordHash: string | null }, password: string): Promise<boolean> {
  return link.passwordHash === null || (await verifyPassword(link.passwordHash, password));
}

/** A cookie value proving the password of this link was given (HMAC, so it cannot be forged). */
export function linkPass(secret: string, linkId: string): string {
  return createHmac('sha256', secret).update(`share-pass:${linkId}`).digest('base64url');
}
export function checkLinkPass(secret: string, linkId: string, value: string | undefined): boolean {
  if (!value) return false;
  const a = Buffer.from(linkPass(secret, linkId));
  const b = Buffer.from(value);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What a guest on the link sees: that version only. */
export async function guestView(ctx: AppContext, linkId: string) {
  const [link] = await ctx.db.db.select().from(shareLinks).where(eq(shareLinks.id, linkId));
  if (!link) throw new ServiceError('not-found', 'not found');
  const [row] = await ctx.db.db
    .select({ render: renders, projectName: projects.name, fpsNum: projects.fpsNum, fpsDen: projects.fpsDen })
    .from(renders)
    .innerJoin(projects, eq(projects.id, renders.projectId))
    .where(eq(renders.id, link.renderId));
  if (!row) throw new ServiceError('not-found', 'not found');
  const spec = await loadSpec(ctx, row.render.specKey);
  const v = toView(ctx, row.render, link);
  return {
    render: { id: v.id, version: v.version, videoUrl: v.videoUrl, posterUrl: v.posterUrl, downloadUrl: v.downloadUrl, durationFrames: v.durationFrames, width: spec?.output.width ?? null, height: spec?.output.height ?? null },
    projectName: row.projectName,
    fps: spec ? spec.output.fps : { num: row.fpsNum, den: row.fpsDen },
    approval: await currentApproval(ctx, link.renderId),
    comments: await commentsOf(ctx, link.renderId),
  };
}

// ------------------------------------------------------------------ access for a reviewer

async function access(ctx: AppContext, who: Reviewer, renderId: string, write: boolean) {
  if (who.kind === 'guest') {
    if (who.renderId !== renderId) throw new ServiceError('not-found', 'not found');
    const [render] = await ctx.db.db.select().from(renders).where(eq(renders.id, renderId));
    if (!render) throw new ServiceError('not-found', 'not found');
    const [project] = await ctx.db.db.select().from(projects).where(eq(projects.id, render.projectId));
    return { render, project: project! };
  }
  return renderWithRole(ctx, who.userId, renderId, write ? REVIEW_ROLES : VIEW_ROLES);
}

// ------------------------------------------------------------------ comments

export const AddCommentInput = z.object({
  renderId: z.string().uuid(),
  frame: z.number().int().min(0).max(10_000_000),
  text: z.string().trim().min(1).max(5000),
  parentId: z.string().uuid().nullish(),
  annotation: Annotation.nullish(),
});

const specCache = new Map<string, RenderSpec | null>();
async function loadSpec(ctx: AppContext, key: string): Promise<RenderSpec | null> {
  if (specCache.has(key)) return specCache.get(key)!;
  let spec: RenderSpec | null = null;
  try {
    const parsed = safeParseAnyRenderSpec(JSON.parse((await ctx.storage.getBytes(key)).toString('utf8')));
    spec = parsed.success ? (parsed.data as RenderSpec) : null;
  } catch {
    spec = null;
  }
  if (specCache.size > 200) specCache.clear();
  specCache.set(key, spec); // frozen: a render's spec never changes
  return spec;
}

/**
 * The clip (the topmost picture) and the subtitle cue on screen at `frame` in this render's frozen
 * spec, and the offset of the frame inside the clip (or the cue when no clip covers it), so the
 * editor can find the item by id in today's document however it was moved or trimmed since.
 */
export function itemAtFrame(spec: RenderSpec, frame: number): { clipId: string | null; cueId: string | null; itemOffset: number | null } {
  const clip = visualLayers(spec, planLayers(spec))
    .reverse()
    .find((l) => frame >= l.clip.start && frame < l.clip.start + l.length)?.clip;
  const cue = spec.subtitles.cues.find((c) => frame >= c.start && frame < c.end);
  return { clipId: clip?.id ?? null, cueId: cue?.id ?? null, itemOffset: clip ? frame - clip.start : cue ? frame - cue.start : null };
}

export async function commentsOf(ctx: AppContext, renderId: string) {
  const rows = await ctx.db.db.select().from(comments).where(eq(comments.renderId, renderId)).orderBy(asc(comments.frame), asc(comments.createdAt));
  return rows.map(commentView);
}

function commentView(c: typeof comments.$inferSelect) {
  const parsed = c.annotation ? Annotation.safeParse(c.annotation) : null;
  return {
    id: c.id,
    renderId: c.renderId,
    parentId: c.parentId,
    authorName: c.authorName,
    guest: c.authorUserId === null,
    frame: c.frame,
    text: c.text,
    clipId: c.clipId,
    cueId: c.cueId,
    itemOffset: c.itemOffset,
    annotation: parsed?.success ? parsed.data : null,
    resolved: c.resolvedAt !== null,
    resolvedBy: c.resolvedBy,
    resolvedAt: c.resolvedAt?.toISOString() ?? null,
    createdAt: c.createdAt.toISOString(),
  };
}
export type CommentView = ReturnType<typeof commentView>;

export async function listComments(ctx: AppContext, who: Reviewer, renderId: string) {
  await access(ctx, who, renderId, false);
  return commentsOf(ctx, renderId);
}

export async function addComment(ctx: AppContext, who: Reviewer, input: z.infer<typeof AddCommentInput>) {
  const { render, project } = await access(ctx, who, input.renderId, true);
  if (input.frame >= render.durationFrames) throw new ServiceError('bad-request', 'that frame is past the end of the video');
  let frame = input.frame;
  if (input.parentId) {
    const [parent] = await ctx.db.db.select().from(comments).where(and(eq(comments.id, input.parentId), eq(comments.renderId, render.id)));
    if (!parent) throw new ServiceError('not-found', 'the comment you reply to is gone');
    if (parent.parentId) throw new ServiceError('bad-request', 'reply to the thread, not to a reply');
    frame = parent.frame;
  }
  const spec = await loadSpec(ctx, render.specKey);
  const item = spec ? itemAtFrame(spec, frame) : { clipId: null, cueId: null, itemOffset: null };
  const [row] = await ctx.db.db
    .insert(comments)
    .values({
      renderId: render.id,
      projectId: render.projectId,
      parentId: input.parentId ?? null,
      authorUserId: who.kind === 'user' ? who.userId : null,
      authorName: who.name,
      shareLinkId: who.kind === 'guest' ? who.linkId : null,
      frame,
      text: input.text,
      ...item,
      annotation: input.parentId ? null : (input.annotation ?? null),
    })
    .returning();
  const actorUserId = who.kind === 'user' ? who.userId : null;
  await audit(ctx.db.db, { orgId: project.orgId, projectId: project.id, actorUserId, actorName: who.name, action: input.parentId ? 'comment.reply' : 'comment.create', targetType: 'comment', targetId: row!.id, details: { renderId: render.id, version: render.version, frame, guest: who.kind === 'guest' } });
  await notifyProjectTeam(ctx.db.db, project.id, actorUserId, {
    kind: 'comment',
    projectId: project.id,
    renderId: render.id,
    commentId: row!.id,
    text: `${who.name} commented on ${project.name} v${render.version} at frame ${frame}: ${input.text}`,
  });
  return commentView(row!);
}

export async function setResolved(ctx: AppContext, who: Reviewer, commentId: string, resolved: boolean) {
  const [c] = await ctx.db.db.select().from(comments).where(eq(comments.id, commentId));
  if (!c) throw new ServiceError('not-found', 'comment not found');
  const { project } = await access(ctx, who, c.renderId, true);
  const [row] = await ctx.db.db
    .update(comments)
    .set(resolved ? { resolvedAt: new Date(), resolvedBy: who.name } : { resolvedAt: null, resolvedBy: null })
    .where(eq(comments.id, commentId))
    .returning();
  await audit(ctx.db.db, { orgId: project.orgId, projectId: project.id, actorUserId: who.kind === 'user' ? who.userId : null, actorName: who.name, action: resolved ? 'comment.resolve' : 'comment.unresolve', targetType: 'comment', targetId: commentId });
  return commentView(row!);
}

// ------------------------------------------------------------------ approvals and versions

async function currentApproval(ctx: AppContext, renderId: string) {
  const [a] = await ctx.db.db.select().from(approvals).where(eq(approvals.renderId, renderId)).orderBy(desc(approvals.at), desc(approvals.id)).limit(1);
  return a ? { state: a.state, byName: a.byName, at: a.at.toISOString() } : { state: 'in_review' as const, byName: null, at: null };
}

export async function decide(ctx: AppContext, who: Reviewer, renderId: string, state: ApprovalState) {
  const { render, project } = await access(ctx, who, renderId, true);
  if (render.status !== 'succeeded') throw new ServiceError('precondition-failed', 'only a finished render can be reviewed');
  const actorUserId = who.kind === 'user' ? who.userId : null;
  const [row] = await ctx.db.db.insert(approvals).values({ renderId, state, byUserId: actorUserId, byName: who.name }).returning();
  await audit(ctx.db.db, { orgId: project.orgId, projectId: project.id, actorUserId, actorName: who.name, action: `approval.${state}`, targetType: 'render', targetId: renderId, details: { version: render.version } });
  const label = { in_review: 'put back in review', changes_requested: 'requested changes on', approved: 'approved' }[state];
  await notifyProjectTeam(ctx.db.db, project.id, actorUserId, { kind: 'decision', projectId: project.id, renderId, text: `${who.name} ${label} ${project.name} v${render.version}` });
  return { state: row!.state, byName: row!.byName, at: row!.at.toISOString() };
}

/** The version stack: every render of the project, newest first, with its approval state and comment counts. */
export async function listVersionStack(ctx: AppContext, userId: string, projectId: string) {
  const { project, role } = await requireProjectRole(ctx.db.db, userId, projectId, VIEW_ROLES);
  const rows = await ctx.db.db.select().from(renders).where(eq(renders.projectId, projectId)).orderBy(desc(renders.version));
  const ids = rows.map((r) => r.id);
  const latest = ids.length
    ? await ctx.db.db
        .selectDistinctOn([approvals.renderId], { renderId: approvals.renderId, state: approvals.state, byName: approvals.byName, at: approvals.at })
        .from(approvals)
        .where(inArray(approvals.renderId, ids))
        .orderBy(approvals.renderId, desc(approvals.at), desc(approvals.id))
    : [];
  const counts = ids.length
    ? await ctx.db.db
        .select({ renderId: comments.renderId, open: sql<number>`count(*) filter (where ${comments.resolvedAt} is null and ${comments.parentId} is null)`, total: sql<number>`count(*)` })
        .from(comments)
        .where(inArray(comments.renderId, ids))
        .groupBy(comments.renderId)
    : [];
  const approvalBy = new Map(latest.map((a) => [a.renderId, a]));
  const countBy = new Map(counts.map((c) => [c.renderId, c]));
  return {
    project: { id: project.id, name: project.name, fps: { num: project.fpsNum, den: project.fpsDen } },
    role,
    versions: rows.map((r) => {
      const a = approvalBy.get(r.id);
      const c = countBy.get(r.id);
      return {
        ...toView(ctx, r),
        approval: a ? { state: a.state, byName: a.byName, at: a.at.toISOString() } : { state: 'in_review' as const, byName: null, at: null },
        openComments: Number(c?.open ?? 0),
        comments: Number(c?.total ?? 0),
      };
    }),
  };
}

export async function projectAudit(ctx: AppContext, userId: string, projectId: string) {
  await requireProjectRole(ctx.db.db, userId, projectId, EDIT_ROLES);
  return listAudit(ctx.db.db, projectId);
}

/** Where the editor should land for a comment: the item id (found by id in today's doc) and offset. */
export async function commentTarget(ctx: AppContext, userId: string, commentId: string) {
  const [c] = await ctx.db.db.select().from(comments).where(eq(comments.id, commentId));
  if (!c) throw new ServiceError('not-found', 'comment not found');
  await requireProjectRole(ctx.db.db, userId, c.projectId, VIEW_ROLES);
  return { projectId: c.projectId, renderId: c.renderId, frame: c.frame, clipId: c.clipId, cueId: c.cueId, itemOffset: c.itemOffset };
}

/** Unresolved top-level comments for the editor's side panel. */
export async function openCommentsForProject(ctx: AppContext, userId: string, projectId: string) {
  await requireProjectRole(ctx.db.db, userId, projectId, VIEW_ROLES);
  const rows = await ctx.db.db
    .select()
    .from(comments)
    .where(and(eq(comments.projectId, projectId), isNull(comments.resolvedAt), isNull(comments.parentId)))
    .orderBy(desc(comments.createdAt))
    .limit(200);
  return rows.map(commentView);
}
