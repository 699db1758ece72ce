import type { RequestHandler } from './$types';

/** Liveness: the process answers. No I/O, no context: an orchestrator restarts only a stuck process. */
export const GET: RequestHandler = () => new Response('{"ok":true}', { headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
