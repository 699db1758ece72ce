import { fail, redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { AccountError, signUp } from '$lib/server/services/accounts';
import { startSession } from '$lib/server/login';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals }) => {
  if (locals.user) redirect(303, '/projects');
};

export const actions: Actions = {
  default: async ({ request, cookies, url, locals }) => {
    const form = await request.formData();
    const values = { email: String(form.get('email') ?? ''), name: String(form.get('name') ?? '') };
    const ctx = await getContext();
    try {
      const { user } = await signUp(ctx.db.db, { ...values, password: String(form.get('password') ?? '') });
      await startSession(ctx, cookies, url, user.id, locals.session?.id ?? null);
    } catch (err) {
      if (err instanceof AccountError) return fail(err.httpStatus, { ...values, message: err.message, fieldErrors: err.details.fieldErrors ?? {} });
      throw err;
    }
    redirect(303, '/projects');
  },
};
