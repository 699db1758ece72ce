import { redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { pageError } from '$lib/server/http';
import { canEdit, canManageMembers, canReview } from '$lib/server/services/accounts';
import { commentsOf, listVersionStack, mentionCandidates, projectAudit } from '$lib/server/services/review';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, url }) => {
  if (!locals.user) redirect(303, `/login?next=/projects/${params.projectId}/versions`);
  const ctx = await getContext();
  let stack;
  try {
    stack = await listVersionStack(ctx, locals.user.id, params.projectId);
  } catch (err) {
    pageError(err);
  }
  const playable = stack.versions.filter((v) => v.status === 'succeeded');
  const wanted = url.searchParams.get('render');
  const selected = playable.find((v) => v.id === wanted) ?? playable[0] ?? null;
  const compare = (url.searchParams.get('compare') ?? '').split(',').filter(Boolean);
  const editor = canEdit(stack.role);
  return {
    ...stack,
    canEdit: editor,
    canReview: canReview(stack.role),
    canManage: canManageMembers(stack.role),
    selected,
    comments: selected ? await commentsOf(ctx, selected.id) : [],
    compare: compare.length === 2 ? compare.map((id) => playable.find((v) => v.id === id) ?? null) : null,
    audit: editor ? (await projectAudit(ctx, locals.user.id, params.projectId)).slice(0, 50) : [],
    focusComment: url.searchParams.get('comment'),
    mentionables: canReview(stack.role) ? await mentionCandidates(ctx, params.projectId, false) : [],
  };
};
