/**
 * The HTTP side of tRPC: one Fetch Request in, tRPC's Response out. hooks.server.ts answers
 * /api/trpc with it before SvelteKit resolves the route (after the auth and safety handles), and
 * the route file (routes/api/trpc/[...trpc]/+server.ts) serves it the same way should a request
 * ever reach SvelteKit's resolve. Errors are shaped and logged by trpc/init.ts.
 */
import type { RequestEvent } from '@sveltejs/kit';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getContext } from '../context.ts';
import { appRouter } from './router.ts';

/** The route id SvelteKit gives /api/trpc/* (the route file keeps it, so body limits and metrics see it). */
export const TRPC_ROUTE_ID = '/api/trpc/[...trpc]';

export async function answerTrpc(event: Pick<RequestEvent, 'request' | 'locals'>): Promise<Response> {
  const app = await getContext();
  const user = event.locals.user;
  return fetchRequestHandler({ endpoint: '/api/trpc', req: event.request, router: appRouter, createContext: () => ({ app, user }) });
}
