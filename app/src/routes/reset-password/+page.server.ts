import { getContext } from '$lib/server/context';
import { requestPasswordReset } from '$lib/server/services/accounts/account';
import { actionFailure, clientAddress } from '$lib/server/http';
import type { Actions } from './$types';

export const actions: Actions = {
  /** Same answer whether or not the email has an account; throttled like sign-up. */
  default: async (event) => {
    const form = await event.request.formData();
    const email = String(form.get('email') ?? '');
    const ctx = await getContext();
    try {
      await ctx.throttles.hit('signup', clientAddress(event));
      const r = await requestPasswordReset(ctx, email);
      return { sent: true, mailed: r.mailed, email };
    } catch (err) {
      return actionFailure(err, { email });
    }
  },
};
