/**
 * The guest behind a request to /review/[token]/…: the link (live, or a 404), whether its password
 * was given (signed cookie) and the name they gave. The page and its endpoints share these checks.
 */
import { error, type Cookies } from '@sveltejs/kit';
import { getContext } from './context.ts';
import { ServiceError } from './services/errors.ts';
import { checkLinkPass, findLiveLink, GuestName } from './services/review.ts';

export const PASS_COOKIE = 'cm_review_pass';
export const NAME_COOKIE = 'cm_review_name';
/** Signed id of the guest's email verification (pending or done) on this link. */
export const EMAIL_COOKIE = 'cm_review_email';

export async function liveLink(token: string) {
  const ctx = await getContext();
  try {
    return { ctx, link: await findLiveLink(ctx, token) };
  } catch (err) {
    if (err instanceof ServiceError) error(404, 'This review link does not exist, was revoked or has expired.');
    throw err;
  }
}

export function passed(ctx: Awaited<ReturnType<typeof getContext>>, link: { id: string; passwordHash: string | null }, cookies: Cookies) {
  return link.passwordHash === null || checkLinkPass(ctx.config.SIGNING_SECRET, link.id, cookies.get(PASS_COOKIE));
}

export function guestName(cookies: Cookies): string | null {
  const raw = cookies.get(NAME_COOKIE);
  const parsed = GuestName.safeParse(raw ?? '');
  return parsed.success ? parsed.data : null;
}
