/** In-app notifications of the caller. */
import { z } from 'zod';
import { authedProcedure, router } from '../init.ts';
import { listNotifications, markRead, unreadCount } from '../../services/notifications.ts';

export const notificationsRouter = router({
  list: authedProcedure.query(({ ctx }) => listNotifications(ctx.app.db.db, ctx.user.id)),
  unread: authedProcedure.query(({ ctx }) => unreadCount(ctx.app.db.db, ctx.user.id)),
  markRead: authedProcedure
    .input(z.object({ ids: z.array(z.string().uuid()).max(500).or(z.literal('all')) }))
    .mutation(({ ctx, input }) => markRead(ctx.app.db.db, ctx.user.id, input.ids)),
});
