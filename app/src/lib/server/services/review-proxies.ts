/**
 * Watermarked review copies (issue 15 item 5). On a share link with `watermark` on, a guest never gets
 * the render: on their first open of a version the farm makes a copy with their name, email (when
 * verified by a one-time code) and the time burned in (shared/jobs REVIEW_PROXY_QUEUE); the player
 * shows its progress, then plays it; downloads are that copy too. One copy per link, version and
 * viewer identity, kept for later visits. /api/files serves nothing else on such a link.
 */
import { randomUUID } from 'node:crypto';
import type { QueueEvents } from '../queue.ts';
import type { AppContext } from '../context.ts';
import { logger } from '../logger.ts';
import * as repo from '../repositories/review-proxies.ts';
import { signedFileUrl } from '../signing.ts';

/** Who is watching: the name given on the link, and the email they proved (null when none). */
export interface Viewer {
  name: string;
  email: string | null;
}

export function viewerKey(v: Viewer): string {
  return v.email ? `email:${v.email.toLowerCase()}` : `name:${v.name}`;
}

export interface ProxyState {
  status: repo.ReviewProxyRow['status'];
  percent: number;
  error: string | null;
  /** Signed URLs (on the link) once the copy is made. */
  videoUrl: string | null;
  downloadUrl: string | null;
}

function stateOf(ctx: AppContext, row: repo.ReviewProxyRow, link: { id: string; allowDownload: boolean }, version: number): ProxyState {
  const done = row.status === 'succeeded';
  const url = (download?: string) => signedFileUrl(ctx.config.SIGNING_SECRET, row.outputKey, { linkId: link.id, download });
  return {
    status: row.status,
    percent: row.percent,
    error: row.status === 'failed' ? 'The watermarked copy could not be made. Reload the page to try again.' : null,
    videoUrl: done ? url() : null,
    downloadUrl: done && link.allowDownload ? url(`render-v${version}-watermarked.mp4`) : null,
  };
}

async function enqueue(ctx: AppContext, row: repo.ReviewProxyRow, render: { outputKey: string | null; durationFrames: number | null }, viewer: Viewer): Promise<repo.ReviewProxyRow> {
  try {
    await ctx.queue.enqueueReviewProxy({ proxyId: row.id, sourceKey: render.outputKey!, outputKey: row.outputKey, viewer: { name: viewer.name, email: viewer.email, issuedAt: row.createdAt.toISOString() }, durationFrames: Math.max(1, render.durationFrames ?? 1) });
    return row;
  } catch (err) {
    return (await repo.endReviewProxy(ctx.db.db, row.id, 'failed', err instanceof Error ? err.message : String(err))) ?? row;
  }
}

/**
 * This viewer's copy of this version on this link: made on the first open (queued on the farm), a
 * failed one started again, a live one reconciled from the queue when its events were missed.
 */
export async function viewerProxy(
  ctx: AppContext,
  link: { id: string; allowDownload: boolean },
  render: { id: string; version: number; outputKey: string | null; durationFrames: number | null },
  viewer: Viewer,
): Promise<ProxyState> {
  const key = viewerKey(viewer);
  let row = await repo.findReviewProxy(ctx.db.db, link.id, render.id, key);
  if (!row) {
    const id = randomUUID();
    const inserted = await repo.insertReviewProxy(ctx.db.db, { id, shareLinkId: link.id, renderId: render.id, viewerKey: key, viewerName: viewer.name, viewerEmail: viewer.email, outputKey: `review-proxies/${link.id}/${id}.mp4` });
    row = inserted ? await enqueue(ctx, inserted, render, viewer) : await repo.findReviewProxy(ctx.db.db, link.id, render.id, key);
    if (!row) throw new Error('review proxy row vanished');
  } else if (row.status === 'failed') {
    const restarted = await repo.restartReviewProxy(ctx.db.db, row.id);
    if (restarted) row = await enqueue(ctx, { ...restarted, createdAt: new Date() }, render, viewer);
  } else if (row.status !== 'succeeded') {
    row = (await reconcile(ctx, row)) ?? row;
  }
  return stateOf(ctx, row, link, render.version);
}

/** A live row whose job ended while no app listened (or whose job the queue lost). */
async function reconcile(ctx: AppContext, row: repo.ReviewProxyRow): Promise<repo.ReviewProxyRow | null> {
  if (!ctx.queue.connected) return null;
  const job = await ctx.queue.reviewProxyJobRecord(row.id).catch(() => null);
  if (job?.status === 'succeeded') return repo.endReviewProxy(ctx.db.db, row.id, 'succeeded', null);
  if (job?.status === 'failed') return repo.endReviewProxy(ctx.db.db, row.id, 'failed', job.lastError ?? 'failed');
  if (!job && Date.now() - row.createdAt.getTime() > ctx.config.RENDER_LOST_JOB_SECONDS * 1000) return repo.endReviewProxy(ctx.db.db, row.id, 'failed', 'the queue lost this job');
  return null;
}

export function handleReviewProxyEvents(ctx: AppContext): Pick<QueueEvents, 'onReviewProxyProgress' | 'onReviewProxySucceeded' | 'onReviewProxyFailed'> {
  const log = (err: unknown) => logger.child({ service: 'app', module: 'review-proxies' }).error({ event: 'review_proxy.event_failed', error: err instanceof Error ? err.message : String(err) }, 'review proxy event handling failed');
  return {
    onReviewProxyProgress(p) {
      if (p.stage === 'rendering') void repo.markReviewProxyProgress(ctx.db.db, p.proxyId, p.percent).catch(log);
    },
    onReviewProxySucceeded(r) {
      void repo.endReviewProxy(ctx.db.db, r.proxyId, 'succeeded', null).catch(log);
    },
    onReviewProxyFailed(proxyId, message) {
      void repo.endReviewProxy(ctx.db.db, proxyId, 'failed', message).catch(log);
    },
  };
}
