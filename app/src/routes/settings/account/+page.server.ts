import { fail, redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { changePassword, endMySession, listMySessions } from '$lib/server/services/accounts/account';
import { actionFailure } from '$lib/server/http';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, url }) => {
  if (!locals.user) redirect(303, `/login?next=${encodeURIComponent(url.pathname)}`);
  const ctx = await getContext();
  return { me: locals.user, sessions: await listMySessions(ctx, locals.user.id, locals.session?.id ?? null) };
};

export const actions: Actions = {
  password: async ({ locals, request }) => {
    if (!locals.user) return fail(401, { message: 'Log in first.' });
    const form = await request.formData();
    const ctx = await getContext();
    try {
      const r = await changePassword(ctx, locals.user.id, locals.session?.id ?? null, { current: String(form.get('current') ?? ''), next: String(form.get('next') ?? '') });
      return { passwordChanged: true, endedSessions: r.endedSessions };
    } catch (err) {
      return actionFailure(err, {});
    }
  },
  endSession: async ({ locals, request }) => {
    if (!locals.user) return fail(401, { message: 'Log in first.' });
    const form = await request.formData();
    try {
      await endMySession(await getContext(), locals.user.id, String(form.get('sessionId') ?? ''));
    } catch (err) {
      return actionFailure(err, {});
    }
    return { sessionEnded: true };
  },
};
