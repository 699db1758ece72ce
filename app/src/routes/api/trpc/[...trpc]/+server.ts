import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getContext } from '$lib/server/context';
import { appRouter } from '$lib/server/trpc/router';
import type { RequestHandler } from './$types';

const handler: RequestHandler = async (event) => {
  const app = await getContext();
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req: event.request,
    router: appRouter,
    createContext: () => ({ app, user: event.locals.user }),
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`[trpc] ${path}:`, error.cause ?? error);
    },
  });
};

export const GET = handler;
export const POST = handler;
