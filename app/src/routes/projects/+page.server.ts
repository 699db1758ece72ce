import { redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { createProject } from '$lib/server/services/projects';
import { listProjectCards } from '$lib/server/services/project-library';
import { actionFailure } from '$lib/server/http';
import { can } from '$lib/server/services/accounts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals }) => {
  if (!locals.user) redirect(303, '/login?next=/projects');
  const cards = await listProjectCards(await getContext(), locals.user.id);
  // What each card offers follows the role table (the procedures check it again).
  return { projects: cards.map((c) => ({ ...c, mayEdit: can(c.role, 'edit'), mayDelete: can(c.role, 'deleteProjects') })) };
};

export const actions: Actions = {
  create: async ({ request, locals }) => {
    if (!locals.user) redirect(303, '/login');
    const form = await request.formData();
    let id: string;
    try {
      const project = await createProject(await getContext(), locals.user.id, {
        name: String(form.get('name') ?? ''),
        aspect: (String(form.get('aspect') ?? '9:16') as '9:16'),
      });
      id = project.id;
    } catch (err) {
      return actionFailure(err, {});
    }
    redirect(303, `/projects/${id}`);
  },
};
