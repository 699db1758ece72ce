/**
 * Typed failures of the account services. Routes map `code` to a status (see httpStatus) and may show
 * `message` to the user as is: messages never say more than the caller is allowed to know.
 */

export type AccountErrorCode =
  | 'invalid-input'
  | 'email-taken'
  | 'invalid-credentials'
  | 'rate-limited'
  | 'invite-invalid'
  | 'invite-used'
  | 'invite-expired'
  | 'invite-email-mismatch';

export class AccountError extends Error {
  override readonly name = 'AccountError';
  constructor(
    readonly code: AccountErrorCode,
    message: string,
    readonly details: {
      /** For 'invalid-input': messages per field. */
      fieldErrors?: Record<string, string[]>;
      /** For 'rate-limited'. */
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(message);
  }

  get httpStatus(): number {
    switch (this.code) {
      case 'invalid-input':
        return 400;
      case 'invalid-credentials':
        return 401;
      case 'invite-email-mismatch':
        return 403;
      case 'invite-invalid':
        return 404;
      case 'email-taken':
        return 409;
      case 'invite-used':
      case 'invite-expired':
        return 410;
      case 'rate-limited':
        return 429;
    }
  }
}

/**
 * 'not-found' for anyone outside the org (so ids do not reveal that a project or org exists);
 * 'forbidden' for members whose role is not enough.
 */
export type AccessErrorCode = 'not-found' | 'forbidden';

export class AccessError extends Error {
  override readonly name = 'AccessError';
  constructor(
    readonly code: AccessErrorCode,
    message: string = code === 'not-found' ? 'Not found.' : 'You do not have permission to do that.',
  ) {
    super(message);
  }

  get httpStatus(): 403 | 404 {
    return this.code === 'not-found' ? 404 : 403;
  }
}
