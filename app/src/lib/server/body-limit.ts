/**
 * Request body caps, enforced while the body is read and before anything parses it.
 *
 * Every route gets DEFAULT_BODY_LIMIT (1 MiB) unless ROUTE_BODY_LIMITS says otherwise. A capped body
 * is read here, chunk by chunk, into memory (at most the cap) and handed on as a new Request, so
 * form actions, tRPC and endpoints only ever parse a bounded buffer; a declared Content-Length over
 * the cap is refused before a byte is read. Past the cap the answer is 413 with `connection: close`;
 * the rest of the body is discarded unparsed while the connection lingers briefly (tooLarge).
 *
 * Only streaming routes (uploads) receive the raw stream: their handler must enforce its own limit
 * while streaming (services/assets.ts does, under MAX_UPLOAD_BYTES); a declared length over it is
 * still refused here first. adapter-node's BODY_SIZE_LIMIT stays above the largest of these caps.
 */
import { ServiceError } from './services/errors.ts';
import type { AppConfig } from './config.ts';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface BodyLimit {
  bytes: number;
  /** true: the handler reads request.body as a stream (under its own limit); false: buffered here. */
  stream: boolean;
}

/** Routes (SvelteKit route ids) whose bodies may exceed the default. */
export const ROUTE_BODY_LIMITS: Record<string, (config: Pick<AppConfig, 'MAX_UPLOAD_BYTES'>) => BodyLimit> = {
  '/api/projects/[projectId]/assets': (c) => ({ bytes: c.MAX_UPLOAD_BYTES, stream: true }),
  // tus PATCH: one chunk of a resumable upload, streamed into its partial file (resumable-uploads.ts).
  '/api/projects/[projectId]/uploads/[uploadId]': (c) => ({ bytes: c.MAX_UPLOAD_BYTES, stream: true }),
};

export function bodyLimitFor(routeId: string | null, config: Pick<AppConfig, 'MAX_UPLOAD_BYTES'>): BodyLimit {
  const special = routeId ? ROUTE_BODY_LIMITS[routeId] : undefined;
  return special ? special(config) : { bytes: DEFAULT_BODY_LIMIT, stream: false };
}

/** How long a refused connection keeps reading (and discarding) after the 413, before it is cut. */
export const LINGER_MS = 1_000;

/** The Node request behind a SvelteKit request (adapter-node passes it as platform.req). */
export type NodeRequest = import('node:http').IncomingMessage;

/**
 * Lingering close, as nginx does it: from now on the rest of the body is read and thrown away (the
 * kernel's receive queue stays empty, so closing sends FIN, not RST); when the 413 has been written,
 * the socket is half-closed and cut LINGER_MS later. Closing with unread data instead would make the
 * kernel reset the connection and drop the 413 before a client that is still sending reads it.
 */
function discardRest(req: NodeRequest | undefined): void {
  if (!req) return;
  const socket = req.socket as import('node:net').Socket & { destroySoon?: () => void };
  req.removeAllListeners('data');
  req.on('data', () => {});
  req.resume();
  // The http server calls destroySoon() once a `connection: close` response is written.
  socket.destroySoon = function lingeringClose(this: typeof socket) {
    this.end();
    setTimeout(() => this.destroy(), LINGER_MS).unref();
  };
}

/**
 * A refusal sent before the request's body was read (a streaming route's 401/403/404): the rest of
 * the body is discarded and the connection closes after the answer (lingering), so the client reads
 * the answer instead of a connection reset.
 */
export function refuseUnread(response: Response, req?: NodeRequest): Response {
  if (!req || req.readableEnded) return response;
  discardRest(req);
  response.headers.set('connection', 'close');
  return response;
}

/** The 413 answer; the connection closes after it, and the unread body is never parsed. */
export function tooLarge(limit: number, req?: NodeRequest): Response {
  discardRest(req);
  const err = new ServiceError('payload-too-large', `The request body is larger than the ${limit >= 1024 * 1024 ? `${Math.round(limit / 1024 / 1024)} MB` : `${Math.round(limit / 1024)} KB`} this address accepts.`);
  return new Response(JSON.stringify(err.toBody()), { status: 413, headers: { 'content-type': 'application/json', connection: 'close' } });
}

function is413(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { status?: unknown }).status === 413;
}

/**
 * The request with its body read into memory under `limit`, or the 413 to answer (a declared
 * Content-Length over the limit without reading a byte). `req`: the Node request, for the lingering
 * close. Read errors (the client went away)
 * propagate to the caller.
 */
export async function bufferBody(request: Request, limit: number, req?: NodeRequest): Promise<Request | Response> {
  if (!request.body) return request;
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > limit) return tooLarge(limit, req);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let step: ReadableStreamReadResult<Uint8Array>;
    try {
      step = await reader.read();
    } catch (err) {
      if (is413(err)) return tooLarge(limit, req); // adapter-node's own cap (BODY_SIZE_LIMIT) fired first
      throw err;
    }
    if (step.done) break;
    total += step.value.byteLength;
    if (total > limit) {
      reader.releaseLock(); // not cancel(): that destroys the socket before the 413 is written
      return tooLarge(limit, req);
    }
    chunks.push(step.value);
  }
  const body = Buffer.concat(chunks, total);
  const headers = new Headers(request.headers);
  headers.delete('transfer-encoding');
  headers.set('content-length', String(total));
  return new Request(request.url, { method: request.method, headers, body, signal: request.signal });
}

/** A streaming route: refuse a declared oversize body before the handler starts reading it. */
export function checkDeclaredLength(request: Request, limit: number, req?: NodeRequest): Response | null {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  return declared > limit ? tooLarge(limit, req) : null;
}

/**
 * The Node-level variant of bufferBody (trpc/node.ts builds no Fetch Request): the body of `req` read
 * into memory under `limit`, or 'too-large' (a declared Content-Length over the limit before a byte
 * is read, or the stream passing it; the caller answers 413 and discardRest lingers). Rejects with
 * the stream's error (an AbortError-named one when the client went away).
 */
export function readNodeBody(req: NodeRequest, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > limit) {
        done();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const onAborted = () => {
      done();
      reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('aborted', onAborted);
  });
}
