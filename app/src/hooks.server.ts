import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { sequence } from '@sveltejs/kit/hooks';
import { building } from '$app/environment';
import { getContext } from '$lib/server/context';
import { logger } from '$lib/server/logger';
import { bodyLimitFor, bufferBody, checkDeclaredLength } from '$lib/server/body-limit';
import { internalErrorMessage, isAbortError, logUnexpected } from '$lib/server/http';
import { NOT_FOUND_MESSAGE } from '$lib/server/services/errors';
import { crossSiteRefusal, narrowConnectSrc } from '$lib/server/security';
import { SESSION_COOKIE_NAME, blankSessionCookie, sessionCookie, validateSessionToken } from '$lib/server/auth/session';

/** Sets locals.user from the session cookie; renews the cookie when the session slid forward. */
const auth: Handle = async ({ event, resolve }) => {
  event.locals.user = null;
  event.locals.session = null;
  const token = event.cookies.get(SESSION_COOKIE_NAME);
  if (token) {
    const ctx = await getContext();
    const secure = event.url.protocol === 'https:';
    const result = await validateSessionToken(ctx.db.db, token);
    if (result) {
      event.locals.user = { id: result.user.id, email: result.user.email, name: result.user.name, isFarmAdmin: result.user.isFarmAdmin };
      event.locals.session = { id: result.session.id, expiresAt: result.session.expiresAt };
      if (result.renewed) {
        const c = sessionCookie(token, result.session.expiresAt, { secure });
        event.cookies.set(c.name, c.value, c.options);
      }
    } else {
      const c = blankSessionCookie({ secure });
      event.cookies.set(c.name, c.value, c.options);
    }
  }
  return resolve(event);
};

/**
 * Cross-origin isolation (COOP/COEP) lets ffmpeg.wasm use threads (SharedArrayBuffer); the rest are
 * the usual hardening headers. CSP is set by SvelteKit (svelte.config.js kit.csp) so its inline
 * bootstrap script gets a hash.
 */
const securityHeaders: Handle = async ({ event, resolve }) => {
  const response = await resolve(event);
  const h = response.headers;
  const csp = h.get('content-security-policy');
  if (csp) h.set('content-security-policy', narrowConnectSrc(csp, process.env.COLLAB_PUBLIC_URL));
  h.set('Cross-Origin-Opener-Policy', 'same-origin');
  h.set('Cross-Origin-Embedder-Policy', 'require-corp');
  h.set('Cross-Origin-Resource-Policy', 'same-origin');
  h.set('X-Content-Type-Options', 'nosniff');
  h.set('Referrer-Policy', 'same-origin');
  h.set('X-Frame-Options', 'DENY');
  h.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
  // Behind TLS (ORIGIN is https://), browsers must never come back over plain http.
  if (process.env.ORIGIN?.startsWith('https://')) h.set('Strict-Transport-Security', 'max-age=31536000');
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
  if (why) return new Response(JSON.stringify({ error: why }), { status: 403, headers: { 'content-type': 'application/json' } });
  return resolve(event);
};

export const handle = sequence(securityHeaders, crossSite, bodyLimit, auth);

/** At server start: the context (and with it the render reconciler) exists before the first request. */
export const init: ServerInit = async () => {
  if (building) return;
  // Not fatal: a database that is not up yet fails the first requests instead, which retry it.
  await getContext().catch((err: unknown) => logger.error({ err }, 'server context not ready at start'));
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
