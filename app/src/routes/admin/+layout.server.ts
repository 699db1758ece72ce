import { error } from '@sveltejs/kit';
import type { LayoutServerLoad } from './$types';

/** The console does not exist for anyone but farm admins (every load and action re-checks). */
export const load: LayoutServerLoad = ({ locals }) => {
  if (!locals.user?.isFarmAdmin) error(404, 'Not found.');
  return {};
};
