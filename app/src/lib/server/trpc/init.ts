/**
 * tRPC setup. Errors follow the one table of services/errors.ts:
 *  - `mapErrors` turns a ServiceError (or zod failure) thrown by a procedure into the TRPCError of
 *    its code, with its public message (every not-found reads "Not found.");
 *  - the error formatter is the backstop for what did not pass through it (an error thrown while a
 *    subscription streams) and the one place a client-visible error is shaped: never a stack trace
 *    or server path, in any mode; a bug answers "Internal error (<id>)" and is logged with that id.
 *  - aborted requests (the client went away) are logged at debug with the procedure, not as errors.
 * Subscriptions must do their access checks before they return their iterator (see renders.onUpdate),
 * so an outsider is refused like a query would be.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { AppContext } from '../context.ts';
import { ERRORS } from '../services/errors.ts';
import { asServiceError, internalErrorMessage, isAbortError, logUnexpected } from '../http.ts';
import { logger } from '../logger.ts';

export interface TrpcContext {
  app: AppContext;
  user: App.Locals['user'];
}

function shapeOf(code: TRPCError['code'], message: string, path: string | undefined) {
  return { message, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus: getHTTPStatusCodeFromError(new TRPCError({ code })), path } };
}

const t = initTRPC.context<TrpcContext>().create({
  isDev: false,
  errorFormatter({ shape, error, path }) {
    if (error.code !== 'INTERNAL_SERVER_ERROR') return shapeOf(error.code, shape.message, path);
    const cause = error.cause ?? error;
    const mapped = asServiceError(cause);
    if (mapped) return shapeOf(ERRORS[mapped.code].trpc, mapped.publicMessage, path);
    if (isAbortError(cause)) {
      logger.debug({ trpc: path }, 'request aborted by the client');
      return shapeOf('CLIENT_CLOSED_REQUEST', 'aborted', path);
    }
    return shapeOf('INTERNAL_SERVER_ERROR', internalErrorMessage(logUnexpected(cause, { trpc: path })), path);
  },
});

/** A ServiceError (or zod failure) as the TRPCError of its code; anything else unchanged. */
export function toTrpcError(err: unknown): unknown {
  if (err instanceof TRPCError) {
    const mapped = err.code === 'INTERNAL_SERVER_ERROR' ? asServiceError(err.cause) : null;
    return mapped ? toTrpcError(mapped) : err;
  }
  const mapped = asServiceError(err);
  if (mapped) return new TRPCError({ code: ERRORS[mapped.code].trpc, message: mapped.publicMessage, cause: mapped });
  return err;
}

/** ServiceErrors (and zod failures) thrown by the procedure, as the TRPCError of their code. */
async function mappingErrors<R extends { ok: true } | { ok: false; error: TRPCError }>(result: Promise<R>): Promise<R> {
  const r = await result;
  if (!r.ok) throw toTrpcError(r.error.cause ?? r.error);
  return r;
}

const mapErrors = t.middleware(({ next }) => mappingErrors(next()));

export const router = t.router;
export const publicProcedure = t.procedure.use(mapErrors);
/**
 * Logged in, and errors mapped, in ONE middleware rather than two stacked (every middleware level
 * costs tRPC a few object copies and a promise per call; this runs on every authed call).
 */
export const authedProcedure = t.procedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Log in first.' });
  return mappingErrors(next({ ctx: { ...ctx, user: ctx.user } }));
});
