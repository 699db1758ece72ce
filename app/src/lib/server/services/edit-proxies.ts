/**
 * Edit proxies (issue 14 item 5): every uploaded video gets a 540p, short-GOP H.264 copy made by the
 * farm (shared/jobs EDIT_PROXY_QUEUE, shared/media editProxyArgs), frame for frame the original. The
 * media bin shows its progress live (assets.onProxyUpdate); the editor's preview plays it once ready
 * (`/api/assets/:id/file?rendition=proxy`); renders always read the original.
 *
 * The asset row holds the state (proxy_status, proxy_percent, proxy_key). Updates are conditional on
 * the proxy still being live (queued/encoding), so queue events and the reconciling read can arrive
 * in any order, on any app instance, and each applies once.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import type { AppContext } from '../context.ts';
import { requireProjectRole } from './accounts/index.ts';
import { ServiceError } from './errors.ts';
import { logger } from '../logger.ts';
import type { QueueEvents } from '../queue.ts';
import type { ProxyUpdate } from '../render-events.ts';

type AssetRow = typeof schema.assets.$inferSelect;
const { assets } = schema;
const LIVE = ['queued', 'encoding'] as const;
const log = () => logger.child({ service: 'app', module: 'edit-proxies' });

/** Where the proxy of an asset is written: beside its original. */
export function editProxyKey(a: Pick<AssetRow, 'storageKey'>): string {
  return `${a.storageKey.slice(0, a.storageKey.lastIndexOf('/'))}/proxy.mp4`;
}

function updateOf(a: Pick<AssetRow, 'id' | 'proxyStatus' | 'proxyPercent'>): ProxyUpdate | null {
  return a.proxyStatus ? { assetId: a.id, status: a.proxyStatus, percent: a.proxyPercent } : null;
}

async function setLive(ctx: AppContext, assetId: string, set: Partial<Pick<AssetRow, 'proxyStatus' | 'proxyPercent' | 'proxyKey'>>): Promise<AssetRow | null> {
  const [row] = await ctx.db.db.update(assets).set(set).where(and(eq(assets.id, assetId), inArray(assets.proxyStatus, LIVE))).returning();
  const update = row ? updateOf(row) : null;
  if (update) ctx.proxyEvents?.publish(update);
  return row ?? null;
}

const ready = (ctx: AppContext, a: Pick<AssetRow, 'id' | 'storageKey'>) => setLive(ctx, a.id, { proxyStatus: 'ready', proxyPercent: 100, proxyKey: editProxyKey(a) });
const failed = (ctx: AppContext, assetId: string) => setLive(ctx, assetId, { proxyStatus: 'failed' });

/**
 * Puts a freshly ingested video's proxy on the farm (its row says 'queued'). Never throws: the upload
 * has succeeded whatever happens here; a proxy that cannot be queued is marked failed and the editor
 * keeps previewing the original (or its preview rendition).
 */
export async function requestEditProxy(ctx: AppContext, a: AssetRow): Promise<void> {
  if (a.kind !== 'video' || a.proxyStatus !== 'queued') return;
  try {
    if (!ctx.queue) throw new Error('no render queue in this process');
    await ctx.queue.enqueueEditProxy({
      assetId: a.id,
      sourceKey: a.storageKey,
      outputKey: editProxyKey(a),
      facts: { container: a.container as never, width: a.width, height: a.height, colorTransfer: a.colorTransfer },
      durationFrames: a.durationFrames && a.durationFrames > 0 ? a.durationFrames : null,
    });
  } catch (err) {
    log().warn({ event: 'edit_proxy.enqueue_failed', assetId: a.id, error: err instanceof Error ? err.message : String(err) }, 'edit proxy not queued; the editor previews the original');
    await failed(ctx, a.id).catch(() => {});
  }
}

/** The asset's proxy state now, a live one reconciled from the queue when its events were missed. */
export async function currentProxy(ctx: AppContext, a: AssetRow): Promise<ProxyUpdate | null> {
  if (a.proxyStatus === 'queued' || a.proxyStatus === 'encoding') {
    const fixed = await reconcile(ctx, a).catch(() => null);
    if (fixed) return updateOf(fixed);
  }
  return updateOf(a);
}

async function reconcile(ctx: AppContext, a: AssetRow): Promise<AssetRow | null> {
  if (!ctx.queue?.connected) return null;
  const job = await ctx.queue.editProxyJobRecord(a.id);
  if (job?.status === 'succeeded') return ready(ctx, a);
  if (job?.status === 'failed') return failed(ctx, a.id);
  if (!job && Date.now() - a.createdAt.getTime() > ctx.config.RENDER_LOST_JOB_SECONDS * 1000) return failed(ctx, a.id);
  return null;
}

export function handleEditProxyEvents(ctx: AppContext): Pick<QueueEvents, 'onEditProxyProgress' | 'onEditProxySucceeded' | 'onEditProxyFailed'> {
  const report = (err: unknown) => log().error({ event: 'edit_proxy.event_failed', error: err instanceof Error ? err.message : String(err) }, 'edit proxy event handling failed');
  return {
    onEditProxyProgress(p) {
      if (p.stage === 'encoding') void setLive(ctx, p.assetId, { proxyStatus: 'encoding', proxyPercent: Math.round(p.percent) }).catch(report);
    },
    onEditProxySucceeded(r) {
      void setLive(ctx, r.assetId, { proxyStatus: 'ready', proxyPercent: 100, proxyKey: r.outputKey }).catch(report);
    },
    onEditProxyFailed(assetId) {
      void failed(ctx, assetId).catch(report);
    },
  };
}

/** An asset, to any member of its project (every role may watch and play it); else not-found. */
export async function memberAsset(ctx: AppContext, userId: string, assetId: string): Promise<AssetRow> {
  // Missing, malformed and not-yours all answer the same.
  if (!/^[0-9a-f-]{36}$/.test(assetId)) throw new ServiceError('not-found');
  const [asset] = await ctx.db.db.select().from(assets).where(eq(assets.id, assetId));
  if (!asset) throw new ServiceError('not-found');
  await requireProjectRole(ctx.db.db, userId, asset.projectId, ['owner', 'editor', 'reviewer', 'viewer']);
  return asset;
}

/**
 * Live proxy state for the media bin: the current state first, then every update until the proxy
 * is ready or failed. The access check runs before the stream is returned.
 */
export async function watchEditProxy(ctx: AppContext, userId: string, assetId: string, signal?: AbortSignal): Promise<AsyncGenerator<ProxyUpdate>> {
  // Listen first, then read the current state: nothing published in between is missed.
  const updates = ctx.proxyEvents.subscribe(assetId, signal);
  let first: ProxyUpdate | null;
  try {
    first = await currentProxy(ctx, await memberAsset(ctx, userId, assetId));
  } catch (err) {
    await updates.return(undefined);
    throw err;
  }
  const over = (u: ProxyUpdate | null) => !u || u.status === 'ready' || u.status === 'failed';
  return (async function* () {
    if (first) yield first;
    if (over(first)) {
      await updates.return(undefined);
      return;
    }
    for await (const update of updates) {
      yield update;
      if (over(update)) return;
    }
  })();
}
