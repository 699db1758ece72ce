/**
 * tRPC queries and mutations answered at the Node HTTP level, before SvelteKit's handler builds a
 * Fetch Request, an event and a streamed Response for them. On a small read that framework path was
 * over half of the CPU per request (`GET /livez`, which does no I/O, costs ~0.25-0.3 ms through it
 * against ~0.015 ms for a bare Node server: docs/BENCHMARKS.md), and at 50 connections on one core
 * that floor alone queues ~15 ms per request in flight.
 *
 * The same checks run, in the same order, with the same code where it is shared, as the handles in
 * hooks.server.ts give every request:
 *  1. timing: `observeRequest` with the route id SvelteKit gives /api/trpc/* (metrics.ts);
 *  2. hardening headers (security.ts `securityHeaders`);
 *  3. the cross-site refusal of non-safe methods (security.ts `crossSiteRefusal`), body unread;
 *  4. the body cap (body-limit.ts: the route's limit, a declared oversize refused before a byte is
 *     read, 413 with the lingering close; a client gone mid-body is logged at debug, 400);
 *  5. the session (auth/request-session.ts, the cookie read as SvelteKit reads it; a renewed or
 *     invalid session's Set-Cookie written onto the answer);
 *  6. tRPC's answer (json-calls.ts `planJsonCalls` + `answerJsonCalls`, the same lean path).
 * What it does not take goes to SvelteKit unchanged, body unread (`next()`): methods other than GET
 * and POST, any path but /api/trpc/<procedure names>, a POST that is not JSON, `application/jsonl`
 * streams, subscriptions, malformed paths, and everything when ORIGIN is unset (SvelteKit then
 * derives the origin from the request) or TRPC_FAST_PATH=off.
 * tests/integration/trpc-node-path.test.ts holds both paths' answers against each other.
 *
 * hooks.server.ts registers it on globalThis (`NODE_HOOK`); the servers call it before SvelteKit's
 * handler: adapter-node's `node app/build` through the middleware svelte.config.js adds to its
 * polka server, `pnpm start` (scripts/start.ts) in its request listener.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { getContext } from '../context.ts';
import { observeRequest } from '../metrics.ts';
import { logger } from '../logger.ts';
import { bodyLimitFor, readNodeBody, refuseUnread, tooLarge } from '../body-limit.ts';
import { internalErrorMessage, isAbortError, logUnexpected } from '../http.ts';
import { crossSiteAnswer, crossSiteRefusal, securityHeaders } from '../security.ts';
import { SESSION_COOKIE_NAME, sessionCookieHeader } from '../auth/session.ts';
import { cookieValue, requestSession } from '../auth/request-session.ts';
import type { TrpcContext } from './init.ts';
import { answerJsonCalls, planJsonCalls, type JsonCallRequest } from './json-calls.ts';
import { appRouter } from './router.ts';
import { TRPC_ROUTE_ID } from './http.ts';

/** Where hooks.server.ts puts `nodeHook` for the servers (a symbol: the server bundle and the launcher are separate modules). */
export const NODE_HOOK = Symbol.for('clipmaker.app.nodeHook');

export type NodeHook = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** /api/trpc/ and procedure names (dots; commas in a batch), then the query. Anything else: SvelteKit. */
const TRPC_URL = /^\/api\/trpc\/[A-Za-z0-9_.,-]+(?:\?|$)/;

/** Request headers read from Node's (lower-cased, duplicates joined) as a Fetch Headers reads them. */
class NodeHeaders {
  constructor(private readonly h: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const v = this.h[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
  has(name: string): boolean {
    return this.h[name.toLowerCase()] !== undefined;
  }
}

interface Settings {
  origin: string;
  secure: boolean;
  /** The hardening headers, lower-cased as SvelteKit's responses carry them. */
  hardening: [string, string][];
}

let settings: Settings | null | undefined;

/** Read once, at the first request: the servers set ORIGIN before they load the app. */
function currentSettings(): Settings | null {
  if (settings !== undefined) return settings;
  const origin = process.env.ORIGIN;
  if (!origin || process.env.TRPC_FAST_PATH === 'off') return (settings = null);
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return (settings = null); // adapter-node refuses it its own way
  }
  const hardening = securityHeaders(origin).map(([k, v]): [string, string] => [k.toLowerCase(), v]);
  return (settings = { origin: parsed.origin, secure: parsed.protocol === 'https:', hardening });
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string, s: Settings, cookie?: string): void {
  const out: Record<string, string | string[]> = {};
  for (const k in headers) out[k] = headers[k]!;
  for (const [k, v] of s.hardening) out[k] = v;
  if (cookie) out['set-cookie'] = cookie;
  out['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(status, out);
  res.end(body);
}

/** A refusal made as a Fetch Response by the shared code (the cross-site 403, body-limit.ts's 413), written as is. */
async function sendResponse(res: ServerResponse, response: Response, s: Settings): Promise<number> {
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => (headers[k] = v));
  send(res, response.status, headers, await response.text(), s);
  return response.status;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Answers a request `nodeHook` took; the status it answered. */
async function serve(req: IncomingMessage, res: ServerResponse, s: Settings, headers: NodeHeaders, plan: NonNullable<Awaited<ReturnType<typeof planJsonCalls>>>, body: { text: string }, aborted: () => void): Promise<number> {
  const method = req.method!;
  const why = crossSiteRefusal(method, headers, s.origin);
  // The body is never read: discarded while the connection lingers, then closed (as hooks.server.ts does).
  if (why) return sendResponse(res, refuseUnread(crossSiteAnswer(why), req), s);
  const app = await getContext();
  if (method === 'POST') {
    const limit = bodyLimitFor(TRPC_ROUTE_ID, app.config).bytes;
    let read: Buffer | 'too-large';
    try {
      read = await readNodeBody(req, limit);
    } catch (err) {
      if (!isAbortError(err)) throw err;
      aborted();
      send(res, 400, { connection: 'close' }, '', s);
      return 400;
    }
    if (read === 'too-large') return sendResponse(res, tooLarge(limit, req), s);
    const text = read.toString('utf8');
    body.text = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // Request.text() drops a BOM
  }
  const { user, cookie } = await requestSession(cookieValue(req.headers.cookie, SESSION_COOKIE_NAME), s.secure);
  const ctx: TrpcContext = { app, user };
  const answer = await answerJsonCalls(plan, ctx);
  send(res, answer.status, answer.headers, answer.body, s, cookie ? sessionCookieHeader(cookie) : undefined);
  return answer.status;
}

/**
 * The Node-level hook: answers what it takes (see the module comment), calls `next()` for the rest
 * before reading anything from the request. Never throws: an unexpected error is logged with an id
 * and answered 500, as SvelteKit's handleError answers it.
 */
export const nodeHook: NodeHook = (req, res, next) => {
  const method = req.method;
  const s = (method === 'GET' || method === 'POST') && req.url !== undefined && TRPC_URL.test(req.url) ? currentSettings() : null;
  if (!s) return next();
  const started = performance.now();
  const headers = new NodeHeaders(req.headers);
  const body = { text: '' };
  const request: JsonCallRequest = { method: method!, headers, text: () => Promise.resolve(body.text) };
  let url: URL;
  try {
    url = new URL(req.url!, s.origin);
  } catch {
    return next();
  }
  void planJsonCalls(appRouter, request, url)
    .then(async (plan) => {
      if (!plan) return next();
      // One debug line per request the client left (mid-body, or before its answer was written).
      let logged = false;
      const aborted = () => {
        if (logged) return;
        logged = true;
        logger.debug({ route: TRPC_ROUTE_ID, method }, 'request aborted by the client');
      };
      res.once('close', () => {
        if (!res.writableFinished) aborted();
      });
      let status: number;
      try {
        status = await serve(req, res, s, headers, plan, body, aborted);
      } catch (err) {
        status = 500;
        if (isAbortError(err)) {
          aborted();
          res.destroy();
        } else {
          const id = logUnexpected(err, { method, path: url.pathname, route: TRPC_ROUTE_ID, status });
          if (!res.headersSent) send(res, 500, JSON_HEADERS, JSON.stringify({ message: internalErrorMessage(id) }), s);
          else res.destroy();
        }
      }
      observeRequest(method!, TRPC_ROUTE_ID, status, (performance.now() - started) / 1000);
    })
    .catch((err: unknown) => {
      // planJsonCalls itself failed (it catches what a request can cause): SvelteKit answers instead.
      logUnexpected(err, { method, path: url.pathname, route: TRPC_ROUTE_ID });
      if (!res.headersSent) next();
    });
};
