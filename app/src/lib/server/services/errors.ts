/** Typed service errors; the tRPC layer and endpoints map them to HTTP/tRPC codes in one place. */
export type ServiceErrorCode = 'bad-request' | 'not-found' | 'forbidden' | 'conflict' | 'precondition-failed' | 'payload-too-large' | 'quota-exceeded';

export class ServiceError extends Error {
  override name = 'ServiceError';
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
  ) {
    super(message);
  }
}
