import { answerTrpc } from '$lib/server/trpc/http';
import type { RequestHandler } from './$types';

/**
 * hooks.server.ts answers GET and POST here before SvelteKit's route resolution (trpc/http.ts); this
 * file keeps the route (its id drives body limits and metrics) and serves the same handler if a
 * request reaches it anyway.
 */
const handler: RequestHandler = (event) => answerTrpc(event);

export const GET = handler;
export const POST = handler;
