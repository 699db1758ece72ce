import { getContext } from '$lib/server/context';
import { memberAsset } from '$lib/server/services/edit-proxies';
import { fileResponse } from '$lib/server/file-response';
import { ServiceError } from '$lib/server/services/errors';
import { httpError } from '$lib/server/http';
import type { RequestHandler } from './$types';

/**
 * The original media, to members of the asset's project only. `?rendition=preview`: what the
 * editor's <video> plays, the preview rendition where upload made one (shared/media/ingest.ts
 * previewRenditionReason), else the original too. `?rendition=proxy`: what the preview plays
 * once the farm made it, the edit proxy (services/edit-proxies.ts), else as `preview`.
 */
export const GET: RequestHandler = async (event) => {
  const { params, locals, request } = event;
  try {
    if (!locals.user) throw new ServiceError('unauthorized');
    const ctx = await getContext();
    const asset = await memberAsset(ctx, locals.user.id, params.assetId);
    const rendition = event.url.searchParams.get('rendition');
    const preview = asset.previewKey ?? asset.storageKey;
    const key = rendition === 'proxy' ? (asset.proxyStatus === 'ready' && asset.proxyKey ? asset.proxyKey : preview) : rendition === 'preview' ? preview : asset.storageKey;
    return await fileResponse(ctx.storage, key, request.headers.get('range'));
  } catch (err) {
    return httpError(err, event);
  }
};
