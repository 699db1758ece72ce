import { redirect } from '@sveltejs/kit';
import { COLLAB_TOKEN_TTL_SECONDS, signCollabToken } from '@clipmaker/shared/collab';
import { getContext } from '$lib/server/context';
import { openProject } from '$lib/server/services/projects';
import { listRenders } from '$lib/server/services/renders';
import { pageError } from '$lib/server/http';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params }) => {
  if (!locals.user) redirect(303, `/login?next=/projects/${params.projectId}`);
  const ctx = await getContext();
  let opened;
  try {
    opened = await openProject(ctx, locals.user.id, params.projectId);
  } catch (err) {
    pageError(err);
  }
  const token = await signCollabToken(
    { sub: locals.user.id, name: locals.user.name, projectId: opened.project.id, role: opened.role, exp: Math.floor(Date.now() / 1000) + COLLAB_TOKEN_TTL_SECONDS },
    ctx.config.COLLAB_SECRET,
  );
  return {
    project: { id: opened.project.id, name: opened.project.name, fps: { num: opened.project.fpsNum, den: opened.project.fpsDen } },
    role: opened.role,
    assets: opened.assets,
    renders: await listRenders(ctx, locals.user.id, opened.project.id),
    collab: { url: ctx.config.COLLAB_PUBLIC_URL, token },
  };
};
