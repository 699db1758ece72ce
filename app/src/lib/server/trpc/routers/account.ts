/** Your own account: change of email (step 1; step 2 is the /confirm-email/<token> page) and deletion. */
import { z } from 'zod';
import { authedProcedure, router } from '../init.ts';
import { deleteAccount, requestEmailChange } from '../../services/accounts/account.ts';

export const accountRouter = router({
  /** Mails a confirmation link to the new address (your password again). */
  requestEmailChange: authedProcedure
    .input(z.object({ password: z.string().max(1024), newEmail: z.string().max(254) }))
    .mutation(({ ctx, input }) => requestEmailChange(ctx.app, ctx.user.id, input)),
  /** Deletes the caller's account under the ownership rules (your password again). */
  delete: authedProcedure.input(z.object({ password: z.string().max(1024) })).mutation(({ ctx, input }) => deleteAccount(ctx.app, ctx.user.id, input)),
});
