import { redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { logIn } from '$lib/server/services/accounts';
import { startSession } from '$lib/server/login';
import { actionFailure, clientAddress, safeRedirectPath } from '$lib/server/http';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, url }) => {
  if (locals.user) redirect(303, safeRedirectPath(url.searchParams.get('next')));
};

export const actions: Actions = {
  default: async (event) => {
    const { request, cookies, url, locals } = event;
    const form = await request.formData();
    const email = String(form.get('email') ?? '');
    const ctx = await getContext();
    try {
      const user = await logIn(ctx.db.db, { email, password: String(form.get('password') ?? '') }, { throttle: { throttles: ctx.throttles, address: clientAddress(event) } });
      await startSession(ctx, cookies, url, user.id, locals.session?.id ?? null, request.headers.get('user-agent'));
    } catch (err) {
      return actionFailure(err, { email });
    }
    redirect(303, safeRedirectPath(url.searchParams.get('next')));
  },
};
