import { error, fail } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { listInstanceUsers, requireInstanceAdmin, setInstanceFlag } from '$lib/server/services/accounts/instance-admin';
import { isServiceError } from '$lib/server/services/errors';
import type { Actions, PageServerLoad } from './$types';

async function admin(locals: App.Locals) {
  const ctx = await getContext();
  try {
    return { ctx, actor: await requireInstanceAdmin(ctx.db.db, locals.user?.id) };
  } catch {
    error(404, 'Not found.');
  }
}

export const load: PageServerLoad = async ({ locals, url }) => {
  const { ctx } = await admin(locals);
  const search = (url.searchParams.get('q') ?? '').slice(0, 100);
  return { users: await listInstanceUsers(ctx.db.db, { search }), search, me: locals.user!.id };
};

export const actions: Actions = {
  /** grant/revoke one instance role: fields userId, flag (farmAdmin|instanceAdmin), value (true|false). */
  set: async ({ locals, request }) => {
    const { ctx, actor } = await admin(locals);
    const form = await request.formData();
    try {
      await setInstanceFlag(ctx.db.db, actor, { userId: String(form.get('userId') ?? ''), flag: String(form.get('flag') ?? '') as 'farmAdmin', value: form.get('value') === 'true' }, ctx);
    } catch (err) {
      if (isServiceError(err)) return fail(err.status, { message: err.publicMessage });
      throw err;
    }
    return { ok: true };
  },
};
