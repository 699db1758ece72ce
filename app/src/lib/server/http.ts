/**
 * The HTTP side of the error type (services/errors.ts) and small request helpers every route uses:
 *  - httpError(err):         endpoints -> JSON { code, message } with the table's status
 *  - actionFailure(err, f):  form actions -> fail(status, { ...f, code, message, fieldErrors })
 *  - pageError(err):         load functions -> SvelteKit error(status, publicMessage)
 *  - logUnexpected(err):     a bug: one log line with an error id; the client gets only the id
 *  - clientAddress(event):   the caller's address for throttles, behind the trusted-proxy setting
 *  - safeRedirectPath(next): a `next=` parameter reduced to a same-origin path, or the fallback
 */
import { error, fail, json, type RequestEvent } from '@sveltejs/kit';
import { ZodError } from 'zod';
import { logger } from './logger.ts';
import { NOT_FOUND_MESSAGE, ServiceError } from './services/errors.ts';

/** The ServiceError a thrown value stands for (zod failures are 'invalid-input'); null for bugs. */
export function asServiceError(err: unknown): ServiceError | null {
  if (err instanceof ServiceError) return err;
  if (err instanceof ZodError) {
    const fieldErrors: Record<string, string[]> = {};
    for (const issue of err.issues) (fieldErrors[String(issue.path[0] ?? '')] ??= []).push(issue.message);
    return new ServiceError('invalid-input', err.issues[0]?.message ?? 'Invalid input.', { fieldErrors });
  }
  return null;
}

/** The client went away mid-request (closed the socket while we read its body or wrote ours). */
export function isAbortError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return err.name === 'AbortError' || err.message === 'aborted' || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err.cause !== undefined && err.cause !== err && isAbortError(err.cause));
}

/** Logs an unexpected error (with its stack) under a fresh id and returns the id. */
export function logUnexpected(err: unknown, where: Record<string, unknown> = {}): string {
  const errorId = crypto.randomUUID();
  logger.error({ err, errorId, ...where }, 'unexpected error');
  return errorId;
}

export function internalErrorMessage(errorId: string): string {
  return `Internal error (${errorId})`;
}

function retryHeaders(e: ServiceError): Record<string, string> {
  return e.details.retryAfterSeconds ? { 'retry-after': String(e.details.retryAfterSeconds) } : {};
}

/** An endpoint's answer for anything it caught. */
export function httpError(err: unknown, event?: Pick<RequestEvent, 'url' | 'request'>): Response {
  const e = asServiceError(err);
  if (e) return json(e.toBody(), { status: e.status, headers: retryHeaders(e) });
  const errorId = logUnexpected(err, event ? { method: event.request.method, path: event.url.pathname } : {});
  return json({ code: 'internal', message: internalErrorMessage(errorId) }, { status: 500 });
}

/** A form action's answer for a ServiceError (or zod failure); anything else is rethrown (handleError). */
export function actionFailure<T extends Record<string, unknown>>(err: unknown, fields: T) {
  const e = asServiceError(err);
  if (!e) throw err;
  return fail(e.status, { ...fields, ...e.toBody(), fieldErrors: e.details.fieldErrors ?? {} });
}

/** In a load function: a ServiceError becomes the matching error page; anything else is rethrown. */
export function pageError(err: unknown): never {
  const e = asServiceError(err);
  if (!e) throw err;
  error(e.status, e.publicMessage);
}

/** The one 404 for pages and endpoints (missing and inaccessible alike). */
export function notFound(): never {
  error(404, NOT_FOUND_MESSAGE);
}

/**
 * The client's address for throttles. adapter-node's getClientAddress honours ADDRESS_HEADER and
 * XFF_DEPTH (documented in .env.example): behind a reverse proxy set ADDRESS_HEADER=X-Forwarded-For
 * and XFF_DEPTH to the number of proxies, or every client shares the proxy's address (and budget).
 */
export function clientAddress(event: Pick<RequestEvent, 'getClientAddress'>): string {
  try {
    return event.getClientAddress();
  } catch {
    return 'unknown';
  }
}

const REDIRECT_BASE = 'http://clipmaker.invalid';

/**
 * `next` as a path on this origin, or `fallback`. Refused: absolute and scheme URLs, protocol-relative
 * `//host`, `/\host` (browsers read a backslash as a slash), control characters (the URL parser drops
 * tabs and newlines: `/\t/host` is `//host`), and all of these percent-encoded once or more.
 */
export function safeRedirectPath(next: string | null | undefined, fallback = '/projects'): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return fallback;
  const forms = [next];
  let decoded = next;
  for (let i = 0; i < 4; i++) {
    let d: string;
    try {
      d = decodeURIComponent(decoded);
    } catch {
      return fallback;
    }
    if (d === decoded) break;
    forms.push((decoded = d));
  }
  for (const f of forms) {
    if (!f.startsWith('/') || f.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(f)) return fallback;
  }
  let url: URL;
  try {
    url = new URL(next, REDIRECT_BASE);
  } catch {
    return fallback;
  }
  if (url.origin !== REDIRECT_BASE) return fallback;
  return url.pathname + url.search + url.hash;
}
