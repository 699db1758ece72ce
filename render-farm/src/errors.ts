/**
 * Error classification shared by the render code and the queue consumer.
 *
 * A permanent error (invalid spec, non-media source, missing input) would fail the same way on every
 * attempt, so the worker must not spend the job's retries on it. The contract with the app is the
 * message prefix from @clipmaker/shared/jobs: it survives bee-queue's Redis round trip, where only
 * `err.message` is kept.
 */
import { PERMANENT_ERROR_PREFIX } from '@clipmaker/shared/jobs';

export class PermanentError extends Error {
  override name = 'PermanentError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason.startsWith(PERMANENT_ERROR_PREFIX) ? reason : `${PERMANENT_ERROR_PREFIX} ${reason}`, options);
  }
}

export function isPermanentError(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith(PERMANENT_ERROR_PREFIX);
}

/** Raised when a render is cancelled through its AbortSignal (worker shutdown, job cancel). */
export class RenderAbortedError extends Error {
  override name = 'AbortError';
  constructor(message = 'render aborted') {
    super(message);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A chunked render's coordinator had every piece but could not stitch, mux, poster or upload (a
 * transient failure of this worker: disk, storage). The worker hands the render job to another
 * worker, which reuses the cached pieces, instead of spending a retry here.
 */
export class StitchError extends Error {
  override name = 'StitchError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`stitch failed: ${message}`, options);
  }
}
