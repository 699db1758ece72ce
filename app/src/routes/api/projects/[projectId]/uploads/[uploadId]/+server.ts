import { getContext } from '$lib/server/context';
import { refuseUnread } from '$lib/server/body-limit';
import { httpError } from '$lib/server/http';
import { resumableUploads } from '$lib/server/resumable-uploads';
import { EDIT_ROLES, requireProjectRole } from '$lib/server/services/accounts';
import { ServiceError } from '$lib/server/services/errors';
import type { RequestHandler } from './$types';

/**
 * One resumable upload (tus): HEAD (its offset, to resume), PATCH (the next chunk; the last one
 * runs the ingest pipeline and answers the asset), DELETE (cancel: the partial file is deleted).
 * Only its creator, for this project, while still an editor or above; anyone else gets 404.
 */
const tusRequest: RequestHandler = async ({ request, params, locals, platform }) => {
  try {
    if (!locals.user) throw new ServiceError('unauthorized');
    const ctx = await getContext();
    const tus = await resumableUploads(ctx);
    const owner = await tus.owner(params.uploadId);
    if (!owner || owner.userId !== locals.user.id || owner.projectId !== params.projectId) throw new ServiceError('not-found');
    await requireProjectRole(ctx.db.db, locals.user.id, params.projectId, EDIT_ROLES);
    return await tus.handle(request, owner);
  } catch (err) {
    // A refused PATCH's chunk is never read: discarded, then the connection closes after the answer.
    return refuseUnread(httpError(err), platform?.req);
  }
};

export const HEAD = tusRequest;
export const PATCH = tusRequest;
export const DELETE = tusRequest;
