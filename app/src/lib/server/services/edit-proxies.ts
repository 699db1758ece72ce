/**
 * Edit proxies (issue 14 item 5): every uploaded video gets a 540p, short-GOP H.264 copy made by the
 * farm (shared/jobs EDIT_PROXY_QUEUE, shared/media editProxyArgs), frame for frame the original. The
 * media bin shows its progress live (assets.onProxyUpdate); the editor's preview plays it once ready
 * (`/api/assets/:id/file?rendition=proxy`); renders always read the original.
 *
 * The asset row holds the state (proxy_status, proxy_percent, proxy_key, proxy_job_id). Updates are
 * conditional on the proxy still being live (queued/encoding), so queue events and the reconciling
 * read can arrive in any order, on any app instance, and each applies once.
 *
 * The proxy belongs to the file, not the row: a duplicated project's assets reference the same
 * storage key, so they share its proxy (same proxy key) and follow the same job (proxy_job_id, the
 * id of the asset that requested it). Every update goes to all rows following the job, so a copy
 * made while the proxy encodes turns ready with the original. A video with no proxy (uploaded before
 * proxies, or failed) gets one on request (startEditProxy: the bin's "Make proxy" / "Retry proxy",
 * `pnpm admin proxies`), following a sibling's job or ready proxy where the file already has one.
 */
import { and, asc, eq, inArray, isNull, ne, or, type SQL } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import type { AppContext } from '../context.ts';
import { EDIT_ROLES, requireProjectRole } from './accounts/index.ts';
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

/** What the edit-proxy code needs of the app (the admin script builds one without the rest). */
export type ProxyContext = Pick<AppContext, 'db' | 'queue'> & { config: Pick<AppContext['config'], 'RENDER_LOST_JOB_SECONDS'>; proxyEvents?: AppContext['proxyEvents'] };

function publish(ctx: ProxyContext, rows: AssetRow[]): void {
  for (const row of rows) {
    const update = updateOf(row);
    if (update) ctx.proxyEvents?.publish(update);
  }
}

/** Applies `set` to every row following job `jobId` whose proxy is still live; returns (and publishes) them. */
async function setLive(ctx: ProxyContext, jobId: string, set: Partial<Pick<AssetRow, 'proxyStatus' | 'proxyPercent' | 'proxyKey'>>): Promise<AssetRow[]> {
  const rows = await ctx.db.db.update(assets).set(set).where(and(eq(assets.proxyJobId, jobId), inArray(assets.proxyStatus, LIVE))).returning();
  publish(ctx, rows);
  return rows;
}

const ready = (ctx: ProxyContext, jobId: string, a: Pick<AssetRow, 'storageKey'>) => setLive(ctx, jobId, { proxyStatus: 'ready', proxyPercent: 100, proxyKey: editProxyKey(a) });
const failed = (ctx: ProxyContext, jobId: string) => setLive(ctx, jobId, { proxyStatus: 'failed' });

/**
 * Puts the proxy job of `a` on the farm (`a` is the row that requested it: job id = its id, and its
 * row says 'queued'). Never throws: the upload or the request has succeeded whatever happens here; a
 * proxy that cannot be queued is marked failed (every row following the job) and the editor keeps
 * previewing the original (or its preview rendition).
 */
export async function requestEditProxy(ctx: ProxyContext, a: AssetRow): Promise<void> {
  if (a.kind !== 'video' || a.proxyStatus !== 'queued' || a.proxyJobId !== a.id) return;
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

/** No proxy, and none on the way: never made (older uploads) or failed. */
const NO_PROXY: SQL = or(isNull(assets.proxyStatus), eq(assets.proxyStatus, 'failed'))!;

/**
 * Gives a video that has no proxy (never made, or failed) one, and returns its row as it is then;
 * a row whose proxy is ready or on the way is returned as it is (a second click enqueues nothing).
 * The file's other rows come first: a sibling's ready proxy is this file's too (no job), a sibling's
 * live job is followed. Else this row claims a new job, taking the file's other proxy-less rows
 * along; the claim is conditional on each row's state, so concurrent requests enqueue once.
 */
export async function startEditProxy(ctx: ProxyContext, a: AssetRow): Promise<AssetRow> {
  if (a.kind !== 'video') throw new ServiceError('bad-request', 'Only videos get an edit proxy.');
  if (a.proxyStatus && a.proxyStatus !== 'failed') return a;
  const db = ctx.db.db;
  const reread = async () => (await db.select().from(assets).where(eq(assets.id, a.id)))[0] ?? a;
  const siblings = await db
    .select()
    .from(assets)
    .where(and(eq(assets.storageKey, a.storageKey), ne(assets.id, a.id), inArray(assets.proxyStatus, ['ready', ...LIVE])))
    .orderBy(asc(assets.createdAt));
  const sibling = siblings.find((s) => s.proxyStatus === 'ready') ?? siblings.find((s) => s.proxyJobId);
  if (sibling) {
    const { proxyStatus, proxyPercent, proxyKey, proxyJobId, proxyRequestedAt } = sibling;
    const joined = await db.update(assets).set({ proxyStatus, proxyPercent, proxyKey, proxyJobId, proxyRequestedAt }).where(and(eq(assets.id, a.id), NO_PROXY)).returning();
    publish(ctx, joined);
    return joined[0] ?? (await reread());
  }
  const claimed = await db
    .update(assets)
    .set({ proxyStatus: 'queued', proxyPercent: 0, proxyKey: null, proxyJobId: a.id, proxyRequestedAt: new Date() })
    .where(and(eq(assets.storageKey, a.storageKey), eq(assets.kind, 'video'), NO_PROXY))
    .returning();
  publish(ctx, claimed);
  const mine = claimed.find((r) => r.id === a.id);
  if (!mine) return reread();
  log().info({ event: 'edit_proxy.requested', assetId: a.id, rows: claimed.length }, 'edit proxy requested');
  await requestEditProxy(ctx, mine);
  return reread();
}

/** The asset's proxy state now, a live one reconciled from the queue when its events were missed. */
export async function currentProxy(ctx: ProxyContext, a: AssetRow): Promise<ProxyUpdate | null> {
  if (a.proxyStatus === 'queued' || a.proxyStatus === 'encoding') {
    const fixed = await reconcile(ctx, a).catch(() => null);
    if (fixed) return updateOf(fixed);
  }
  return updateOf(a);
}

async function reconcile(ctx: ProxyContext, a: AssetRow): Promise<AssetRow | null> {
  const jobId = a.proxyJobId;
  if (!jobId || !ctx.queue?.connected) return null;
  const job = await ctx.queue.editProxyJobRecord(jobId);
  const mine = (rows: AssetRow[]) => rows.find((r) => r.id === a.id) ?? null;
  if (job?.status === 'succeeded') return mine(await ready(ctx, jobId, a));
  if (job?.status === 'failed') return mine(await failed(ctx, jobId));
  const requestedAt = a.proxyRequestedAt ?? a.createdAt;
  if (!job && Date.now() - requestedAt.getTime() > ctx.config.RENDER_LOST_JOB_SECONDS * 1000) return mine(await failed(ctx, jobId));
  return null;
}

/** Queue events, keyed by job id (the requesting asset's id): each applies to every row following that job. */
export function handleEditProxyEvents(ctx: ProxyContext): Pick<QueueEvents, 'onEditProxyProgress' | 'onEditProxySucceeded' | 'onEditProxyFailed'> {
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

/** An asset, to any member of its project (every role may watch and play it) or to `roles`; else not-found (outsiders) or forbidden. */
export async function memberAsset(ctx: AppContext, userId: string, assetId: string, roles: Parameters<typeof requireProjectRole>[3] = ['owner', 'editor', 'reviewer', 'viewer']): Promise<AssetRow> {
  // Missing, malformed and not-yours all answer the same.
  if (!/^[0-9a-f-]{36}$/.test(assetId)) throw new ServiceError('not-found');
  const [asset] = await ctx.db.db.select().from(assets).where(eq(assets.id, assetId));
  if (!asset) throw new ServiceError('not-found');
  await requireProjectRole(ctx.db.db, userId, asset.projectId, roles);
  return asset;
}

/**
 * The media bin's "Make proxy" / "Retry proxy" (assets.makeProxy): editors of the asset's project
 * only (others: forbidden; outsiders: not-found). Idempotent: while the proxy is queued, encoding or
 * ready it answers the current state and enqueues nothing.
 */
export async function makeEditProxy(ctx: AppContext, userId: string, assetId: string): Promise<ProxyUpdate | null> {
  const asset = await memberAsset(ctx, userId, assetId, EDIT_ROLES);
  return currentProxy(ctx, await startEditProxy(ctx, asset));
}

/**
 * Every video that has no proxy (never made; with `failed`, failed ones too) gets one, oldest first
 * (`pnpm admin proxies`, for libraries uploaded before proxies existed). Returns how many rows were
 * looked at and what they turned into.
 */
export async function requestMissingEditProxies(ctx: ProxyContext, opts: { failed?: boolean } = {}): Promise<{ assets: number; queued: number; encoding: number; ready: number; failed: number }> {
  const rows = await ctx.db.db
    .select()
    .from(assets)
    .where(and(eq(assets.kind, 'video'), opts.failed ? NO_PROXY : isNull(assets.proxyStatus)))
    .orderBy(asc(assets.createdAt));
  const counts = { assets: rows.length, queued: 0, encoding: 0, ready: 0, failed: 0 };
  for (const row of rows) {
    // An earlier row of the same file may have taken this one along already: start from its state now.
    const [now] = await ctx.db.db.select().from(assets).where(eq(assets.id, row.id));
    if (!now) continue;
    const after = now.proxyStatus && now.proxyStatus !== 'failed' ? now : await startEditProxy(ctx, now);
    if (after.proxyStatus) counts[after.proxyStatus] += 1;
  }
  return counts;
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
