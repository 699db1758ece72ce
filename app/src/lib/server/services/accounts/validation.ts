/** Input schemas shared by the account services, and the zod -> ServiceError bridge. Pure. */
import { z } from 'zod';
import { ServiceError } from '../errors.ts';
import { ROLES } from './roles.ts';

/** Trimmed and lower-cased before it is checked or stored. */
export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email('Enter a valid email address.').max(254, 'Email address is too long.'));

export const displayNameSchema = z
  .string()
  .trim()
  .min(1, 'Enter a name.')
  .max(100, 'Name must be at most 100 characters.');

export const orgNameSchema = z
  .string()
  .trim()
  .min(1, 'Enter a team name.')
  .max(100, 'Team name must be at most 100 characters.');

export const roleSchema = z.enum(ROLES);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids from URLs go through this before they reach a uuid column (Postgres would throw on junk). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const flat = z.flattenError(result.error);
  const fieldErrors: Record<string, string[]> = {};
  for (const [field, messages] of Object.entries(flat.fieldErrors as Record<string, string[] | undefined>)) {
    if (messages?.length) fieldErrors[field] = messages;
  }
  const first = result.error.issues[0]?.message ?? 'Invalid input.';
  throw new ServiceError('invalid-input', first, { fieldErrors });
}
