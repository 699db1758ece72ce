/**
 * Review and approval: share links per render version, frame-accurate comments (with replies,
 * resolve, drawn annotations), approval decisions, the version stack, and the link from a comment
 * back to the timeline item that produced its frame.
 *
 * Two kinds of reviewer: a project member (COMMENT_ROLES comment, mayApprove decide, VIEW_ROLES read), and a
 * guest holding a share link, who sees and comments on that one render only.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, asc, desc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { planLayers, safeParseAnyRenderSpec, visualLayers, type RenderSpec } from '@clipmaker/shared/render-spec';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { hashPassword, verifyPassword } from '../auth/password.ts';
import { Annotation } from '../../review/annotation.ts';
import { exportComments, type ExportFormat } from '../../review/export.ts';
import { COMMENT_ROLES, MANAGE_ROLES, SHARE_ROLES, VIEW_ROLES, mayApprove, requireProjectRole } from './accounts/index.ts';
import { ServiceError } from './errors.ts';
import { toView } from './renders.ts';
import { audit, listAudit } from './audit.ts';
import { notifyMentions, notifyProjectTeam, projectPeople } from './notifications.ts';
import { verifiedEmail } from './review-verification.ts';
import { viewerProxy, type Viewer } from './review-proxies.ts';
import { isServableProxy } from '../repositories/review-proxies.ts';

const { shareLinks, comments, approvals, renders, projects, users } = schema;

export const APPROVAL_STATES = ['in_review', 'changes_requested', 'approved'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

/** Who is acting: a logged-in member, or a guest on a share link (name given on the page). */
export type Reviewer =
  | { kind: 'user'; userId: string; name: string }
  /** verificationId: the guest's proven email (review-verification.ts), required to decide. */
  | { kind: 'guest'; linkId: string; renderId: string; name: string; verificationId?: string | null };

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
  /** Guests may comment, reply and resolve. Default: yes. */
  allowComment: z.boolean().default(true),
  /** Guests may approve / request changes. Default: no. */
  allowApprove: z.boolean().default(false),
  /** One link for the project's version stack: always opens the latest finished version. */
  followLatest: z.boolean().default(false),
  /** Guests get a copy with their name, email and the time burned in, never the render itself. */
  watermark: z.boolean().default(false),
});

/** What a guest on a link may do (the link's own permissions; members go by the role table). */
export type LinkPermission = 'view' | 'comment' | 'approve';
export function linkPermits(l: { allowComment: boolean; allowApprove: boolean }, need: LinkPermission): boolean {
  return need === 'view' || (need === 'comment' ? l.allowComment : l.allowApprove);
}

async function renderWithRole(ctx: AppContext, userId: string, renderId: string, roles: readonly (typeof VIEW_ROLES)[number][]) {
  const [render] = await ctx.db.db.select().from(renders).where(eq(renders.id, renderId));
  if (!render) throw new ServiceError('not-found', 'render not found');
  const { project, role } = await requireProjectRole(ctx.db.db, userId, render.projectId, roles);
  return { render, project, role };
}

export async function createShareLink(ctx: AppContext, user: { id: string; name: string }, input: z.input<typeof CreateShareLinkInput>) {
  const { render, project } = await renderWithRole(ctx, user.id, input.renderId, SHARE_ROLES);
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
      allowComment: input.allowComment ?? true,
      allowApprove: input.allowApprove ?? false,
      followLatest: input.followLatest ?? false,
      watermark: input.watermark ?? false,
      expiresAt: input.expiresInHours ? new Date(Date.now() + input.expiresInHours * 3600_000) : null,
      createdBy: user.id,
    })
    .returning();
  await audit(ctx.db.db, { orgId: project.orgId, projectId: project.id, actorUserId: user.id, actorName: user.name, action: 'share_link.create', targetType: 'render', targetId: render.id, details: { linkId: link!.id, version: render.version, password: !!input.password, allowDownload: link!.allowDownload, allowComment: link!.allowComment, allowApprove: link!.allowApprove, followLatest: link!.followLatest, watermark: link!.watermark, expiresAt: link!.expiresAt?.toISOString() ?? null } });
  return { ...linkView(link!), token, path: `/review/${token}` };
}

function linkView(l: typeof shareLinks.$inferSelect) {
  return { id: l.id, renderId: l.renderId, hasPassword: l.passwordHash !== null, allowDownload: l.allowDownload, allowComment: l.allowComment, allowApprove: l.allowApprove, followLatest: l.followLatest, watermark: l.watermark, expiresAt: l.expiresAt?.toISOString() ?? null, revokedAt: l.revokedAt?.toISOString() ?? null, expired: !!l.expiresAt && l.expiresAt <= new Date(), createdAt: l.createdAt.toISOString() };
}

/**
 * The Share dialog's data: every link of the project (newest first, each with the version it was
 * made from) and the finished versions a new link can be made from (newest first).
 */
export async function projectShareLinks(ctx: AppContext, userId: string, projectId: string) {
  await requireProjectRole(ctx.db.db, userId, projectId, SHARE_ROLES);
  const [rows, versions] = await Promise.all([
    ctx.db.db.select({ link: shareLinks, version: renders.version }).from(shareLinks).innerJoin(renders, eq(renders.id, shareLinks.renderId)).where(eq(shareLinks.projectId, projectId)).orderBy(desc(shareLinks.createdAt)).limit(200),
    ctx.db.db.select({ id: renders.id, version: renders.version }).from(renders).where(and(eq(renders.projectId, projectId), eq(renders.status, 'succeeded'))).orderBy(desc(renders.version)),
  ]);
  return { links: rows.map((r) => ({ ...linkView(r.link), version: r.version })), versions };
}

/** The links of this version, and the project's stack links (they show every version). */
export async function listShareLinks(ctx: AppContext, userId: string, renderId: string) {
  const { render } = await renderWithRole(ctx, userId, renderId, SHARE_ROLES);
  const rows = await ctx.db.db
    .select()
    .from(shareLinks)
    .where(and(eq(shareLinks.projectId, render.projectId), or(eq(shareLinks.renderId, renderId), eq(shareLinks.followLatest, true))))
    .orderBy(desc(shareLinks.createdAt));
  return rows.map(linkView);
}

export async function revokeShareLink(ctx: AppContext, user: { id: string; name: string }, linkId: string) {
  const [link] = await ctx.db.db.select().from(shareLinks).where(eq(shareLinks.id, linkId));
  if (!link) throw new ServiceError('not-found', 'share link not found');
  const { project } = await renderWithRole(ctx, user.id, link.renderId, SHARE_ROLES);
  await ctx.db.db.update(shareLinks).set({ revokedAt: sql`coalesce(${shareLinks.revokedAt}, now())` }).where(eq(shareLinks.id, linkId));
  await audit(ctx.db.db, { orgId: project.orgId, projectId: project.id, actorUserId: user.id, actorName: user.name, action: 'share_link.revoke', targetType: 'render', targetId: link.renderId, details: { linkId } });
}

function isLive(link: typeof shareLinks.$inferSelect | undefined, now: Date): link is typeof shareLinks.$inferSelect {
  return !!link && !link.revokedAt && !(link.expiresAt && link.expiresAt <= now);
}

/** The link behind a token if it is live; the same not-found for unknown, revoked, expired and a project in the trash. */
export async function findLiveLink(ctx: AppContext, token: string, now = new Date()) {
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(token)) throw new ServiceError('not-found');
  const [row] = await ctx.db.db
    .select({ link: shareLinks, trashedAt: projects.trashedAt })
    .from(shareLinks)
    .innerJoin(projects, eq(projects.id, shareLinks.projectId))
    .where(eq(shareLinks.tokenHash, hashShareToken(token)));
  if (!row || row.trashedAt || !isLive(row.link, now)) throw new ServiceError('not-found');
  return row.link;
}

/**
 * May a media URL minted for share link `linkId` still serve `key`? Only while the link is live, only
 * files of the link's render, and a download only when the link allows it. Checked on every request
 * by /api/files, so revoking a link stops its URLs at once.
 */
export async function linkMayServe(ctx: AppContext, linkId: string, key: string, download: boolean, now = new Date()): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/.test(linkId)) return false;
  const [row] = await ctx.db.db
    .select({ link: shareLinks, outputKey: renders.outputKey, posterKey: renders.posterKey, thumbKey: renders.thumbKey, trashedAt: projects.trashedAt })
    .from(shareLinks)
    .innerJoin(renders, eq(renders.id, shareLinks.renderId))
    .innerJoin(projects, eq(projects.id, shareLinks.projectId))
    .where(eq(shareLinks.id, linkId));
  if (!row || row.trashedAt || !isLive(row.link, now)) return false;
  if (download && !row.link.allowDownload) return false;
  // A watermarked link serves its viewers' finished copies and nothing else (no render, no poster).
  if (row.link.watermark) return isServableProxy(ctx.db.db, linkId, key);
  if (key === row.outputKey || key === row.posterKey || key === row.thumbKey) return true;
  if (!row.link.followLatest) return false;
  // A stack link serves the files of every finished version of its project.
  const [other] = await ctx.db.db
    .select({ id: renders.id })
    .from(renders)
    .where(and(eq(renders.projectId, row.link.projectId), eq(renders.status, 'succeeded'), or(eq(renders.outputKey, key), eq(renders.posterKey, key), eq(renders.thumbKey, key))))
    .limit(1);
  return !!other;
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

/** The finished versions a link opens: its own render, or (stack link) every finished one, newest first. */
async function linkVersions(ctx: AppContext, link: typeof shareLinks.$inferSelect) {
  const where = link.followLatest ? and(eq(renders.projectId, link.projectId), eq(renders.status, 'succeeded')) : eq(renders.id, link.renderId);
  return ctx.db.db.select({ id: renders.id, version: renders.version }).from(renders).where(where).orderBy(desc(renders.version));
}

/**
 * What a guest on the link sees: the link's version, or for a stack link the latest finished version
 * (or `version` when asked) with the list of versions to switch to; and what the link permits.
 */
export async function guestView(ctx: AppContext, linkId: string, version?: number | null, viewer?: Viewer) {
  const [link] = await ctx.db.db.select().from(shareLinks).where(eq(shareLinks.id, linkId));
  if (!link) throw new ServiceError('not-found', 'not found');
  const versions = await linkVersions(ctx, link);
  const chosen = versions.find((v) => v.version === version) ?? versions[0];
  if (!chosen) throw new ServiceError('not-found', 'not found');
  const [row] = await ctx.db.db
    .select({ render: renders, projectName: projects.name, fpsNum: projects.fpsNum, fpsDen: projects.fpsDen })
    .from(renders)
    .innerJoin(projects, eq(projects.id, renders.projectId))
    .where(eq(renders.id, chosen.id));
  if (!row) throw new ServiceError('not-found', 'not found');
  const spec = await loadSpec(ctx, row.render.specKey);
  const v = toView(ctx, row.render, link);
  // Watermarked link: this viewer's copy (made on first open), never the render or its poster.
  const watermark = link.watermark && viewer ? await viewerProxy(ctx, link, row.render, viewer) : null;
  const media = link.watermark ? { videoUrl: watermark?.videoUrl ?? null, posterUrl: null, downloadUrl: watermark?.downloadUrl ?? null } : { videoUrl: v.videoUrl, posterUrl: v.posterUrl, downloadUrl: v.downloadUrl };
  return {
    watermark: watermark ? { status: watermark.status, percent: watermark.percent, error: watermark.error } : null,
    render: { id: v.id, version: v.version, ...media, durationFrames: v.durationFrames, width: spec?.output.width ?? null, height: spec?.output.height ?? null },
    projectName: row.projectName,
    fps: spec ? spec.output.fps : { num: row.fpsNum, den: row.fpsDen },
    versions: versions.map((v) => v.version),
    latest: chosen.id === versions[0]!.id,
    permissions: { comment: link.allowComment, approve: link.allowApprove, download: link.allowDownload },
    approval: await currentApproval(ctx, row.render.id),
    comments: await commentsOf(ctx, row.render.id),
    mentionables: link.allowComment ? await mentionCandidates(ctx, link.projectId, true) : [],
  };
}

/**
 * Who the comment box offers after "@" (the people notifyMentions resolves): members see names and
 * emails; a guest on a link sees names only (a link must not hand out the team's addresses). The
 * caller has checked the reader may see the project.
 */
export async function mentionCandidates(ctx: AppContext, projectId: string, forGuest: boolean): Promise<{ name: string; email: string | null }[]> {
  const people = await projectPeople(ctx.db.db, projectId);
  return people.map((p) => ({ name: p.name, email: forGuest ? null : p.email })).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The player's poll while a watermarked copy is made: this viewer's copy of `renderId`, which the link
 * must open. Null when the link has no watermark.
 */
export async function guestWatermarkState(ctx: AppContext, linkId: string, renderId: string, viewer: Viewer) {
  if (!/^[0-9a-f-]{36}$/.test(renderId)) throw new ServiceError('not-found', 'not found');
  const [link] = await ctx.db.db.select().from(shareLinks).where(eq(shareLinks.id, linkId));
  if (!isLive(link, new Date())) throw new ServiceError('not-found', 'not found');
  if (!link.watermark) return null;
  const versions = await linkVersions(ctx, link);
  if (!versions.some((v) => v.id === renderId)) throw new ServiceError('not-found', 'not found');
  const [render] = await ctx.db.db.select().from(renders).where(eq(renders.id, renderId));
  const s = await viewerProxy(ctx, link, render!, viewer);
  return { status: s.status, percent: s.percent, error: s.error };
}

// ------------------------------------------------------------------ access for a reviewer

/**
 * A guest acts through the link as it is now (re-read every time): only on renders it opens and only
 * what its permissions grant. `write` for a guest means comment; decide() asks for 'approve'.
 */
async function access(ctx: AppContext, who: Reviewer, renderId: string, write: boolean, need: LinkPermission = write ? 'comment' : 'view') {
  if (who.kind === 'guest') {
    const [link] = await ctx.db.db.select().from(shareLinks).where(eq(shareLinks.id, who.linkId));
    if (!isLive(link, new Date())) throw new ServiceError('not-found', 'not found');
    const [render] = await ctx.db.db.select().from(renders).where(eq(renders.id, renderId));
    const opens = !!render && (render.id === link.renderId || (link.followLatest && render.projectId === link.projectId && render.status === 'succeeded'));
    if (!render || !opens) throw new ServiceError('not-found', 'not found');
    if (!linkPermits(link, need)) throw new ServiceError('forbidden', need === 'approve' ? 'this link does not let you approve' : 'this link is view-only');
    const [project] = await ctx.db.db.select().from(projects).where(eq(projects.id, render.projectId));
    return { render, project: project! };
  }
  return renderWithRole(ctx, who.userId, renderId, write ? COMMENT_ROLES : VIEW_ROLES);
}

// ------------------------------------------------------------------ comments

export const AddCommentInput = z.object({
  renderId: z.string().uuid(),
  frame: z.number().int().min(0).max(10_000_000),
  /** Last frame of a range comment (inclusive, >= frame); absent/null for a point comment. */
  frameEnd: z.number().int().min(0).max(10_000_000).nullish(),
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
    frameEnd: c.frameEnd,
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
  let frameEnd = input.frameEnd ?? null;
  if (frameEnd !== null) {
    if (frameEnd < frame) throw new ServiceError('bad-request', 'a range must end at or after its start');
    if (frameEnd >= render.durationFrames) throw new ServiceError('bad-request', 'that range runs past the end of the video');
    if (frameEnd === frame) frameEnd = null;
  }
  if (input.parentId) {
    const [parent] = await ctx.db.db.select().from(comments).where(and(eq(comments.id, input.parentId), eq(comments.renderId, render.id)));
    if (!parent) throw new ServiceError('not-found', 'the comment you reply to is gone');
    if (parent.parentId) throw new ServiceError('bad-request', 'reply to the thread, not to a reply');
    frame = parent.frame;
    frameEnd = null;
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
      frameEnd,
      text: input.text,
      ...item,
      annotation: input.parentId ? null : (input.annotation ?? null),
    })
    .returning();
  const actorUserId = who.kind === 'user' ? who.userId : null;
  await audit(ctx.db.db, { orgId: project.orgId, projectId: project.id, actorUserId, actorName: who.name, action: input.parentId ? 'comment.reply' : 'comment.create', targetType: 'comment', targetId: row!.id, details: { renderId: render.id, version: render.version, frame, frameEnd, guest: who.kind === 'guest' } });
  const frameLabel = `frame ${frameEnd === null ? frame : `${frame}-${frameEnd}`}`;
  const told = await notifyMentions(ctx, { projectId: project.id, renderId: render.id, commentId: row!.id, actorUserId, actorName: who.name, projectName: project.name, version: render.version, frameLabel, text: input.text });
  await notifyProjectTeam(
    ctx,
    project.id,
    actorUserId,
    { kind: 'comment', projectId: project.id, renderId: render.id, commentId: row!.id, text: `${who.name} commented on ${project.name} v${render.version} at ${frameLabel}: ${input.text}` },
    told,
  );
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
  return approvalView(a);
}

function approvalView(a: { state: ApprovalState; byName: string; byEmail: string | null; at: Date } | undefined) {
  return a ? { state: a.state, byName: a.byName, byEmail: a.byEmail, at: a.at.toISOString() } : { state: 'in_review' as const, byName: null, byEmail: null, at: null };
}

const SELF_APPROVAL_REFUSED = 'You made this render, so someone else has to approve it.';

export async function decide(ctx: AppContext, who: Reviewer, renderId: string, state: ApprovalState) {
  const found = await access(ctx, who, renderId, true, who.kind === 'guest' ? 'approve' : 'comment');
  const { render, project } = found;
  // The role table's approve rule: an editor never judges a render they made themselves, unless
  // the project's setting allows it.
  if (state === 'approved' && who.kind === 'user' && 'role' in found && !mayApprove(found.role, who.userId, render.createdBy, project.allowSelfApproval)) {
    throw new ServiceError('forbidden', SELF_APPROVAL_REFUSED);
  }
  // A guest decides under an email proven by a one-time code; the render's own editor cannot slip
  // through a guest link with their address either.
  let byEmail: string | null = null;
  if (who.kind === 'guest') {
    byEmail = await verifiedEmail(ctx, who.linkId, who.verificationId);
    if (!byEmail) throw new ServiceError('forbidden', 'Verify your email address first: we mail you a code.');
    if (state === 'approved' && !project.allowSelfApproval && render.createdBy) {
      const [creator] = await ctx.db.db.select({ email: users.email }).from(users).where(eq(users.id, render.createdBy));
      if (creator && creator.email.toLowerCase() === byEmail) throw new ServiceError('forbidden', SELF_APPROVAL_REFUSED);
    }
  }
  if (render.status !== 'succeeded') throw new ServiceError('precondition-failed', 'only a finished render can be reviewed');
  const actorUserId = who.kind === 'user' ? who.userId : null;
  const [row] = await ctx.db.db
    .insert(approvals)
    .values({ renderId, state, byUserId: actorUserId, byName: who.name, byEmail, shareLinkId: who.kind === 'guest' ? who.linkId : null })
    .returning();
  await audit(ctx.db.db, { orgId: project.orgId, projectId: project.id, actorUserId, actorName: who.name, action: `approval.${state}`, targetType: 'render', targetId: renderId, details: { version: render.version, email: byEmail, linkId: who.kind === 'guest' ? who.linkId : null } });
  const label = { in_review: 'put back in review', changes_requested: 'requested changes on', approved: 'approved' }[state];
  await notifyProjectTeam(ctx, project.id, actorUserId, { kind: 'decision', projectId: project.id, renderId, text: `${who.name} ${label} ${project.name} v${render.version}` });
  return approvalView(row);
}

/** The project's approve-own-work setting (owners change it; every member sees it). */
export async function setSelfApproval(ctx: AppContext, user: { id: string; name: string }, projectId: string, allow: boolean) {
  const { project } = await requireProjectRole(ctx.db.db, user.id, projectId, MANAGE_ROLES);
  await ctx.db.db.update(projects).set({ allowSelfApproval: allow }).where(eq(projects.id, projectId));
  await audit(ctx.db.db, { orgId: project.orgId, projectId, actorUserId: user.id, actorName: user.name, action: 'project.self_approval', targetType: 'project', targetId: projectId, details: { allow } });
  return { allowSelfApproval: allow };
}

/** The version stack: every render of the project, newest first, with its approval state and comment counts. */
export async function listVersionStack(ctx: AppContext, userId: string, projectId: string) {
  const { project, role } = await requireProjectRole(ctx.db.db, userId, projectId, VIEW_ROLES);
  const rows = await ctx.db.db.select().from(renders).where(eq(renders.projectId, projectId)).orderBy(desc(renders.version));
  const ids = rows.map((r) => r.id);
  const latest = ids.length
    ? await ctx.db.db
        .selectDistinctOn([approvals.renderId], { renderId: approvals.renderId, state: approvals.state, byName: approvals.byName, byEmail: approvals.byEmail, at: approvals.at })
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
    project: { id: project.id, name: project.name, fps: { num: project.fpsNum, den: project.fpsDen }, allowSelfApproval: project.allowSelfApproval },
    role,
    versions: rows.map((r) => {
      const a = approvalBy.get(r.id);
      const c = countBy.get(r.id);
      return {
        ...toView(ctx, r),
        approval: approvalView(a),
        openComments: Number(c?.open ?? 0),
        comments: Number(c?.total ?? 0),
      };
    }),
  };
}

export async function projectAudit(ctx: AppContext, userId: string, projectId: string) {
  await requireProjectRole(ctx.db.db, userId, projectId, SHARE_ROLES);
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

/** The render's comments as CSV, Resolve marker EDL or FCPXML, for anyone who may read them. */
export async function exportReview(ctx: AppContext, who: Reviewer, renderId: string, format: ExportFormat) {
  const { render, project } = await access(ctx, who, renderId, false);
  const spec = await loadSpec(ctx, render.specKey);
  const meta = {
    title: project.name,
    version: render.version,
    fps: spec ? spec.output.fps : { num: project.fpsNum, den: project.fpsDen },
    durationFrames: render.durationFrames,
    width: spec?.output.width ?? 1920,
    height: spec?.output.height ?? 1080,
  };
  const out = exportComments(format, await commentsOf(ctx, render.id), meta);
  const base = `${project.name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'review'}-v${render.version}-comments`;
  return { ...out, filename: `${base}.${out.ext}` };
}
