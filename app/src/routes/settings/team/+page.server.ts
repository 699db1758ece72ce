import { error, redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { listMyOrgs } from '$lib/server/services/accounts/orgs';
import { orgAudit, orgSettings } from '$lib/server/services/accounts/members';
import { canManageMembers } from '$lib/server/services/accounts/roles';
import { mailEnabled } from '$lib/server/services/mail';
import { isServiceError } from '$lib/server/services/errors';
import type { PageServerLoad } from './$types';

/** Org settings: the org in ?org= (default: the first one you own, else your first). */
export const load: PageServerLoad = async ({ locals, url }) => {
  if (!locals.user) redirect(303, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
  const ctx = await getContext();
  const orgs = await listMyOrgs(ctx.db.db, locals.user.id);
  const wanted = url.searchParams.get('org');
  const org = (wanted ? orgs.find((o) => o.id === wanted) : orgs.find((o) => o.role === 'owner') ?? orgs[0]) ?? null;
  if (wanted && !org) error(404, 'Not found.');
  if (!org) return { orgs, settings: null, audit: [], mailOn: mailEnabled(ctx) };
  try {
    const settings = await orgSettings(ctx, locals.user.id, org.id);
    const audit = canManageMembers(settings.myRole) ? await orgAudit(ctx, locals.user.id, org.id, 100) : [];
    return { orgs, settings, audit, mailOn: mailEnabled(ctx) };
  } catch (err) {
    if (isServiceError(err) && err.code === 'not-found') error(404, 'Not found.');
    throw err;
  }
};
