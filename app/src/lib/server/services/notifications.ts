/** In-app notifications (new comments, approval decisions): a list and an unread count per user. */
import { and, count, desc, eq, inArray, isNull } from 'drizzle-orm';
import { schema, type Db } from '@clipmaker/db';

const { notifications, memberships, projects } = schema;

export interface NewNotification {
  kind: 'comment' | 'decision';
  projectId: string;
  renderId: string;
  commentId?: string | null;
  text: string;
}

/** Notifies the project's owners and editors, except the actor. */
export async function notifyProjectTeam(db: Db, projectId: string, actorUserId: string | null, n: NewNotification): Promise<number> {
  const team = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .innerJoin(projects, eq(projects.orgId, memberships.orgId))
    .where(and(eq(projects.id, projectId), inArray(memberships.role, ['owner', 'editor'])));
  const to = team.map((t) => t.userId).filter((id) => id !== actorUserId);
  if (to.length === 0) return 0;
  await db.insert(notifications).values(to.map((userId) => ({ userId, kind: n.kind, projectId: n.projectId, renderId: n.renderId, commentId: n.commentId ?? null, text: n.text.slice(0, 500) })));
  return to.length;
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

/** Marks the given ids (or all) read; only the user's own. */
export async function markRead(db: Db, userId: string, ids: string[] | 'all'): Promise<void> {
  const mine = eq(notifications.userId, userId);
  await db
    .update(notifications)
    .set({ readAt: new Date() })
    .where(ids === 'all' ? and(mine, isNull(notifications.readAt)) : and(mine, inArray(notifications.id, ids.length ? ids : ['00000000-0000-0000-0000-000000000000'])));
}
