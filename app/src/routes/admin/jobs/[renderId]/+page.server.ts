import { error } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { jobDetail, requireFarmAdmin } from '$lib/server/services/admin';
import { ServiceError } from '$lib/server/services/errors';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params }) => {
  try {
    requireFarmAdmin(locals.user);
  } catch {
    error(404, 'Not found.');
  }
  if (!/^[0-9a-f-]{36}$/.test(params.renderId)) error(404, 'Not found.');
  try {
    return { job: await jobDetail(await getContext(), params.renderId) };
  } catch (err) {
    if (err instanceof ServiceError && err.code === 'not-found') error(404, 'Not found.');
    throw err;
  }
};
