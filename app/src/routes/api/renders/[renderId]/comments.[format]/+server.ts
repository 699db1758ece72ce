import { error } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { httpError } from '$lib/server/http';
import { exportReview } from '$lib/server/services/review';
import { EXPORT_FORMATS, type ExportFormat } from '$lib/review/export';
import type { RequestHandler } from './$types';

/** A render's review comments as a file: comments.csv, comments.edl (Resolve markers) or comments.fcpxml. */
export const GET: RequestHandler = async ({ params, locals }) => {
  if (!locals.user) error(401, 'log in first');
  if (!(EXPORT_FORMATS as readonly string[]).includes(params.format)) error(404, `unknown export format; use one of ${EXPORT_FORMATS.join(', ')}`);
  if (!/^[0-9a-f-]{36}$/.test(params.renderId)) error(404, 'render not found');
  try {
    const ctx = await getContext();
    const out = await exportReview(ctx, { kind: 'user', userId: locals.user.id, name: locals.user.name }, params.renderId, params.format as ExportFormat);
    return new Response(out.body, { headers: { 'content-type': out.type, 'content-disposition': `attachment; filename="${out.filename}"`, 'cache-control': 'private, no-store' } });
  } catch (err) {
    return httpError(err);
  }
};
