/**
 * The player's poll while this guest's watermarked copy is made: GET ?renderId= -> { status, percent,
 * error }. Same checks as the page (live link, password proof, a name given); a link without
 * watermark answers 404.
 */
import { error, json } from '@sveltejs/kit';
import { guestName, liveLink, passed, EMAIL_COOKIE } from '$lib/server/review-guest';
import { ServiceError } from '$lib/server/services/errors';
import { guestWatermarkState } from '$lib/server/services/review';
import { parseVerificationCookie, verifiedEmail } from '$lib/server/services/review-verification';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, url, cookies }) => {
  const { ctx, link } = await liveLink(params.token);
  const name = guestName(cookies);
  if (!passed(ctx, link, cookies) || !name) error(403, 'Open the review page first.');
  const email = await verifiedEmail(ctx, link.id, parseVerificationCookie(ctx.config.SIGNING_SECRET, cookies.get(EMAIL_COOKIE)));
  try {
    const state = await guestWatermarkState(ctx, link.id, url.searchParams.get('renderId') ?? '', { name, email });
    if (!state) error(404, 'This link has no watermark.');
    return json(state, { headers: { 'cache-control': 'no-store' } });
  } catch (err) {
    if (err instanceof ServiceError) error(404, 'not found');
    throw err;
  }
};
