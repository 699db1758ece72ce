/**
 * A guest who may approve (a share link with the approve permission) proves an email first: a
 * 6-digit one-time code is mailed to it over SMTP, stored only as an HMAC, valid CODE_TTL_MINUTES
 * and MAX_CODE_ATTEMPTS tries; asking for a new code kills the previous one. The proof is a signed
 * cookie naming the verification row, re-checked against the database on every decision (so it
 * cannot be forged, moved to another link, or outlive VERIFIED_FOR_DAYS). Members approve as
 * themselves and need none of this.
 */
import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { audit } from './audit.ts';
import { ServiceError } from './errors.ts';
import { mailEnabled, sendMail } from './mail.ts';

const { reviewVerifications, shareLinks, projects } = schema;

export const CODE_TTL_MINUTES = 10;
export const MAX_CODE_ATTEMPTS = 5;
export const VERIFIED_FOR_DAYS = 30;

export const GuestEmail = z.string().trim().toLowerCase().max(254).email('Enter a valid email address');
export const ApprovalCode = z.string().trim().regex(/^\d{6}$/, 'The code has 6 digits');

function codeHash(secret: string, verificationId: string, code: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', secret).update(`review-code:${verificationId}:${code}`).digest());
}

type LinkRow = typeof shareLinks.$inferSelect;

/**
 * Mails a fresh code for `email` on this link; returns the verification id (kept in the guest's
 * signed cookie until the code is entered). Throttled by the caller (throttle 'reviewCode').
 */
export async function sendApprovalCode(ctx: AppContext, link: LinkRow, guestName: string, rawEmail: string): Promise<{ verificationId: string; email: string }> {
  if (!link.allowApprove) throw new ServiceError('forbidden', 'this link does not let you approve');
  const email = GuestEmail.parse(rawEmail);
  if (!mailEnabled(ctx)) throw new ServiceError('precondition-failed', 'This server cannot send email, so guests cannot verify one. Ask the team to approve for you.');
  const id = randomUUID();
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const now = new Date();
  // One live code per (link, email): a new request kills the previous one, so tries do not add up.
  await ctx.db.db
    .update(reviewVerifications)
    .set({ expiresAt: now })
    .where(and(eq(reviewVerifications.shareLinkId, link.id), eq(reviewVerifications.email, email), isNull(reviewVerifications.verifiedAt), gt(reviewVerifications.expiresAt, now)));
  await ctx.db.db.insert(reviewVerifications).values({ id, shareLinkId: link.id, email, codeHash: codeHash(ctx.config.SIGNING_SECRET, id, code), expiresAt: new Date(now.getTime() + CODE_TTL_MINUTES * 60_000) });
  const [project] = await ctx.db.db.select({ name: projects.name, orgId: projects.orgId }).from(projects).where(eq(projects.id, link.projectId));
  const mailed = await sendMail(ctx, {
    to: email,
    subject: `Your approval code for ${project?.name ?? 'the review'}: ${code}`,
    text: `${guestName} asked to approve "${project?.name ?? 'a video'}" on ClipMaker with this email address.\n\nYour code: ${code}\n\nIt works for ${CODE_TTL_MINUTES} minutes. If this was not you, ignore this mail.`,
  });
  if (!mailed) throw new ServiceError('unavailable', 'The code could not be sent. Try again in a moment.');
  await audit(ctx.db.db, { orgId: project?.orgId ?? null, projectId: link.projectId, actorUserId: null, actorName: guestName, action: 'review.code_sent', targetType: 'share_link', targetId: link.id, details: { email } });
  return { verificationId: id, email };
}

/** Checks a code; one try spent per call, counted atomically (parallel guesses share the budget). */
export async function verifyApprovalCode(ctx: AppContext, linkId: string, verificationId: string, rawCode: string): Promise<{ email: string }> {
  const code = ApprovalCode.parse(rawCode);
  const [row] = await ctx.db.db
    .update(reviewVerifications)
    .set({ attempts: sql`${reviewVerifications.attempts} + 1` })
    .where(
      and(
        eq(reviewVerifications.id, verificationId),
        eq(reviewVerifications.shareLinkId, linkId),
        isNull(reviewVerifications.verifiedAt),
        gt(reviewVerifications.expiresAt, new Date()),
        lt(reviewVerifications.attempts, MAX_CODE_ATTEMPTS),
      ),
    )
    .returning();
  if (!row) throw new ServiceError('forbidden', 'This code has expired or was tried too often. Ask for a new one.');
  const expected = Buffer.from(row.codeHash);
  const given = Buffer.from(codeHash(ctx.config.SIGNING_SECRET, row.id, code));
  if (!timingSafeEqual(expected, given)) {
    const left = MAX_CODE_ATTEMPTS - row.attempts;
    throw new ServiceError('forbidden', left > 0 ? `Wrong code. ${left} ${left === 1 ? 'try' : 'tries'} left.` : 'Wrong code. Ask for a new one.');
  }
  await ctx.db.db.update(reviewVerifications).set({ verifiedAt: new Date() }).where(eq(reviewVerifications.id, row.id));
  return { email: row.email };
}

/** The verification behind a guest's cookie: its email, and whether the code was entered (null: none or stale). */
export async function verificationState(ctx: AppContext, linkId: string, verificationId: string | null): Promise<{ email: string; verified: boolean } | null> {
  if (!verificationId) return null;
  const [row] = await ctx.db.db.select().from(reviewVerifications).where(and(eq(reviewVerifications.id, verificationId), eq(reviewVerifications.shareLinkId, linkId)));
  if (!row) return null;
  if (row.verifiedAt) return row.verifiedAt.getTime() > Date.now() - VERIFIED_FOR_DAYS * 86_400_000 ? { email: row.email, verified: true } : null;
  return row.expiresAt > new Date() && row.attempts < MAX_CODE_ATTEMPTS ? { email: row.email, verified: false } : null;
}

/** The verified email of a guest acting on `linkId` with this verification, or null. */
export async function verifiedEmail(ctx: AppContext, linkId: string, verificationId: string | null | undefined): Promise<string | null> {
  if (!verificationId) return null;
  const [row] = await ctx.db.db
    .select({ email: reviewVerifications.email })
    .from(reviewVerifications)
    .where(
      and(
        eq(reviewVerifications.id, verificationId),
        eq(reviewVerifications.shareLinkId, linkId),
        isNotNull(reviewVerifications.verifiedAt),
        gt(reviewVerifications.verifiedAt, new Date(Date.now() - VERIFIED_FOR_DAYS * 86_400_000)),
      ),
    );
  return row?.email ?? null;
}

/** Cookie value naming a verification row, signed so a guest cannot point it at another row. */
export function verificationCookie(secret: string, verificationId: string): string {
  return `${verificationId}.${createHmac('sha256', secret).update(`review-verification:${verificationId}`).digest('base64url')}`;
}
export function parseVerificationCookie(secret: string, value: string | undefined): string | null {
  const m = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
  if (!m) return null;
  const a = Buffer.from(verificationCookie(secret, m[1]!));
  const b = Buffer.from(value!);
  return a.length === b.length && timingSafeEqual(a, b) ? m[1]! : null;
}
