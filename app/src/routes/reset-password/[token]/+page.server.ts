import { redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { resetPassword } from '$lib/server/services/accounts/account';
import { actionFailure } from '$lib/server/http';
import type { Actions } from './$types';

export const actions: Actions = {
  default: async ({ params, request }) => {
    const form = await request.formData();
    try {
      await resetPassword(await getContext(), params.token, String(form.get('password') ?? ''));
    } catch (err) {
      return actionFailure(err, {});
    }
    redirect(303, '/login?reset=1');
  },
};
