import { getContext } from '$lib/server/context';
import { readinessResponse } from '$lib/server/health';
import type { RequestHandler } from './$types';

/** Readiness of every dependency (same as /readyz): cached, bounded, never spawns a process. */
export const GET: RequestHandler = async () => readinessResponse(await getContext());
