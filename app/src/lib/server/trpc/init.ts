import { initTRPC, TRPCError } from '@trpc/server';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../services/errors.ts';

export interface TrpcContext {
  app: AppContext;
  user: App.Locals['user'];
}

const t = initTRPC.context<TrpcContext>().create({
  errorFormatter({ shape }) {
    return shape;
  },
});

const CODE_MAP = {
  'bad-request': 'BAD_REQUEST',
  'not-found': 'NOT_FOUND',
  forbidden: 'FORBIDDEN',
  conflict: 'CONFLICT',
  'precondition-failed': 'PRECONDITION_FAILED',
  'payload-too-large': 'PAYLOAD_TOO_LARGE',
  'quota-exceeded': 'FORBIDDEN',
} as const;

/** Maps typed service errors onto tRPC codes in one place; anything else stays a 500. */
export function toTrpcError(err: unknown): unknown {
  if (err instanceof ServiceError) return new TRPCError({ code: CODE_MAP[err.code], message: err.message, cause: err });
  if (err && typeof err === 'object' && 'name' in err && (err as Error).name === 'AccessError') {
    const code = (err as { code?: string }).code === 'forbidden' ? 'FORBIDDEN' : 'NOT_FOUND';
    return new TRPCError({ code, message: (err as Error).message, cause: err });
  }
  return err;
}

const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw toTrpcError(result.error.cause ?? result.error);
  return result;
});

export const router = t.router;
export const publicProcedure = t.procedure.use(mapErrors);
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'log in first' });
  return next({ ctx: { ...ctx, user: ctx.user } });
});
