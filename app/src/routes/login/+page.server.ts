import { fail, redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { AccountError, logIn } from '$lib/server/services/accounts';
import { loginLimiter, startSession } from '$lib/server/login';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals }) => {
  if (locals.user) redirect(303, '/projects');
};

export const actions: Actions = {
  default: async ({ request, cookies, url, locals, getClientAddress }) => {
    const form = await request.formData();
    const email = String(form.get('email') ?? '');
    const ctx = await getContext();
    try {
      const user = await logIn(ctx.db.db, { email, password: String(form.get('password') ?? '') }, { rateLimit: { limiter: loginLimiter, ip: getClientAddress() } });
      await startSession(ctx, cookies, url, user.id, locals.session?.id ?? null);
    } catch (err) {
      if (err instanceof AccountError) return fail(err.httpStatus, { email, message: err.message });
      throw err;
    }
    const next = url.searchParams.get('next');
    redirect(303, next && next.startsWith('/') && !next.startsWith('//') ? next : '/projects');
  },
};
