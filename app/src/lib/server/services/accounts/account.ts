/**
 * Your own account: change password (ends every other session), password reset by an emailed
 * one-time link (only SHA-256 of the token is stored; 1 hour; single use; ends every session), your
 * sessions (device, last seen) with "end this session", change of email confirmed from the new
 * address (same kind of token, 24 h), and deleting the account (with the ownership rules).
 */
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import { and, count, desc, eq, gt, inArray, isNull, ne } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import type { AppContext } from '../../context.ts';
import { hashPassword, passwordSchema, verifyPassword } from '../../auth/password.ts';
import { deleteUserSessions } from '../../repositories/sessions.ts';
import type { Queryable } from '../../repositories/accounts.ts';
import { logger } from '../../logger.ts';
import { ServiceError } from '../errors.ts';
import { publicOrigin, sendMail } from '../mail.ts';
import { publishAccessChange } from '../../access-events.ts';
import { purgeProject } from '../project-library.ts';
import { emailSchema, parseInput } from './validation.ts';

const { users, sessions, userTokens, memberships, orgs, projects, projectMembers } = schema;

export const RESET_TTL_MS = 60 * 60 * 1000;
const TOKEN_PATTERN = /^[a-z2-7]{32}$/;
const hashToken = (t: string) => sha256(new TextEncoder().encode(t));

export async function changePassword(ctx: AppContext, userId: string, currentSessionId: string | null, input: { current: string; next: string }) {
  const next = parseInput(passwordSchema, input.next);
  const db = ctx.db.db;
  const [u] = await db.select().from(users).where(eq(users.id, userId));
  if (!u) throw new ServiceError('unauthorized');
  if (typeof input.current !== 'string' || !(await verifyPassword(u.passwordHash, input.current))) {
    throw new ServiceError('invalid-input', 'Your current password is not right.', { fieldErrors: { current: ['Your current password is not right.'] } });
  }
  await db.update(users).set({ passwordHash: await hashPassword(next) }).where(eq(users.id, userId));
  const ended = await deleteUserSessions(db, userId, currentSessionId ?? undefined);
  await publishAccessChange(ctx, { kind: 'user-sessions', userId });
  return { endedSessions: ended };
}

/**
 * Mails a reset link if the email has an account; answers the same either way (no account probing).
 * With mail off the link goes to the server log only (showing it to whoever typed an email would
 * hand them the account): the instance admin can pass it on.
 */
export async function requestPasswordReset(ctx: AppContext, rawEmail: string, opts: { now?: Date } = {}): Promise<{ mailed: boolean }> {
  const email = parseInput(emailSchema, rawEmail);
  const db = ctx.db.db;
  const [u] = await db.select().from(users).where(eq(users.email, email));
  if (!u) return { mailed: ctx.config.SMTP_URL != null };
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  const token = encodeBase32LowerCaseNoPadding(bytes);
  const now = opts.now ?? new Date();
  await db.insert(userTokens).values({ userId: u.id, kind: 'password-reset', tokenHash: hashToken(token), expiresAt: new Date(now.getTime() + RESET_TTL_MS) });
  const url = `${publicOrigin(ctx)}/reset-password/${token}`;
  const mailed = await sendMail(ctx, {
    to: u.email,
    subject: 'Reset your ClipMaker password',
    text: `Someone (hopefully you) asked to reset the password of ${u.email}.\nThe link works once, for one hour. If it was not you, ignore this mail.`,
    link: { url, label: 'Choose a new password' },
  });
  if (!mailed) logger.info({ userId: u.id, resetUrl: url }, 'password reset requested while mail is off: pass this link on to the user');
  return { mailed };
}

/** Conditional update: a token is consumed once, only for its kind, and only before it expires. */
async function consumeToken(tx: Queryable, token: string, kind: 'password-reset' | 'email-change', now: Date) {
  const [t] = await tx
    .update(userTokens)
    .set({ usedAt: now })
    .where(and(eq(userTokens.tokenHash, hashToken(token)), eq(userTokens.kind, kind), isNull(userTokens.usedAt), gt(userTokens.expiresAt, now)))
    .returning();
  return t ?? null;
}

export async function resetPassword(ctx: AppContext, token: string, newPassword: string, opts: { now?: Date } = {}) {
  const password = parseInput(passwordSchema, newPassword);
  const invalid = () => new ServiceError('invite-invalid', 'This reset link is not valid or has expired. Ask for a new one.');
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) throw invalid();
  const now = opts.now ?? new Date();
  const db = ctx.db.db;
  const passwordHash = await hashPassword(password);
  const userId = await db.transaction(async (tx) => {
    const t = await consumeToken(tx, token, 'password-reset', now);
    if (!t) throw invalid();
    await tx.update(users).set({ passwordHash }).where(eq(users.id, t.userId));
    await deleteUserSessions(tx, t.userId);
    return t.userId;
  });
  await publishAccessChange(ctx, { kind: 'user-sessions', userId });
  return { userId };
}

export async function listMySessions(ctx: AppContext, userId: string, currentSessionId: string | null) {
  const rows = await ctx.db.db.select().from(sessions).where(eq(sessions.userId, userId)).orderBy(desc(sessions.lastVerifiedAt));
  return rows.map((s) => ({ id: s.id, device: describeUserAgent(s.userAgent), createdAt: s.createdAt.toISOString(), lastSeenAt: s.lastVerifiedAt.toISOString(), current: s.id === currentSessionId }));
}

export async function endMySession(ctx: AppContext, userId: string, sessionId: string) {
  if (typeof sessionId !== 'string' || sessionId.length > 64) throw new ServiceError('not-found');
  const gone = await ctx.db.db.delete(sessions).where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId))).returning({ id: sessions.id });
  if (gone.length === 0) throw new ServiceError('not-found');
  await publishAccessChange(ctx, { kind: 'user-sessions', userId });
  return { ok: true as const };
}

/** "Chrome on Linux" from a User-Agent (display only). */
export function describeUserAgent(ua: string | null | undefined): string {
  if (!ua) return 'Unknown device';
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : /curl|node|undici/i.test(ua) ? 'Script' : 'Browser';
  const os = /Windows/.test(ua) ? 'Windows' : /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  return os ? `${browser} on ${os}` : browser;
}

export const EMAIL_CHANGE_TTL_MS = 24 * 60 * 60 * 1000;

function newToken(): string {
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  return encodeBase32LowerCaseNoPadding(bytes);
}

async function requirePassword(ctx: AppContext, userId: string, password: unknown) {
  const [u] = await ctx.db.db.select().from(users).where(eq(users.id, userId));
  if (!u) throw new ServiceError('unauthorized');
  if (typeof password !== 'string' || !(await verifyPassword(u.passwordHash, password))) {
    throw new ServiceError('invalid-input', 'Your password is not right.', { fieldErrors: { password: ['Your password is not right.'] } });
  }
  return u;
}

/**
 * Change of email, step 1 (your password again): a one-time link (SHA-256 stored, 24 h) goes to the
 * NEW address, and the old one is told. The answer is the same whether or not the new address already
 * has an account (that address gets a notice instead of a link), so no one learns who is registered.
 * With mail off the link is only logged (showing it would skip proving you own the address).
 */
export async function requestEmailChange(ctx: AppContext, userId: string, input: { password: string; newEmail: string }, opts: { now?: Date } = {}): Promise<{ mailed: boolean; newEmail: string }> {
  const newEmail = parseInput(emailSchema, input.newEmail);
  const u = await requirePassword(ctx, userId, input.password);
  if (newEmail === u.email) throw new ServiceError('invalid-input', 'That is already your email.', { fieldErrors: { newEmail: ['That is already your email.'] } });
  const db = ctx.db.db;
  const [taken] = await db.select({ id: users.id }).from(users).where(eq(users.email, newEmail));
  if (taken) {
    const mailed = await sendMail(ctx, { to: newEmail, subject: 'Your email on ClipMaker', text: `Someone asked to move another ClipMaker account to ${newEmail}, which already has an account. Nothing changed. If that was you, log in with this address instead.` });
    return { mailed, newEmail };
  }
  const token = newToken();
  const now = opts.now ?? new Date();
  await db.insert(userTokens).values({ userId, kind: 'email-change', tokenHash: hashToken(token), newEmail, expiresAt: new Date(now.getTime() + EMAIL_CHANGE_TTL_MS) });
  const url = `${publicOrigin(ctx)}/confirm-email/${token}`;
  const mailed = await sendMail(ctx, {
    to: newEmail,
    subject: 'Confirm your new ClipMaker email',
    text: `${u.name} asked to log in to ClipMaker as ${newEmail} from now on (instead of ${u.email}).\nThe link works once, for 24 hours. If it was not you, ignore this mail.`,
    link: { url, label: 'Confirm this address' },
  });
  await sendMail(ctx, { to: u.email, subject: 'Your ClipMaker email is changing', text: `Someone (hopefully you) asked to change the email of your ClipMaker account from ${u.email} to ${newEmail}. It changes only once the new address is confirmed. If it was not you, change your password now.` });
  if (!mailed) logger.info({ userId, confirmUrl: url }, 'email change requested while mail is off: pass this link on to the user');
  return { mailed, newEmail };
}

/** Change of email, step 2: the link from the mail, once, within 24 h. Other sessions end. */
export async function confirmEmailChange(ctx: AppContext, token: string, opts: { now?: Date } = {}): Promise<{ userId: string; email: string }> {
  const invalid = () => new ServiceError('invite-invalid', 'This confirmation link is not valid or has expired. Ask for a new one from your account page.');
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) throw invalid();
  const now = opts.now ?? new Date();
  const db = ctx.db.db;
  const result = await db.transaction(async (tx) => {
    const t = await consumeToken(tx, token, 'email-change', now);
    if (!t || !t.newEmail) throw invalid();
    const [clash] = await tx.select({ id: users.id }).from(users).where(eq(users.email, t.newEmail));
    if (clash) throw new ServiceError('conflict', 'That address has an account of its own by now; nothing changed.');
    await tx.update(users).set({ email: t.newEmail }).where(eq(users.id, t.userId));
    // Every other pending change of this account is void now.
    await tx.update(userTokens).set({ usedAt: now }).where(and(eq(userTokens.userId, t.userId), eq(userTokens.kind, 'email-change'), isNull(userTokens.usedAt)));
    await deleteUserSessions(tx, t.userId);
    return { userId: t.userId, email: t.newEmail };
  });
  await publishAccessChange(ctx, { kind: 'user-sessions', userId: result.userId });
  return result;
}

/**
 * Deletes your account (your password again). Ownership rules: a team you own with other members
 * must be handed over first (transfer ownership) or emptied, since a team always keeps an owner; a
 * team of which you are the only member goes with you, its projects deleted for good (files freed).
 * Your memberships, project roles and sessions go; what you made in others' teams stays, unattributed.
 */
export async function deleteAccount(ctx: AppContext, userId: string, input: { password: string }): Promise<{ deletedOrgs: number }> {
  const me = await requirePassword(ctx, userId, input.password);
  const db = ctx.db.db;
  if (me.isInstanceAdmin) {
    const [others] = await db.select({ n: count() }).from(users).where(and(eq(users.isInstanceAdmin, true), ne(users.id, userId)));
    const [everyone] = await db.select({ n: count() }).from(users);
    if ((others?.n ?? 0) === 0 && (everyone?.n ?? 1) > 1) throw new ServiceError('precondition-failed', 'You are the only instance admin: make someone else instance admin first (Admin > Users).');
  }
  const mine = await db.select({ orgId: memberships.orgId, role: memberships.role, name: orgs.name }).from(memberships).innerJoin(orgs, eq(orgs.id, memberships.orgId)).where(eq(memberships.userId, userId));
  const owned = mine.filter((m) => m.role === 'owner');
  const sizes = owned.length
    ? await db.select({ orgId: memberships.orgId, n: count() }).from(memberships).where(inArray(memberships.orgId, owned.map((o) => o.orgId))).groupBy(memberships.orgId)
    : [];
  const shared = owned.filter((o) => (sizes.find((s) => s.orgId === o.orgId)?.n ?? 1) > 1);
  if (shared.length) {
    throw new ServiceError('precondition-failed', `Transfer ownership of ${shared.map((o) => `“${o.name}”`).join(', ')} first (or remove its other members): a team always keeps an owner.`);
  }
  const overrides = await db.select({ projectId: projectMembers.projectId }).from(projectMembers).where(eq(projectMembers.userId, userId));
  for (const o of owned) {
    for (const p of await db.select({ id: projects.id }).from(projects).where(eq(projects.orgId, o.orgId))) await purgeProject(ctx, p.id);
    await db.delete(orgs).where(eq(orgs.id, o.orgId));
  }
  await db.delete(users).where(eq(users.id, userId)); // sessions, memberships, overrides, tokens cascade
  await publishAccessChange(ctx, { kind: 'user-sessions', userId });
  for (const m of mine) if (m.role !== 'owner') await publishAccessChange(ctx, { kind: 'org-member', orgId: m.orgId, userId, newRole: null });
  for (const o of overrides) await publishAccessChange(ctx, { kind: 'project-member', projectId: o.projectId, userId, newRole: null });
  logger.info({ userId, deletedOrgs: owned.length }, 'account deleted');
  return { deletedOrgs: owned.length };
}
