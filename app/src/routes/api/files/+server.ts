import { getContext } from '$lib/server/context';
import { verifySignedFile } from '$lib/server/signing';
import { fileResponse } from '$lib/server/file-response';
import { httpError } from '$lib/server/http';
import { ServiceError } from '$lib/server/services/errors';
import { linkMayServe } from '$lib/server/services/review';
import type { RequestHandler } from './$types';

/**
 * Signed, expiring links to render outputs (download, player, poster). No session needed. A URL
 * minted for a share link's guest is re-checked against the link on every request (signing.ts).
 */
export const GET: RequestHandler = async (event) => {
  const { url, request } = event;
  try {
    const ctx = await getContext();
    const verdict = verifySignedFile(ctx.config.SIGNING_SECRET, url.searchParams);
    if (!verdict.ok) throw new ServiceError('forbidden', verdict.reason === 'expired' ? 'This link has expired.' : 'This link is not valid.');
    const { key, linkId, download } = verdict.claims;
    if (linkId && !(await linkMayServe(ctx, linkId, key, download !== null))) throw new ServiceError('forbidden', 'This link was revoked, has expired or does not allow this.');
    return await fileResponse(ctx.storage, key, request.headers.get('range'), download ?? undefined);
  } catch (err) {
    return httpError(err, event);
  }
};
