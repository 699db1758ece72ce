import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getContext } from '$lib/server/context';
import { appRouter } from '$lib/server/trpc/router';
import type { RequestHandler } from './$types';

/** Errors are shaped and logged (with an id, or at debug for client aborts) by trpc/init.ts. */
const handler: RequestHandler = async (event) => {
  const app = await getContext();
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req: event.request,
    router: appRouter,
    createContext: () => ({ app, user: event.locals.user }),
  });
};

export const GET = handler;
export const POST = handler;
