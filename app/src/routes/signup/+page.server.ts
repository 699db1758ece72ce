import { redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { signUpOrLogIn } from '$lib/server/services/accounts';
import { startSession } from '$lib/server/login';
import { actionFailure, clientAddress, safeRedirectPath } from '$lib/server/http';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, url }) => {
  if (locals.user) redirect(303, safeRedirectPath(url.searchParams.get('next')));
};

export const actions: Actions = {
  /** Never says whether the email has an account (services/accounts/users.ts signUpOrLogIn). */
  default: async (event) => {
    const { request, cookies, url, locals } = event;
    const form = await request.formData();
    const values = { email: String(form.get('email') ?? ''), name: String(form.get('name') ?? '') };
    const ctx = await getContext();
    try {
      const { user } = await signUpOrLogIn(ctx.db.db, { ...values, password: String(form.get('password') ?? '') }, { throttle: { throttles: ctx.throttles, address: clientAddress(event) } });
      await startSession(ctx, cookies, url, user.id, locals.session?.id ?? null, request.headers.get('user-agent'));
    } catch (err) {
      return actionFailure(err, values);
    }
    redirect(303, safeRedirectPath(url.searchParams.get('next')));
  },
};
