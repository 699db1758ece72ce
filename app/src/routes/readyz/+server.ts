import { getContext } from '$lib/server/context';
import { readinessResponse } from '$lib/server/health';
import type { RequestHandler } from './$types';

/** Readiness (health.ts): 200 when the database, Redis, the queue and ffmpeg/ffprobe are usable. */
export const GET: RequestHandler = async () => readinessResponse(await getContext());
