import { redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { listNotifications, markRead } from '$lib/server/services/notifications';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals }) => {
  if (!locals.user) redirect(303, '/login?next=/notifications');
  const ctx = await getContext();
  return { notifications: await listNotifications(ctx.db.db, locals.user.id, 100) };
};

export const actions: Actions = {
  readAll: async ({ locals }) => {
    if (!locals.user) redirect(303, '/login');
    await markRead((await getContext()).db.db, locals.user.id, 'all');
    return { ok: true };
  },
};
