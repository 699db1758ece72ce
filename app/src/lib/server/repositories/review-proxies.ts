/**
 * review_proxies: the only module that reads or writes that table. Status changes are conditional on
 * the row still being live (queued/rendering), so queue events and the reconciling read can arrive in
 * any order, on any app instance, and each applies once.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { schema, type Db } from '@clipmaker/db';

const { reviewProxies } = schema;
export type ReviewProxyRow = typeof reviewProxies.$inferSelect;
const LIVE = ['queued', 'rendering'] as const;

export async function findReviewProxy(db: Db, shareLinkId: string, renderId: string, viewerKey: string): Promise<ReviewProxyRow | null> {
  const [row] = await db.select().from(reviewProxies).where(and(eq(reviewProxies.shareLinkId, shareLinkId), eq(reviewProxies.renderId, renderId), eq(reviewProxies.viewerKey, viewerKey)));
  return row ?? null;
}

/** The new row, or null when this viewer already has one (a concurrent first open made it). */
export async function insertReviewProxy(db: Db, row: typeof reviewProxies.$inferInsert & { id: string }): Promise<ReviewProxyRow | null> {
  const [inserted] = await db.insert(reviewProxies).values(row).onConflictDoNothing().returning();
  return inserted ?? null;
}

/** Gives a failed copy a fresh start (the viewer asked again): null unless it had failed. */
export async function restartReviewProxy(db: Db, id: string): Promise<ReviewProxyRow | null> {
  const [row] = await db.update(reviewProxies).set({ status: 'queued', percent: 0, error: null, finishedAt: null }).where(and(eq(reviewProxies.id, id), eq(reviewProxies.status, 'failed'))).returning();
  return row ?? null;
}

export async function markReviewProxyProgress(db: Db, id: string, percent: number): Promise<void> {
  await db.update(reviewProxies).set({ status: 'rendering', percent: Math.round(percent) }).where(and(eq(reviewProxies.id, id), inArray(reviewProxies.status, LIVE)));
}

export async function endReviewProxy(db: Db, id: string, status: 'succeeded' | 'failed', error: string | null): Promise<ReviewProxyRow | null> {
  const [row] = await db
    .update(reviewProxies)
    .set({ status, error, percent: status === 'succeeded' ? 100 : undefined, finishedAt: new Date() })
    .where(and(eq(reviewProxies.id, id), inArray(reviewProxies.status, LIVE)))
    .returning();
  return row ?? null;
}

/** May a URL minted for this link serve `key`? Only a finished copy made for the link. */
export async function isServableProxy(db: Db, shareLinkId: string, key: string): Promise<boolean> {
  const [row] = await db.select({ id: reviewProxies.id }).from(reviewProxies).where(and(eq(reviewProxies.shareLinkId, shareLinkId), eq(reviewProxies.outputKey, key), eq(reviewProxies.status, 'succeeded'))).limit(1);
  return !!row;
}
