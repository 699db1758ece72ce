import { error, json } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { uploadAsset } from '$lib/server/services/assets';
import { httpError } from '$lib/server/http';
import type { RequestHandler } from './$types';

/**
 * Upload one media file as the raw request body (streamed, never buffered whole). The display name
 * comes from the X-File-Name header (URI-encoded); it is never used as a path.
 */
export const POST: RequestHandler = async ({ request, params, locals }) => {
  if (!locals.user) error(401, 'log in first');
  // adapter-node hands over no body at all when the request has no Content-Type: say so.
  if (!request.body) error(400, 'the request has no file (send it as the raw body with Content-Type: application/octet-stream and a Content-Length)');
  const ctx = await getContext();
  // A declared Content-Length over MAX_UPLOAD_BYTES was refused (413) by the body-limit hook before a
  // byte was read; uploadAsset cuts an undeclared (chunked) body off at the same limit while streaming.
  let name = 'upload';
  try {
    name = decodeURIComponent(request.headers.get('x-file-name') ?? 'upload');
  } catch {
    // keep the default name: a malformed header must not lose the upload
  }
  try {
    await ctx.throttles.hit('upload', locals.user.id);
    const asset = await uploadAsset(ctx, locals.user.id, params.projectId, name, request.body);
    return json(asset, { status: 201 });
  } catch (err) {
    return httpError(err);
  }
};
