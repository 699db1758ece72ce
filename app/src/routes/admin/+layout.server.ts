import { error } from '@sveltejs/kit';
import type { LayoutServerLoad } from './$types';

/**
 * Admin exists only for farm admins (the farm console) and instance admins (Users); every load and
 * action re-checks its own rule.
 */
export const load: LayoutServerLoad = ({ locals }) => {
  if (!locals.user?.isFarmAdmin && !locals.user?.isInstanceAdmin) error(404, 'Not found.');
  return { isFarmAdmin: locals.user.isFarmAdmin, isInstanceAdmin: locals.user.isInstanceAdmin };
};
