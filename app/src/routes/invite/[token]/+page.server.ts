import { redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { acceptInvite, inspectInvite } from '$lib/server/services/accounts/invites';
import { isServiceError } from '$lib/server/services/errors';
import { actionFailure } from '$lib/server/http';
import { logger } from '$lib/server/logger';
import type { Actions, PageServerLoad } from './$types';

/** Shows what the invite is for; a logged-out visitor logs in or signs up and comes back here. */
export const load: PageServerLoad = async ({ params, locals }) => {
  const ctx = await getContext();
  try {
    const invite = await inspectInvite(ctx.db.db, params.token);
    return { invite: { ...invite, expiresAt: invite.expiresAt.toISOString() }, problem: null, me: locals.user ? { email: locals.user.email, name: locals.user.name } : null };
  } catch (err) {
    if (!isServiceError(err)) throw err;
    return { invite: null, problem: err.publicMessage, me: locals.user ? { email: locals.user.email, name: locals.user.name } : null };
  }
};

export const actions: Actions = {
  default: async ({ params, locals }) => {
    if (!locals.user) redirect(303, `/login?next=${encodeURIComponent(`/invite/${params.token}`)}`);
    const ctx = await getContext();
    let target = '/projects';
    try {
      const accepted = await acceptInvite(ctx.db.db, params.token, locals.user.id);
      logger.info({ orgId: accepted.orgId, projectId: accepted.projectId, userId: locals.user.id }, 'invite accepted');
      target = accepted.projectId ? `/projects/${accepted.projectId}` : `/settings/team?org=${accepted.orgId}`;
    } catch (err) {
      return actionFailure(err, {});
    }
    redirect(303, target);
  },
};
