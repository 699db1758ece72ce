/** Maps typed service errors to JSON HTTP responses for plain endpoints (tRPC has its own mapping). */
import { json } from '@sveltejs/kit';
import { ServiceError } from './services/errors.ts';

const STATUS = { 'bad-request': 400, 'not-found': 404, forbidden: 403, conflict: 409, 'precondition-failed': 412, 'payload-too-large': 413, 'quota-exceeded': 403 } as const;

export function httpError(err: unknown): Response {
  if (err instanceof ServiceError) return json({ message: err.message, code: err.code }, { status: STATUS[err.code] });
  if (err instanceof Error && err.name === 'AccessError') {
    const forbidden = (err as { code?: string }).code === 'forbidden';
    return json({ message: err.message, code: forbidden ? 'forbidden' : 'not-found' }, { status: forbidden ? 403 : 404 });
  }
  console.error('[http] unexpected error', err);
  return json({ message: 'internal error' }, { status: 500 });
}
