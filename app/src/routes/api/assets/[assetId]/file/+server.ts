import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { getContext } from '$lib/server/context';
import { requireProjectRole } from '$lib/server/services/accounts';
import { fileResponse } from '$lib/server/file-response';
import { ServiceError } from '$lib/server/services/errors';
import { httpError } from '$lib/server/http';
import type { RequestHandler } from './$types';

/**
 * The original media, to members of the asset's project only. `?rendition=preview`: what the
 * editor's <video> plays, the preview rendition where upload made one (shared/media/ingest.ts
 * previewRenditionReason), else the original too.
 */
export const GET: RequestHandler = async (event) => {
  const { params, locals, request } = event;
  try {
    if (!locals.user) throw new ServiceError('unauthorized');
    const ctx = await getContext();
    // Missing, malformed and not-yours all answer the same 404.
    if (!/^[0-9a-f-]{36}$/.test(params.assetId)) throw new ServiceError('not-found');
    const [asset] = await ctx.db.db.select().from(schema.assets).where(eq(schema.assets.id, params.assetId));
    if (!asset) throw new ServiceError('not-found');
    await requireProjectRole(ctx.db.db, locals.user.id, asset.projectId, ['owner', 'editor', 'reviewer', 'viewer']);
    const key = event.url.searchParams.get('rendition') === 'preview' ? (asset.previewKey ?? asset.storageKey) : asset.storageKey;
    return await fileResponse(ctx.storage, key, request.headers.get('range'));
  } catch (err) {
    return httpError(err, event);
  }
};
