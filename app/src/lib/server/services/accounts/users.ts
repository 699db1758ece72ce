/** Sign-up and log-in. Sessions are made by the caller (auth/session.ts rotateSession) afterwards. */
import { count, sql } from 'drizzle-orm';
import { z } from 'zod';
import { schema } from '@clipmaker/db';

/** pg_advisory_xact_lock key for the first-account rule (any fixed number unique to this use). */
const FIRST_ACCOUNT_LOCK = 7_120_001;
import {
  dummyPasswordHash,
  hashPassword,
  PASSWORD_MAX_LENGTH,
  passwordNeedsRehash,
  passwordSchema,
  verifyPassword,
} from '../../auth/password.ts';
import {
  findUserByEmail,
  inTransaction,
  insertMembership,
  insertOrg,
  insertUser,
  updatePasswordHash,
  type OrgRow,
  type PublicUser,
  type Queryable,
} from '../../repositories/accounts.ts';
import { ServiceError } from '../errors.ts';
import { openingGrant } from '../render-minutes.ts';
import type { Throttles } from '../../throttle.ts';
import { displayNameSchema, emailSchema, parseInput } from './validation.ts';

export const signUpSchema = z.object({
  email: emailSchema,
  name: displayNameSchema,
  password: passwordSchema,
});
export type SignUpInput = z.input<typeof signUpSchema>;

/**
 * Creates the user, a personal org "<name>'s team" and the owner membership, all or nothing.
 * 'email-taken' for a taken email: an internal answer for callers that know the email (admin tools,
 * invites); the public sign-up form goes through signUpOrLogIn, which never reveals it.
 */
export async function signUp(db: Queryable, input: SignUpInput): Promise<{ user: PublicUser; org: OrgRow }> {
  const { email, name, password } = parseInput(signUpSchema, input);
  // Hash outside the transaction: no connection held during the ~tens of ms of argon2.
  const passwordHash = await hashPassword(password);
  return inTransaction(db, async (tx) => {
    // The first account of a fresh instance is its instance admin (as self-hosted products do). The
    // advisory lock serialises concurrent first sign-ups, so exactly one of them gets it.
    await tx.execute(sql`select pg_advisory_xact_lock(${FIRST_ACCOUNT_LOCK})`);
    const [{ n } = { n: 0 }] = await tx.select({ n: count() }).from(schema.users);
    const user = await insertUser(tx, { email, name, passwordHash, isInstanceAdmin: Number(n) === 0 });
    if (!user) throw new ServiceError('email-taken', 'An account with this email already exists.');
    const org = await insertOrg(tx, { name: `${name}'s team` });
    await openingGrant(tx, org.id);
    await insertMembership(tx, { orgId: org.id, userId: user.id, role: 'owner' });
    return { user, org };
  });
}

export interface LogInInput {
  email: string;
  password: string;
}

export interface ThrottleOptions {
  /** Counts the attempt against the shared (Redis) throttles, keyed with the client's address. */
  throttle?: { throttles: Pick<Throttles, 'hit' | 'reset'>; address: string };
}

const INVALID_CREDENTIALS = 'Incorrect email or password.';

/**
 * The user for a correct email and password. Unknown emails cost one argon2 verification just like
 * known ones, and both failures throw the same 'invalid-credentials' error. Throttled per
 * (email, client address): 10 attempts per 15 min, cleared by a success.
 */
export async function logIn(db: Queryable, input: LogInInput, opts: ThrottleOptions = {}): Promise<PublicUser> {
  const rawEmail = typeof input?.email === 'string' ? input.email : '';
  const password = typeof input?.password === 'string' ? input.password : '';
  const email = rawEmail.trim().toLowerCase();

  if (opts.throttle) await opts.throttle.throttles.hit('login', email, opts.throttle.address);

  // Lengths are no secret, so refusing oversized input early leaks nothing about accounts.
  if (!email || email.length > 254 || !password || password.length > PASSWORD_MAX_LENGTH) {
    throw new ServiceError('invalid-credentials', INVALID_CREDENTIALS);
  }

  const user = await findUserByEmail(db, email);
  const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), password);
  if (!user || !ok) throw new ServiceError('invalid-credentials', INVALID_CREDENTIALS);

  if (opts.throttle) await opts.throttle.throttles.reset('login', email, opts.throttle.address);
  if (passwordNeedsRehash(user.passwordHash)) {
    await updatePasswordHash(db, user.id, await hashPassword(password));
  }
  return { id: user.id, email: user.email, name: user.name, isFarmAdmin: user.isFarmAdmin, isInstanceAdmin: user.isInstanceAdmin };
}

/** The one refusal of the sign-up form for an email it cannot use (worded for both cases). */
export const SIGN_UP_REFUSED = 'Could not sign up with these details. Check them, or log in.';

/**
 * The sign-up form. It never says that an email has an account:
 *  - a new email: the account is created (signUp) and returned;
 *  - a taken email with that account's password: the owner is simply logged in, as if signing up;
 *  - a taken email with another password: 'invalid-credentials' with SIGN_UP_REFUSED, the same words
 *    a log-in failure would lead to; no "already exists".
 * Every path does one argon2 operation (hash or verify), so timing does not tell them apart either,
 * and attempts are throttled per client address (10 per hour), which bounds probing. (Telling a new
 * email from a taken one is only fully impossible with an emailed confirmation step.)
 */
export async function signUpOrLogIn(db: Queryable, input: SignUpInput, opts: ThrottleOptions = {}): Promise<{ user: PublicUser; created: boolean }> {
  if (opts.throttle) await opts.throttle.throttles.hit('signup', opts.throttle.address);
  const { email, password } = parseInput(signUpSchema, input);
  const existing = await findUserByEmail(db, email);
  if (!existing) {
    try {
      return { user: (await signUp(db, input)).user, created: true };
    } catch (err) {
      // Lost a race with another sign-up of the same email: answer as for a taken one.
      if (!(err instanceof ServiceError && err.code === 'email-taken')) throw err;
    }
  }
  const user = existing ?? (await findUserByEmail(db, email));
  if (user && (await verifyPassword(user.passwordHash, password))) {
    return { user: { id: user.id, email: user.email, name: user.name, isFarmAdmin: user.isFarmAdmin, isInstanceAdmin: user.isInstanceAdmin }, created: false };
  }
  throw new ServiceError('invalid-credentials', SIGN_UP_REFUSED);
}
