import { error } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { verifySignedKey } from '$lib/server/signing';
import { fileResponse } from '$lib/server/file-response';
import type { RequestHandler } from './$types';

/** Signed, expiring links to render outputs (download, player, poster). No session needed. */
export const GET: RequestHandler = async ({ url, request }) => {
  const key = url.searchParams.get('key') ?? '';
  const exp = url.searchParams.get('exp') ?? '';
  const sig = url.searchParams.get('sig') ?? '';
  const ctx = await getContext();
  const verdict = verifySignedKey(ctx.config.SIGNING_SECRET, key, exp, sig);
  if (verdict === 'expired') error(410, 'this link has expired');
  if (verdict !== 'ok') error(403, 'invalid link');
  return fileResponse(ctx.storage, key, request.headers.get('range'), url.searchParams.get('download') ?? undefined);
};
