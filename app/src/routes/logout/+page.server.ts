import { redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { blankSessionCookie } from '$lib/server/auth/session';
import { endSession } from '$lib/server/login';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = () => redirect(303, '/');

export const actions: Actions = {
  default: async ({ locals, cookies, url }) => {
    if (locals.session && locals.user) await endSession(await getContext(), locals.session.id, locals.user.id);
    const c = blankSessionCookie({ secure: url.protocol === 'https:' });
    cookies.set(c.name, c.value, c.options);
    redirect(303, '/login');
  },
};
