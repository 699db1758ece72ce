import { getContext } from '$lib/server/context';
import { httpError } from '$lib/server/http';
import { resumableUploads } from '$lib/server/resumable-uploads';
import { EDIT_ROLES, requireProjectRole } from '$lib/server/services/accounts';
import { ServiceError } from '$lib/server/services/errors';
import { tooLargeError } from '$lib/server/services/assets';
import type { RequestHandler } from './$types';

/**
 * tus creation (POST): a new resumable upload for this project (lib/server/resumable-uploads.ts).
 * Editor role or above; Upload-Length is required and over MAX_UPLOAD_BYTES is refused (413) here,
 * before the client sends a byte of the file.
 */
export const POST: RequestHandler = async ({ request, params, locals }) => {
  try {
    if (!locals.user) throw new ServiceError('unauthorized');
    const ctx = await getContext();
    await requireProjectRole(ctx.db.db, locals.user.id, params.projectId, EDIT_ROLES);
    const declared = request.headers.get('upload-length');
    if (declared === null || !/^\d{1,16}$/.test(declared)) throw new ServiceError('bad-request', 'the upload must declare its length (Upload-Length)');
    if (Number(declared) > ctx.config.MAX_UPLOAD_BYTES) throw tooLargeError(ctx.config.MAX_UPLOAD_BYTES);
    await ctx.throttles.hit('upload', locals.user.id);
    const tus = await resumableUploads(ctx);
    return await tus.handle(request, { userId: locals.user.id, projectId: params.projectId });
  } catch (err) {
    return httpError(err);
  }
};

/** tus discovery: the protocol version, extensions and max size (no CORS: same origin only). */
export const OPTIONS: RequestHandler = async ({ request, locals, params }) => {
  if (!locals.user) return httpError(new ServiceError('unauthorized'));
  const tus = await resumableUploads(await getContext());
  return tus.handle(request, { userId: locals.user.id, projectId: params.projectId });
};
