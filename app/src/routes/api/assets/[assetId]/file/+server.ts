import { error } from '@sveltejs/kit';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { getContext } from '$lib/server/context';
import { requireProjectRole } from '$lib/server/services/accounts';
import { fileResponse } from '$lib/server/file-response';
import { httpError } from '$lib/server/http';
import type { RequestHandler } from './$types';

/** The original media for the editor's preview, to members of the asset's project only. */
export const GET: RequestHandler = async ({ params, locals, request }) => {
  if (!locals.user) error(401, 'log in first');
  const ctx = await getContext();
  const parsed = /^[0-9a-f-]{36}$/.test(params.assetId) ? params.assetId : null;
  if (!parsed) error(404, 'not found');
  const [asset] = await ctx.db.db.select().from(schema.assets).where(eq(schema.assets.id, parsed));
  if (!asset) error(404, 'not found');
  try {
    await requireProjectRole(ctx.db.db, locals.user.id, asset.projectId, ['owner', 'editor', 'reviewer', 'viewer']);
  } catch (err) {
    return httpError(err);
  }
  return fileResponse(ctx.storage, asset.storageKey, request.headers.get('range'));
};
