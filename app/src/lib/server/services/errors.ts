/**
 * THE error type of the app. Services, repositories and routes throw `ServiceError(code, message?)`;
 * one table (ERRORS) says what each code means on every surface, and the three mappers apply it:
 *  - tRPC:          trpc/init.ts `toTrpcError` (procedures, and subscriptions before they stream)
 *  - form actions:  http.ts `actionFailure(err, fields)` -> fail(status, { code, message, ... })
 *  - endpoints:     http.ts `httpError(err)` -> JSON { code, message } with the status
 * Anything that is not a ServiceError is a bug: clients get 500 "Internal error (<id>)" and the log
 * gets the error with that id (never a stack trace or a server path in a response, in any mode).
 *
 * Rules the table enforces so that no caller has to remember them:
 *  - 'not-found' always answers the same body ("Not found."), whatever message the thrower wrote, so
 *    an id that exists but is not yours is indistinguishable from one that does not exist. Outsiders
 *    get 'not-found', never 'forbidden' (requireProjectRole / assertRole do this).
 *  - messages of the other codes are shown to the user as written: never put more in them than the
 *    caller may know (no other tenant's names, no paths, no SQL).
 *
 * Adding a code: add a row to ERRORS (status + the tRPC code whose HTTP status is the same).
 */

export const ERRORS = {
  'bad-request': { status: 400, trpc: 'BAD_REQUEST' },
  /** Form/input validation; `details.fieldErrors` carries messages per field. */
  'invalid-input': { status: 400, trpc: 'BAD_REQUEST' },
  unauthorized: { status: 401, trpc: 'UNAUTHORIZED' },
  /** Log-in with a wrong email or password (one message for both: no account enumeration). */
  'invalid-credentials': { status: 401, trpc: 'UNAUTHORIZED' },
  /** A member whose role is not enough. */
  forbidden: { status: 403, trpc: 'FORBIDDEN' },
  'quota-exceeded': { status: 403, trpc: 'FORBIDDEN' },
  'invite-email-mismatch': { status: 403, trpc: 'FORBIDDEN' },
  /** Missing OR not visible to the caller: one answer for both. */
  'not-found': { status: 404, trpc: 'NOT_FOUND' },
  'invite-invalid': { status: 404, trpc: 'NOT_FOUND' },
  conflict: { status: 409, trpc: 'CONFLICT' },
  /** Internal only (signUp for admin tools/invites): the public sign-up form never reveals it. */
  'email-taken': { status: 409, trpc: 'CONFLICT' },
  'invite-used': { status: 409, trpc: 'CONFLICT' },
  'invite-expired': { status: 409, trpc: 'CONFLICT' },
  'invite-revoked': { status: 409, trpc: 'CONFLICT' },
  'precondition-failed': { status: 412, trpc: 'PRECONDITION_FAILED' },
  'payload-too-large': { status: 413, trpc: 'PAYLOAD_TOO_LARGE' },
  /** A throttle said no (`details.retryAfterSeconds`); see throttle.ts. */
  'rate-limited': { status: 429, trpc: 'TOO_MANY_REQUESTS' },
  /** A dependency (database, Redis, queue) is down; nothing was done. */
  unavailable: { status: 503, trpc: 'SERVICE_UNAVAILABLE' },
} as const satisfies Record<string, { status: number; trpc: string }>;

export type ServiceErrorCode = keyof typeof ERRORS;

/** The one body every not-found answers with. */
export const NOT_FOUND_MESSAGE = 'Not found.';

const DEFAULT_MESSAGE: Partial<Record<ServiceErrorCode, string>> = {
  'not-found': NOT_FOUND_MESSAGE,
  forbidden: 'You do not have permission to do that.',
  unauthorized: 'Log in first.',
  'rate-limited': 'Too many attempts. Try again later.',
  unavailable: 'The service is unavailable right now; try again in a moment.',
};

export interface ServiceErrorDetails {
  /** For 'invalid-input': messages per form field. */
  fieldErrors?: Record<string, string[]>;
  /** For 'rate-limited'. */
  retryAfterSeconds?: number;
}

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    readonly code: ServiceErrorCode,
    message: string = DEFAULT_MESSAGE[code] ?? code,
    readonly details: ServiceErrorDetails = {},
  ) {
    super(message);
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  /** What a client may be shown: the message, except that every not-found reads the same. */
  get publicMessage(): string {
    return this.code === 'not-found' ? NOT_FOUND_MESSAGE : this.message;
  }

  /** The JSON body the endpoints and form actions answer with. */
  toBody(): { code: ServiceErrorCode; message: string } & ServiceErrorDetails {
    return { code: this.code, message: this.publicMessage, ...this.details };
  }
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof ServiceError;
}
