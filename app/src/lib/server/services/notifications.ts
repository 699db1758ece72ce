/**
 * In-app notifications (new comments, approval decisions, @mentions): a list and an unread count per
 * user; mentions, approval decisions and guests' comments are mailed as well.
 */
import { and, count, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { schema, type Db } from '@clipmaker/db';
import { mentionedIn, type Mentionable } from '../../review/mentions.ts';
import type { AppContext } from '../context.ts';
import { publicOrigin, sendMail, type Mail } from './mail.ts';
import { logger } from '../logger.ts';
import { preparedPerHandle } from '../repositories/accounts.ts';

const { notifications, memberships, projects, projectMembers, users } = schema;

export interface NewNotification {
  kind: 'comment' | 'decision' | 'mention';
  projectId: string;
  renderId: string;
  commentId?: string | null;
  text: string;
}

/** Where a notice points: the version on the versions page, at the comment when there is one. */
function versionsUrl(ctx: Pick<AppContext, 'config'>, n: { projectId: string; renderId: string; commentId?: string | null }): string {
  return `${publicOrigin(ctx)}/projects/${n.projectId}/versions?render=${n.renderId}${n.commentId ? `&comment=${n.commentId}` : ''}`;
}

/** Sends in the background: a slow or failing SMTP server never holds (or fails) the action. */
function mailInBackground(ctx: Pick<AppContext, 'config'>, mails: Mail[], what: string): void {
  void Promise.all(mails.map((m) => sendMail(ctx, m))).catch((err: unknown) => logger.warn({ err }, `${what} mail failed`));
}

/**
 * Notifies the project's owners and editors, except the actor (and `except`, e.g. those a mention
 * already told). Review news also goes by mail (in the background, like mentions): every approval
 * decision, and comments from guests (a client's feedback arriving through a review link); the
 * team's own comments stay in-app, so a busy thread does not flood inboxes.
 */
export async function notifyProjectTeam(ctx: Pick<AppContext, 'db' | 'config'>, projectId: string, actorUserId: string | null, n: NewNotification, except: readonly string[] = []): Promise<number> {
  const team = await ctx.db.db
    .select({ userId: memberships.userId, email: users.email })
    .from(memberships)
    .innerJoin(projects, eq(projects.orgId, memberships.orgId))
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(projects.id, projectId), inArray(memberships.role, ['owner', 'editor'])));
  const to = team.filter((t) => t.userId !== actorUserId && !except.includes(t.userId));
  if (to.length === 0) return 0;
  await ctx.db.db.insert(notifications).values(to.map((t) => ({ userId: t.userId, kind: n.kind, projectId: n.projectId, renderId: n.renderId, commentId: n.commentId ?? null, text: n.text.slice(0, 500) })));
  if (n.kind === 'decision' || (n.kind === 'comment' && actorUserId === null)) {
    const link = { url: versionsUrl(ctx, n), label: n.commentId ? 'Open the comment' : 'Open the version' };
    const subject = n.text.length > 120 ? `${n.text.slice(0, 117)}...` : n.text;
    mailInBackground(ctx, to.map((t) => ({ to: t.email, subject, text: n.text, link })), 'review notification');
  }
  return to.length;
}

/** Everyone who may open the project: members of its org and people with a project override. */
export async function projectPeople(db: Db, projectId: string): Promise<Mentionable[]> {
  const [viaOrg, viaProject] = await Promise.all([
    db
      .select({ id: users.id, name: users.name, email: users.email })
      .from(memberships)
      .innerJoin(projects, eq(projects.orgId, memberships.orgId))
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(projects.id, projectId)),
    db.select({ id: users.id, name: users.name, email: users.email }).from(projectMembers).innerJoin(users, eq(users.id, projectMembers.userId)).where(eq(projectMembers.projectId, projectId)),
  ]);
  return [...new Map([...viaOrg, ...viaProject].map((p) => [p.id, p])).values()];
}

/**
 * Tells every member @mentioned in a comment: in-app, and by mail (sent in the background: a slow
 * SMTP server never holds the comment). Returns the ids told, so the team notice can skip them.
 */
export async function notifyMentions(
  ctx: Pick<AppContext, 'db' | 'config'>,
  args: { projectId: string; renderId: string; commentId: string; actorUserId: string | null; actorName: string; projectName: string; version: number; frameLabel: string; text: string },
): Promise<string[]> {
  const mentioned = mentionedIn(args.text, await projectPeople(ctx.db.db, args.projectId)).filter((m) => m.id !== args.actorUserId);
  if (mentioned.length === 0) return [];
  const summary = `${args.actorName} mentioned you on ${args.projectName} v${args.version} at ${args.frameLabel}: ${args.text}`;
  await ctx.db.db.insert(notifications).values(mentioned.map((m) => ({ userId: m.id, kind: 'mention' as const, projectId: args.projectId, renderId: args.renderId, commentId: args.commentId, text: summary.slice(0, 500) })));
  const link = { url: versionsUrl(ctx, args), label: 'Open the comment' };
  mailInBackground(
    ctx,
    mentioned.map((m) => ({
      to: m.email,
      subject: `${args.actorName} mentioned you on ${args.projectName} v${args.version}`,
      text: `${args.actorName} mentioned you in a comment on "${args.projectName}" v${args.version} at ${args.frameLabel}:\n\n${args.text}`,
      link,
    })),
    'mention',
  );
  return mentioned.map((m) => m.id);
}

export async function listNotifications(db: Db, userId: string, limit = 50) {
  const rows = await db.select().from(notifications).where(eq(notifications.userId, userId)).orderBy(desc(notifications.createdAt)).limit(limit);
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    text: r.text,
    projectId: r.projectId,
    renderId: r.renderId,
    commentId: r.commentId,
    read: r.readAt !== null,
    createdAt: r.createdAt.toISOString(),
    href: r.projectId ? `/projects/${r.projectId}/versions${r.renderId ? `?render=${r.renderId}${r.commentId ? `&comment=${r.commentId}` : ''}` : ''}` : null,
  }));
}

export async function unreadCount(db: Db, userId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(notifications).where(and(eq(notifications.userId, userId), isNull(notifications.readAt)));
  return Number(row?.n ?? 0);
}

/** "Mark all read" is the common call (the bell's button): prepared once per handle, one round trip. */
const markAllReadQuery = preparedPerHandle((db) =>
  db
    .update(notifications)
    .set({ readAt: sql`now()` })
    .where(and(eq(notifications.userId, sql.placeholder('userId')), isNull(notifications.readAt)))
    .prepare('mark_all_notifications_read'),
);

/** Marks the given ids (or all) read; only the user's own. */
export async function markRead(db: Db, userId: string, ids: string[] | 'all'): Promise<void> {
  if (ids === 'all') {
    await markAllReadQuery(db).execute({ userId });
    return;
  }
  await db
    .update(notifications)
    .set({ readAt: new Date() })
    .where(and(eq(notifications.userId, userId), inArray(notifications.id, ids.length ? ids : ['00000000-0000-0000-0000-000000000000'])));
}
