/**
 * The reviewer page behind a share link: no account. A password prompt when the link has one, a
 * name asked once (cookie scoped to this link's path), then that one render version to watch and
 * comment on. Every action re-checks the link, its password proof and the name.
 */
import { error, fail, type Cookies } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { ServiceError } from '$lib/server/services/errors';
import { actionFailure, clientAddress } from '$lib/server/http';
import { APPROVAL_STATES, AddCommentInput, GuestName, addComment, checkLinkPass, checkLinkPassword, decide, findLiveLink, guestView, linkPass, setResolved, type Reviewer } from '$lib/server/services/review';
import type { Actions, PageServerLoad } from './$types';

const PASS_COOKIE = 'cm_review_pass';
const NAME_COOKIE = 'cm_review_name';

function cookieOpts(token: string, url: URL) {
  return { path: `/review/${token}`, httpOnly: true, sameSite: 'lax' as const, secure: url.protocol === 'https:', maxAge: 60 * 60 * 24 * 30 };
}

async function liveLink(token: string) {
  const ctx = await getContext();
  try {
    return { ctx, link: await findLiveLink(ctx, token) };
  } catch (err) {
    if (err instanceof ServiceError) error(404, 'This review link does not exist, was revoked or has expired.');
    throw err;
  }
}

function passed(ctx: Awaited<ReturnType<typeof getContext>>, link: { id: string; passwordHash: string | null }, cookies: Cookies) {
  return link.passwordHash === null || checkLinkPass(ctx.config.SIGNING_SECRET, link.id, cookies.get(PASS_COOKIE));
}

function guestName(cookies: Cookies): string | null {
  const raw = cookies.get(NAME_COOKIE);
  const parsed = GuestName.safeParse(raw ?? '');
  return parsed.success ? parsed.data : null;
}

export const load: PageServerLoad = async ({ params, cookies }) => {
  const { ctx, link } = await liveLink(params.token);
  if (!passed(ctx, link, cookies)) return { step: 'password' as const };
  const name = guestName(cookies);
  if (!name) return { step: 'name' as const };
  return { step: 'review' as const, name, ...(await guestView(ctx, link.id)) };
};

/** The guest behind this request, or a fail() to return. */
async function guest(token: string, cookies: Cookies) {
  const { ctx, link } = await liveLink(token);
  if (!passed(ctx, link, cookies)) return { ctx, who: null, why: 'enter the password first' };
  const name = guestName(cookies);
  if (!name) return { ctx, who: null, why: 'tell us your name first' };
  const who: Reviewer = { kind: 'guest', linkId: link.id, renderId: link.renderId, name };
  return { ctx, who, why: null };
}


export const actions: Actions = {
  /** Password guesses per (link, client address): 10 per 15 minutes, shared by every app process. */
  password: async (event) => {
    const { params, request, cookies, url } = event;
    const { ctx, link } = await liveLink(params.token);
    const password = String((await request.formData()).get('password') ?? '');
    const address = clientAddress(event);
    try {
      await ctx.throttles.hit('sharePassword', link.id, address);
    } catch (err) {
      return actionFailure(err, {});
    }
    if (!(await checkLinkPassword(link, password))) return fail(403, { message: 'Wrong password.' });
    await ctx.throttles.reset('sharePassword', link.id, address);
    cookies.set(PASS_COOKIE, linkPass(ctx.config.SIGNING_SECRET, link.id), cookieOpts(params.token, url));
    return { message: null };
  },
  name: async ({ params, request, cookies, url }) => {
    const { ctx, link } = await liveLink(params.token);
    if (!passed(ctx, link, cookies)) return fail(403, { message: 'Enter the password first.' });
    const parsed = GuestName.safeParse(String((await request.formData()).get('name') ?? ''));
    if (!parsed.success) return fail(400, { message: parsed.error.issues[0]?.message ?? 'Tell us your name' });
    cookies.set(NAME_COOKIE, parsed.data, cookieOpts(params.token, url));
    return { message: null };
  },
  comment: async (event) => {
    const { params, request, cookies } = event;
    const { ctx, who, why } = await guest(params.token, cookies);
    if (!who) return fail(403, { message: why });
    const f = await request.formData();
    try {
      await ctx.throttles.hit('comment', 'guest', who.kind === 'guest' ? who.linkId : '', clientAddress(event));
      const annotation = f.get('annotation') ? JSON.parse(String(f.get('annotation'))) : null;
      const input = AddCommentInput.parse({
        renderId: who.kind === 'guest' ? who.renderId : '',
        frame: Number(f.get('frame')),
        text: String(f.get('text') ?? ''),
        parentId: f.get('parentId') ? String(f.get('parentId')) : null,
        annotation,
      });
      await addComment(ctx, who, input);
      return { message: null };
    } catch (err) {
      if (err instanceof SyntaxError) return fail(400, { message: 'invalid drawing' });
      return actionFailure(err, {});
    }
  },
  resolve: async ({ params, request, cookies }) => {
    const { ctx, who, why } = await guest(params.token, cookies);
    if (!who) return fail(403, { message: why });
    const f = await request.formData();
    try {
      await setResolved(ctx, who, String(f.get('commentId') ?? ''), f.get('resolved') === 'true');
      return { message: null };
    } catch (err) {
      return actionFailure(err, {});
    }
  },
  decide: async ({ params, request, cookies }) => {
    const { ctx, who, why } = await guest(params.token, cookies);
    if (!who || who.kind !== 'guest') return fail(403, { message: why });
    const state = String((await request.formData()).get('state') ?? '');
    if (!(APPROVAL_STATES as readonly string[]).includes(state)) return fail(400, { message: 'unknown decision' });
    try {
      await decide(ctx, who, who.renderId, state as (typeof APPROVAL_STATES)[number]);
      return { message: null };
    } catch (err) {
      return actionFailure(err, {});
    }
  },
};
