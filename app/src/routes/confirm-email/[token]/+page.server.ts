import { redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { confirmEmailChange } from '$lib/server/services/accounts/account';
import { actionFailure } from '$lib/server/http';
import type { Actions } from './$types';

/** GET only shows a button: a mail scanner that follows the link must not use the token up. */
export const actions: Actions = {
  default: async ({ params }) => {
    try {
      await confirmEmailChange(await getContext(), params.token);
    } catch (err) {
      return actionFailure(err, {});
    }
    redirect(303, '/login?email-changed=1');
  },
};
