/**
 * The reviewer page behind a share link: no account. A password prompt when the link has one, a
 * name asked once (cookie scoped to this link's path), then that one render version to watch and
 * comment on. Every action re-checks the link, its password proof and the name. On a link that may
 * approve, a guest proves an email by a mailed one-time code before deciding (review-verification.ts);
 * a logged-in project member decides as themselves.
 */
import { fail, type Cookies } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { ServiceError } from '$lib/server/services/errors';
import { actionFailure, clientAddress } from '$lib/server/http';
import { APPROVE_ROLES, requireProjectRole } from '$lib/server/services/accounts';
import { mailEnabled } from '$lib/server/services/mail';
import { APPROVAL_STATES, AddCommentInput, GuestName, addComment, checkLinkPassword, decide, guestView, linkPass, setResolved, type Reviewer } from '$lib/server/services/review';
import { GuestEmail, verifiedEmail, parseVerificationCookie, sendApprovalCode, verificationCookie, verificationState, verifyApprovalCode } from '$lib/server/services/review-verification';
import { EMAIL_COOKIE, NAME_COOKIE, PASS_COOKIE, guestName, liveLink, passed } from '$lib/server/review-guest';
import type { Actions, PageServerLoad } from './$types';

type Ctx = Awaited<ReturnType<typeof getContext>>;

/** The logged-in visitor, when they may approve in this project as a member (no code needed). */
async function memberApprover(ctx: Ctx, user: App.Locals['user'], projectId: string): Promise<{ id: string; name: string } | null> {
  if (!user) return null;
  try {
    await requireProjectRole(ctx.db.db, user.id, projectId, APPROVE_ROLES);
    return { id: user.id, name: user.name };
  } catch (err) {
    if (err instanceof ServiceError) return null;
    throw err;
  }
}

function cookieOpts(token: string, url: URL) {
  return { path: `/review/${token}`, httpOnly: true, sameSite: 'lax' as const, secure: url.protocol === 'https:', maxAge: 60 * 60 * 24 * 30 };
}

export const load: PageServerLoad = async ({ params, cookies, url, locals }) => {
  const { ctx, link } = await liveLink(params.token);
  if (!passed(ctx, link, cookies)) return { step: 'password' as const };
  const name = guestName(cookies);
  if (!name) return { step: 'name' as const };
  const v = Number(url.searchParams.get('v'));
  const member = link.allowApprove ? await memberApprover(ctx, locals.user, link.projectId) : null;
  const verificationId = parseVerificationCookie(ctx.config.SIGNING_SECRET, cookies.get(EMAIL_COOKIE));
  const verification = link.allowApprove && !member ? await verificationState(ctx, link.id, verificationId) : null;
  // Who the watermarked copy names: the email they proved on this link, else the name they gave.
  const viewer = link.watermark ? { name, email: await verifiedEmail(ctx, link.id, verificationId) } : undefined;
  return {
    step: 'review' as const,
    name,
    member: member ? { name: member.name } : null,
    verification,
    mailOn: mailEnabled(ctx),
    ...(await guestView(ctx, link.id, Number.isInteger(v) && v > 0 ? v : null, viewer)),
  };
};

/** The guest behind this request, or a fail() to return. */
async function guest(token: string, cookies: Cookies) {
  const { ctx, link } = await liveLink(token);
  if (!passed(ctx, link, cookies)) return { ctx, link: null, who: null, why: 'enter the password first' };
  const name = guestName(cookies);
  if (!name) return { ctx, link: null, who: null, why: 'tell us your name first' };
  const verificationId = parseVerificationCookie(ctx.config.SIGNING_SECRET, cookies.get(EMAIL_COOKIE));
  const who: Reviewer = { kind: 'guest', linkId: link.id, renderId: link.renderId, name, verificationId };
  return { ctx, link, who, why: null };
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
        // The version on the guest's screen (a stack link opens several); the service checks the link opens it.
        renderId: String(f.get('renderId') || (who.kind === 'guest' ? who.renderId : '')),
        frame: Number(f.get('frame')),
        frameEnd: f.get('frameEnd') ? Number(f.get('frameEnd')) : null,
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
  /** Mails a one-time code to the email the guest gives (links that may approve only). */
  sendCode: async (event) => {
    const { params, request, cookies, url } = event;
    const { ctx, link, who, why } = await guest(params.token, cookies);
    if (!who || !link) return fail(403, { message: why });
    const email = GuestEmail.safeParse(String((await request.formData()).get('email') ?? ''));
    if (!email.success) return fail(400, { message: email.error.issues[0]?.message ?? 'Enter a valid email address' });
    try {
      await ctx.throttles.hit('reviewCode', link.id, email.data);
      await ctx.throttles.hit('reviewCode', link.id, clientAddress(event));
      const { verificationId } = await sendApprovalCode(ctx, link, who.name, email.data);
      cookies.set(EMAIL_COOKIE, verificationCookie(ctx.config.SIGNING_SECRET, verificationId), cookieOpts(params.token, url));
      return { message: null };
    } catch (err) {
      return actionFailure(err, {});
    }
  },
  verifyCode: async ({ params, request, cookies }) => {
    const { ctx, link, who, why } = await guest(params.token, cookies);
    if (!who || !link) return fail(403, { message: why });
    const verificationId = parseVerificationCookie(ctx.config.SIGNING_SECRET, cookies.get(EMAIL_COOKIE));
    if (!verificationId) return fail(403, { message: 'Ask for a code first.' });
    try {
      await verifyApprovalCode(ctx, link.id, verificationId, String((await request.formData()).get('code') ?? ''));
      return { message: null };
    } catch (err) {
      return actionFailure(err, {});
    }
  },
  /** Forget the email (to verify another one). */
  forgetEmail: async ({ params, cookies }) => {
    cookies.delete(EMAIL_COOKIE, { path: `/review/${params.token}` });
    return { message: null };
  },
  decide: async ({ params, request, cookies, locals }) => {
    const g = await guest(params.token, cookies);
    const { ctx, why } = g;
    if (!g.who || !g.link) return fail(403, { message: why });
    const member = await memberApprover(ctx, locals.user, g.link.projectId);
    const who: Reviewer = member ? { kind: 'user', userId: member.id, name: member.name } : g.who;
    const f = await request.formData();
    const state = String(f.get('state') ?? '');
    const renderId = String(f.get('renderId') || g.who.renderId);
    if (!/^[0-9a-f-]{36}$/.test(renderId)) return fail(400, { message: 'unknown version' });
    if (!(APPROVAL_STATES as readonly string[]).includes(state)) return fail(400, { message: 'unknown decision' });
    try {
      await decide(ctx, who, renderId, state as (typeof APPROVAL_STATES)[number]);
      return { message: null };
    } catch (err) {
      return actionFailure(err, {});
    }
  },
};
