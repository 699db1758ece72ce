import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { building } from '$app/environment';
import { getContext } from '$lib/server/context';
import { installMetrics, observeRequest } from '$lib/server/metrics';
import { logger } from '$lib/server/logger';
import { bodyLimitFor, bufferBody, checkDeclaredLength, refuseUnread } from '$lib/server/body-limit';
import { internalErrorMessage, isAbortError, logUnexpected } from '$lib/server/http';
import { NOT_FOUND_MESSAGE } from '$lib/server/services/errors';
import { crossSiteAnswer, crossSiteRefusal, narrowConnectSrc, securityHeaders } from '$lib/server/security';
import { SESSION_COOKIE_NAME, sessionCookieHeader } from '$lib/server/auth/session';
import { requestSession } from '$lib/server/auth/request-session';
import { TRPC_ROUTE_ID, answerTrpc } from '$lib/server/trpc/http';
import { resumableUploads } from '$lib/server/resumable-uploads';
import { NODE_HOOK, nodeHook } from '$lib/server/trpc/node';

/**
 * tRPC queries and mutations are answered at the Node level (trpc/node.ts), with the same checks as
 * the handles below, before SvelteKit builds a Request for them; the servers look the hook up here.
 */
(globalThis as Record<symbol, unknown>)[NODE_HOOK] = nodeHook;

/**
 * Sets locals.user from the session cookie; renews the cookie when the session slid forward.
 * tRPC (GET and POST /api/trpc/*) is answered right here, after every other handle has run (timing,
 * security headers, cross-site refusal, body limit) but without SvelteKit's route resolution: for a
 * small read that pipeline was a large share of the CPU per request (docs/BENCHMARKS.md). The
 * procedures check auth themselves (authedProcedure, the services' role checks), as before. Since
 * that answer skips SvelteKit's resolve, which is what writes `event.cookies` onto a response, the
 * session cookie is written onto it here (tRPC procedures set no cookies of their own).
 */
const auth: Handle = async ({ event, resolve }) => {
  const { user, session, cookie } = await requestSession(event.cookies.get(SESSION_COOKIE_NAME), event.url.protocol === 'https:');
  event.locals.user = user;
  event.locals.session = session;
  if (event.route.id === TRPC_ROUTE_ID && (event.request.method === 'GET' || event.request.method === 'POST')) {
    const response = await answerTrpc(event);
    if (cookie) response.headers.append('set-cookie', sessionCookieHeader(cookie));
    return response;
  }
  if (cookie) event.cookies.set(cookie.name, cookie.value, cookie.options);
  return resolve(event);
};

/**
 * The hardening headers (security.ts `securityHeaders`: COOP/COEP for ffmpeg.wasm's threads, HSTS
 * behind TLS, ...). CSP is set by SvelteKit (svelte.config.js kit.csp) so its inline bootstrap
 * script gets a hash; here its connect-src is narrowed to the collab-server.
 */
const hardening: Handle = async ({ event, resolve }) => {
  const response = await resolve(event);
  const h = response.headers;
  const csp = h.get('content-security-policy');
  if (csp) h.set('content-security-policy', narrowConnectSrc(csp, process.env.COLLAB_PUBLIC_URL));
  for (const [name, value] of securityHeaders(process.env.ORIGIN)) h.set(name, value);
  return response;
};

/**
 * Body caps (body-limit.ts): 1 MiB unless the route says otherwise, enforced while reading and
 * before anything parses the body; only streaming routes (uploads) get the raw stream.
 */
const bodyLimit: Handle = async ({ event, resolve }) => {
  if (event.request.body === null) return resolve(event);
  const limit = bodyLimitFor(event.route.id, (await getContext()).config);
  const nodeReq = event.platform?.req; // adapter-node: for the lingering close of a refused body
  if (limit.stream) return checkDeclaredLength(event.request, limit.bytes, nodeReq) ?? resolve(event);
  let buffered: Request | Response;
  try {
    buffered = await bufferBody(event.request, limit.bytes, nodeReq);
  } catch (err) {
    if (!isAbortError(err)) throw err;
    logger.debug({ route: event.route.id, method: event.request.method }, 'request aborted by the client');
    return new Response(null, { status: 400, headers: { connection: 'close' } });
  }
  if (buffered instanceof Response) return buffered;
  event.request = buffered;
  return resolve(event);
};

/**
 * CSRF for everything that is not a form action (SvelteKit checks those): tRPC mutations, uploads,
 * any non-GET endpoint. A browser's cross-site request is refused before auth or any work happens.
 */
const crossSite: Handle = async ({ event, resolve }) => {
  const why = crossSiteRefusal(event.request.method, event.request.headers, event.url.origin);
  // The body is never read: discarded while the connection lingers, then closed (no reset before the 403).
  if (why) return refuseUnread(crossSiteAnswer(why), event.platform?.req);
  return resolve(event);
};

/** Request duration by route and status, and 5xx counts, for Prometheus (metrics.ts). */
const timing: Handle = async ({ event, resolve }) => {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  try {
    const res = await resolve(event);
    observeRequest(event.request.method, event.route.id, res.status, seconds());
    return res;
  } catch (err) {
    observeRequest(event.request.method, event.route.id, 500, seconds());
    throw err;
  }
};

/**
 * The handles in order, each calling the next through `resolve`, like SvelteKit's sequence() but
 * without what sequence() adds per handle on every request: a tracing span, a copy of the event and
 * an AsyncLocalStorage run (SvelteKit already runs the whole handle inside one). At ~0.3 ms CPU for
 * a request that does no I/O, that per-handle work was a measurable share (docs/BENCHMARKS.md).
 * Resolve options a handle passes reach SvelteKit's resolve (the innermost handle's win; sequence()
 * would merge transformPageChunk, which none of these uses).
 */
function chain(...handles: Handle[]): Handle {
  return ({ event, resolve }) => {
    type Options = Parameters<typeof resolve>[1];
    const at = (i: number, e: typeof event, outer: Options): ReturnType<Handle> =>
      handles[i]!({ event: e, resolve: (next, opts) => (i + 1 < handles.length ? at(i + 1, next, opts ?? outer) : resolve(next, opts ?? outer)) });
    return at(0, event, undefined);
  };
}

export const handle = chain(timing, hardening, crossSite, bodyLimit, auth);

/** At server start: the context (and with it the render reconciler) and the tus store exist before the first request. */
export const init: ServerInit = async () => {
  if (building) return;
  // Not fatal: a database that is not up yet fails the first requests instead, which retry it.
  await getContext()
    .then(async (ctx) => {
      installMetrics(ctx);
      await resumableUploads(ctx); // its private folder, and the sweep of abandoned partial uploads
    })
    .catch((err: unknown) => logger.error({ err }, 'server context not ready at start'));
};

/**
 * Production (`node app/build`): on SIGTERM adapter-node stops accepting, drains in-flight requests
 * (SHUTDOWN_TIMEOUT) and then emits 'sveltekit:shutdown'. The process only exits once nothing holds
 * the event loop, so the context's Postgres pool and Redis clients are closed here; without this it
 * would hang until the orchestrator's SIGKILL. (`pnpm start` embeds the handler and closes its own
 * handles; this event never fires there.)
 */
process.once('sveltekit:shutdown', () => {
  const created = (globalThis as Record<symbol, Promise<Awaited<ReturnType<typeof getContext>>> | undefined>)[Symbol.for('clipmaker.app.context')];
  if (!created) return;
  void created
    .then((ctx) => ctx.close())
    .catch(() => {});
});

/**
 * Errors SvelteKit did not get as `error()`: one pino line with the route and an id (logUnexpected);
 * the client sees only the id. Every 404 reads the same (missing route, missing or inaccessible id).
 */
export const handleError: HandleServerError = ({ error, event, status, message }) => {
  if (status === 404) return { message: NOT_FOUND_MESSAGE };
  if (isAbortError(error)) {
    logger.debug({ route: event.route.id, method: event.request.method }, 'request aborted by the client');
    return { message: 'aborted' };
  }
  if (status < 500) return { message };
  return { message: internalErrorMessage(logUnexpected(error, { method: event.request.method, path: event.url.pathname, route: event.route.id, status })) };
};
