/** Sign-up and log-in. Sessions are made by the caller (auth/session.ts rotateSession) afterwards. */
import { z } from 'zod';
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
import { AccountError } from './errors.ts';
import { LoginRateLimiter } from './rate-limit.ts';
import { displayNameSchema, emailSchema, parseInput } from './validation.ts';

export const signUpSchema = z.object({
  email: emailSchema,
  name: displayNameSchema,
  password: passwordSchema,
});
export type SignUpInput = z.input<typeof signUpSchema>;

/** Creates the user, a personal org "<name>'s team" and the owner membership, all or nothing. */
export async function signUp(db: Queryable, input: SignUpInput): Promise<{ user: PublicUser; org: OrgRow }> {
  const { email, name, password } = parseInput(signUpSchema, input);
  // Hash outside the transaction: no connection held during the ~tens of ms of argon2.
  const passwordHash = await hashPassword(password);
  return inTransaction(db, async (tx) => {
    const user = await insertUser(tx, { email, name, passwordHash });
    if (!user) throw new AccountError('email-taken', 'An account with this email already exists.');
    const org = await insertOrg(tx, { name: `${name}'s team` });
    await insertMembership(tx, { orgId: org.id, userId: user.id, role: 'owner' });
    return { user, org };
  });
}

export interface LogInInput {
  email: string;
  password: string;
}

export interface LogInOptions {
  /** Throttle per (email, IP); the key is cleared on success. */
  rateLimit?: { limiter: LoginRateLimiter; ip: string };
}

const INVALID_CREDENTIALS = 'Incorrect email or password.';

/**
 * The user for a correct email and password. Unknown emails cost one argon2 verification just like
 * known ones, and both failures throw the same 'invalid-credentials' error.
 */
export async function logIn(db: Queryable, input: LogInInput, opts: LogInOptions = {}): Promise<PublicUser> {
  const rawEmail = typeof input?.email === 'string' ? input.email : '';
  const password = typeof input?.password === 'string' ? input.password : '';
  const email = rawEmail.trim().toLowerCase();

  let limitKey: string | undefined;
  if (opts.rateLimit) {
    const { limiter, ip } = opts.rateLimit;
    limitKey = LoginRateLimiter.key(email, ip);
    const decision = limiter.hit(limitKey);
    if (!decision.allowed) {
      const retryAfterSeconds = Math.ceil(decision.retryAfterMs / 1000);
      throw new AccountError('rate-limited', 'Too many log-in attempts. Try again later.', { retryAfterSeconds });
    }
  }

  // Lengths are no secret, so refusing oversized input early leaks nothing about accounts.
  if (!email || email.length > 254 || !password || password.length > PASSWORD_MAX_LENGTH) {
    throw new AccountError('invalid-credentials', INVALID_CREDENTIALS);
  }

  const user = await findUserByEmail(db, email);
  const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), password);
  if (!user || !ok) throw new AccountError('invalid-credentials', INVALID_CREDENTIALS);

  if (limitKey !== undefined) opts.rateLimit!.limiter.reset(limitKey);
  if (passwordNeedsRehash(user.passwordHash)) {
    await updatePasswordHash(db, user.id, await hashPassword(password));
  }
  return { id: user.id, email: user.email, name: user.name, isFarmAdmin: user.isFarmAdmin };
}
