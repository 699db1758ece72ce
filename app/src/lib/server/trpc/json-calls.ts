/**
 * tRPC's answer to queries and mutations over plain JSON (every call but subscriptions and the
 * jsonl stream): `resolveJsonCalls` is a lean re-implementation of that branch of tRPC's `resolveResponse`
 * (the same request parsing, procedure call, error shapes, statuses and headers: tRPC's own
 * exported helpers do each step). What it leaves out is per-request work this app never uses: two
 * `AbortSignal.any` and two AbortControllers per request (on Node 20 each signal is made
 * transferable, and the composite signals are tracked with weak references: together with the GC they
 * caused they were ~25 % of a tRPC read's CPU, docs/BENCHMARKS.md), a second URL parse, and the
 * responseMeta/onError hooks, which this app does not set. The procedures get the request's own
 * signal (aborted when the client goes away), which is what tRPC's composite signal follows for a
 * non-streaming answer. Anything else (subscriptions over SSE, `application/jsonl`, HEAD, a body
 * that is not JSON) is handed to tRPC's fetch adapter unchanged, before the body is read.
 * json-calls.test.ts holds the two answers against each other, status, headers and body.
 */
import type { AnyTRPCRouter } from '@trpc/server';
import {
  TRPCError,
  getAcceptHeader,
  getErrorShape,
  getHTTPStatusCode,
  getRequestInfo,
  getTRPCErrorFromUnknown,
  isAsyncIterable,
  isObject,
  isPromise,
  transformTRPCResponse,
  urlPathToProcedurePath,
} from '@trpc/server/unstable-core-do-not-import';

/** Where the app mounts tRPC. */
export const TRPC_ENDPOINT = '/api/trpc';

type Call = Awaited<ReturnType<typeof getRequestInfo>>['calls'][number];
type CallResult = [TRPCError, undefined] | [undefined, { data: unknown }];

const ACCEPTED_METHOD = { query: 'GET', mutation: 'POST', subscription: 'GET' } as const;

const trimSlashes = (p: string) => p.replace(/^\//, '').replace(/\/$/, '');

/** What tRPC refuses to send as plain JSON (an async iterable, or an object holding promises or iterables). */
function isDataStream(v: unknown): boolean {
  if (!isObject(v)) return false;
  if (isAsyncIterable(v)) return true;
  const values = Object.values(v);
  return values.some(isPromise) || values.some(isAsyncIterable);
}

/**
 * What the lean path needs of a request: a Fetch Request has it, and so has the Node-level tRPC path
 * (trpc/node.ts), which builds no Request at all. `text()` is only called once a procedure reads its
 * input, after the request has passed every check.
 */
export interface JsonCallRequest {
  method: string;
  headers: { get(name: string): string | null; has(name: string): boolean };
  text(): Promise<string>;
  /** Procedures' `signal`; only subscriptions read it here, and they never take this path. */
  signal?: AbortSignal;
}

/** tRPC's answer as plain parts: status, headers (lower-case names) and the JSON body. */
export interface JsonCallsAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The calls of a request the lean path will answer, found without reading the body. */
export interface JsonCallsPlan {
  req: JsonCallRequest;
  info: Awaited<ReturnType<typeof getRequestInfo>>;
  config: AnyTRPCRouter['_def']['_config'];
}

/**
 * The calls of a GET (queries) or POST with a JSON body (mutations), single or batched, or null
 * (body unread) for what only tRPC's own handler serves: HEAD, subscriptions, a jsonl stream, another
 * content type, a malformed path. Nothing is read from the body here.
 */
export async function planJsonCalls<R extends AnyTRPCRouter>(router: R, req: JsonCallRequest, url: URL): Promise<JsonCallsPlan | null> {
  if (req.method !== 'GET' && req.method !== 'POST') return null;
  if (req.method === 'POST' && !req.headers.get('content-type')?.startsWith('application/json')) return null;
  if (getAcceptHeader(req.headers as Headers) === 'application/jsonl') return null;
  const config = router._def._config;
  let info: Awaited<ReturnType<typeof getRequestInfo>>;
  try {
    const raw = trimSlashes(trimSlashes(url.pathname).slice(trimSlashes(TRPC_ENDPOINT).length));
    const path = urlPathToProcedurePath(decodeURIComponent(raw), config.pathSeparator);
    info = await getRequestInfo({ req: req as Request, path, router, searchParams: url.searchParams, headers: req.headers as Headers, url, maxBatchSize: undefined });
  } catch {
    return null; // a malformed path: nothing is read yet (inputs are parsed per call), tRPC's handler answers
  }
  // Subscriptions (SSE, whatever the method) and their errors: tRPC's handler (inputs are not read yet).
  if (info.calls.some((c) => c.procedure?._def.type === 'subscription')) return null;
  return { req, info, config };
}

/** Runs the planned calls with `ctx` and shapes tRPC's answer: statuses, error shapes, headers, body. */
export async function answerJsonCalls({ req, info, config }: JsonCallsPlan, ctx: unknown): Promise<JsonCallsAnswer> {
  const headers: Record<string, string> = { vary: 'trpc-accept, accept' };
  const respond = (status: number, json: unknown): JsonCallsAnswer => {
    headers['content-type'] = 'application/json';
    return { status, headers, body: JSON.stringify(transformTRPCResponse(config, json as never)) };
  };
  const call = async (c: Call): Promise<CallResult> => {
    const proc = c.procedure;
    try {
      if (!proc) throw new TRPCError({ code: 'NOT_FOUND', message: `No procedure found on path "${c.path}"` });
      const type = proc._def.type as keyof typeof ACCEPTED_METHOD;
      if (ACCEPTED_METHOD[type] !== req.method) {
        headers.allow = ACCEPTED_METHOD[type];
        throw new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: `Unsupported ${req.method}-request to ${type} procedure at path "${c.path}"` });
      }
      return [undefined, { data: await proc({ path: c.path, getRawInput: c.getRawInput, ctx, type, signal: req.signal, batchIndex: c.batchIndex }) }];
    } catch (cause) {
      return [getTRPCErrorFromUnknown(cause), undefined];
    }
  };
  const results = await Promise.all(info.calls.map(call));
  const streamError = () => new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Cannot use stream-like response in non-streaming request - use httpBatchStreamLink' });
  if (!info.isBatchCall && results[0]![1] && isDataStream(results[0]![1].data)) {
    // tRPC throws this one outside the call: shaped without the call's path or input.
    const error = streamError();
    const json = { error: getErrorShape({ config, ctx, error, type: info.type, path: undefined, input: undefined }) };
    return respond(getHTTPStatusCode(json as never, [error]), json);
  }
  const checked = results.map((r): CallResult => (r[1] && isDataStream(r[1].data) ? [streamError(), undefined] : r));
  const json = checked.map(([error, result], i) => {
    const c = info.calls[i]!;
    return error ? { error: getErrorShape({ config, ctx, error, input: c.result(), path: c.path, type: c.procedure?._def.type ?? 'unknown' }) } : { result: { data: result!.data } };
  });
  const status = getHTTPStatusCode(json as never, checked.map(([error]) => error) as TRPCError[]);
  return respond(status, info.isBatchCall ? json : json[0]);
}

/**
 * tRPC's answer to a GET (queries) or POST with a JSON body (mutations), single or batched, as
 * `resolveResponse` gives it; null (body unread) for what only tRPC's own handler serves (see
 * planJsonCalls). json-calls.test.ts holds it against `fetchRequestHandler` on a test router.
 */
export async function resolveJsonCalls<R extends AnyTRPCRouter>(router: R, req: Request, url: URL, ctx: unknown): Promise<Response | null> {
  const plan = await planJsonCalls(router, req, url);
  if (!plan) return null;
  const answer = await answerJsonCalls(plan, ctx);
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}
