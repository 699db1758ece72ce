import { redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { createProject, listProjects } from '$lib/server/services/projects';
import { actionFailure } from '$lib/server/http';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals }) => {
  if (!locals.user) redirect(303, '/login?next=/projects');
  const projects = await listProjects(await getContext(), locals.user.id);
  return { projects: projects.map((p) => ({ id: p.id, name: p.name, orgName: p.orgName, role: p.role, updatedAt: p.updatedAt.toISOString() })) };
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
