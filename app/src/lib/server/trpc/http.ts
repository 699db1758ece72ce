/**
 * The HTTP side of tRPC: one Fetch Request in, tRPC's Response out. hooks.server.ts answers
 * /api/trpc with it before SvelteKit resolves the route (after the auth and safety handles), and
 * the route file (routes/api/trpc/[...trpc]/+server.ts) serves it the same way should a request
 * ever reach SvelteKit's resolve. Errors are shaped and logged by trpc/init.ts.
 *
 * Queries and mutations answered with plain JSON go through `resolveJsonCalls` (json-calls.ts), a
 * lean re-implementation of that branch of tRPC's own handler; what it does not serve (subscriptions, streams,
 * other content types) goes to tRPC's fetch adapter unchanged.
 */
import type { RequestEvent } from '@sveltejs/kit';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getContext } from '../context.ts';
import type { TrpcContext } from './init.ts';
import { TRPC_ENDPOINT, resolveJsonCalls } from './json-calls.ts';
import { appRouter } from './router.ts';

/** The route id SvelteKit gives /api/trpc/* (the route file keeps it, so body limits and metrics see it). */
export const TRPC_ROUTE_ID = '/api/trpc/[...trpc]';

export async function answerTrpc(event: Pick<RequestEvent, 'request' | 'locals' | 'url'>): Promise<Response> {
  const app = await getContext();
  const ctx: TrpcContext = { app, user: event.locals.user };
  return (await resolveJsonCalls(appRouter, event.request, event.url, ctx)) ?? fetchRequestHandler({ endpoint: TRPC_ENDPOINT, req: event.request, router: appRouter, createContext: () => ctx });
}
