/**
 * Who may approve: guests prove an email by a one-time code mailed over real SMTP (an in-process
 * smtp-server), with a short expiry and an attempt limit; the approve-own-work rule is a project
 * setting; @mentions reach the mentioned member in-app and by mail. Real Postgres and Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { startSmtp, type TestSmtp } from '../../../tests/support/smtp.ts';
import { createReviewFixture, type ReviewFixture } from './review-fixture.ts';
import { addComment, createShareLink, decide, setSelfApproval, type Reviewer } from '../../src/lib/server/services/review.ts';
import { MAX_CODE_ATTEMPTS, sendApprovalCode, verifiedEmail, verifyApprovalCode } from '../../src/lib/server/services/review-verification.ts';
import { listNotifications } from '../../src/lib/server/services/notifications.ts';

let f: ReviewFixture;
let smtp: TestSmtp;
beforeAll(async () => {
  [f, smtp] = await Promise.all([createReviewFixture(), startSmtp()]);
  f.ctx.config = { ...f.ctx.config, SMTP_URL: smtp.url };
});
afterAll(async () => {
  await smtp?.close();
  await f?.dispose();
});

const asUser = (role: keyof ReviewFixture['users']): Reviewer => ({ kind: 'user', userId: f.users[role].id, name: f.users[role].name });
const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)![1]!;
const linkRow = async (id: string) => (await f.ctx.db.db.select().from(schema.shareLinks).where(eq(schema.shareLinks.id, id)))[0]!;
/** The newest mail to `to` (codes are re-sent to the same address). */
async function lastMailTo(to: string, after: number) {
  await expect.poll(() => smtp.messages.filter((m) => m.to.includes(to)).length, { timeout: 5_000 }).toBeGreaterThan(after);
  return smtp.messages.filter((m) => m.to.includes(to)).at(-1)!;
}
const mailsTo = (to: string) => smtp.messages.filter((m) => m.to.includes(to)).length;
/** The mail to `to` with this subject (notices go out in the background, in any order). */
async function mailWithSubject(to: string, subject: string) {
  await expect.poll(() => smtp.messages.some((m) => m.to.includes(to) && m.subject === subject), { timeout: 5_000 }).toBe(true);
  return smtp.messages.find((m) => m.to.includes(to) && m.subject === subject)!;
}
const subjectsTo = (to: string) => smtp.messages.filter((m) => m.to.includes(to)).map((m) => m.subject);

describe('guest approval by emailed one-time code', () => {
  it('a code mailed over SMTP verifies the email; the approval records who, which email, which link and when', async () => {
    const link = await linkRow((await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId, allowApprove: true })).id);
    const guest: Reviewer = { kind: 'guest', linkId: link.id, renderId: f.renderId, name: 'Carla Client' };
    await expect(decide(f.ctx, guest, f.renderId, 'approved')).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/verify your email/i) });

    const { verificationId } = await sendApprovalCode(f.ctx, link, 'Carla Client', ' Carla@Client.Example ');
    const mail = await lastMailTo('carla@client.example', 0);
    const code = codeIn(mail.text);
    expect(mail.subject).toContain(code);
    // Only an HMAC is stored: the code is nowhere in the row.
    const [row] = await f.ctx.db.db.select().from(schema.reviewVerifications).where(eq(schema.reviewVerifications.id, verificationId));
    expect(row).toMatchObject({ email: 'carla@client.example', attempts: 0, verifiedAt: null });
    expect(Buffer.from(row!.codeHash).toString('latin1')).not.toContain(code);
    expect(row!.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(10 * 60_000);

    const wrong = code === '000000' ? '000001' : '000000';
    await expect(verifyApprovalCode(f.ctx, link.id, verificationId, wrong)).rejects.toMatchObject({ code: 'forbidden', message: `Wrong code. ${MAX_CODE_ATTEMPTS - 1} tries left.` });
    expect(await verifiedEmail(f.ctx, link.id, verificationId)).toBeNull();
    expect(await verifyApprovalCode(f.ctx, link.id, verificationId, code)).toEqual({ email: 'carla@client.example' });
    // Used once: the same code does not verify again.
    await expect(verifyApprovalCode(f.ctx, link.id, verificationId, code)).rejects.toMatchObject({ code: 'forbidden' });

    const before = Date.now();
    const approved = await decide(f.ctx, { ...guest, verificationId }, f.renderId, 'approved');
    expect(approved).toMatchObject({ state: 'approved', byName: 'Carla Client', byEmail: 'carla@client.example' });
    const [decision] = await f.ctx.db.db.select().from(schema.approvals).where(and(eq(schema.approvals.renderId, f.renderId), eq(schema.approvals.byEmail, 'carla@client.example')));
    expect(decision).toMatchObject({ shareLinkId: link.id, byUserId: null });
    expect(decision!.at.getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it('the attempt limit kills a code, even for the right digits; a new code kills the old one; an expired code is refused', async () => {
    const link = await linkRow((await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId, allowApprove: true })).id);
    const seen = mailsTo('mallory@example.net');
    const first = await sendApprovalCode(f.ctx, link, 'Mallory', 'mallory@example.net');
    const code = codeIn((await lastMailTo('mallory@example.net', seen)).text);
    const wrong = code === '999999' ? '999998' : '999999';
    // Parallel guesses share one budget (the try is counted atomically).
    const results = await Promise.allSettled(Array.from({ length: MAX_CODE_ATTEMPTS + 3 }, () => verifyApprovalCode(f.ctx, link.id, first.verificationId, wrong)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    const [row] = await f.ctx.db.db.select().from(schema.reviewVerifications).where(eq(schema.reviewVerifications.id, first.verificationId));
    expect(row!.attempts).toBe(MAX_CODE_ATTEMPTS);
    await expect(verifyApprovalCode(f.ctx, link.id, first.verificationId, code)).rejects.toMatchObject({ message: expect.stringMatching(/expired or was tried too often/) });

    const second = await sendApprovalCode(f.ctx, link, 'Mallory', 'mallory@example.net');
    const secondCode = codeIn((await lastMailTo('mallory@example.net', seen + 1)).text);
    const third = await sendApprovalCode(f.ctx, link, 'Mallory', 'mallory@example.net');
    await expect(verifyApprovalCode(f.ctx, link.id, second.verificationId, secondCode)).rejects.toMatchObject({ code: 'forbidden' });
    const thirdCode = codeIn((await lastMailTo('mallory@example.net', seen + 2)).text);
    await f.ctx.db.db.update(schema.reviewVerifications).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(schema.reviewVerifications.id, third.verificationId));
    await expect(verifyApprovalCode(f.ctx, link.id, third.verificationId, thirdCode)).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('a proof belongs to its link; comment-only links get no code; the render creator cannot approve through a guest link', async () => {
    const a = await linkRow((await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId, allowApprove: true })).id);
    const b = await linkRow((await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId, allowApprove: true })).id);
    const commentOnly = await linkRow((await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId })).id);
    await expect(sendApprovalCode(f.ctx, commentOnly, 'Cam', 'cam@example.net')).rejects.toMatchObject({ code: 'forbidden' });

    const seen = mailsTo('vic@example.net');
    const { verificationId } = await sendApprovalCode(f.ctx, a, 'Vic', 'vic@example.net');
    await verifyApprovalCode(f.ctx, a.id, verificationId, codeIn((await lastMailTo('vic@example.net', seen)).text));
    await expect(verifyApprovalCode(f.ctx, b.id, verificationId, '123456')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(decide(f.ctx, { kind: 'guest', linkId: b.id, renderId: f.renderId, name: 'Vic', verificationId }, f.renderId, 'approved')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(decide(f.ctx, { kind: 'guest', linkId: commentOnly.id, renderId: f.renderId, name: 'Vic', verificationId }, f.renderId, 'approved')).rejects.toMatchObject({ code: 'forbidden' });

    // The owner made the fixture render: verifying the owner's own address on a guest link does not let them approve it.
    const ownerMail = f.users.owner.email;
    const seenOwner = mailsTo(ownerMail);
    const own = await sendApprovalCode(f.ctx, a, 'Not the owner', ownerMail);
    await verifyApprovalCode(f.ctx, a.id, own.verificationId, codeIn((await lastMailTo(ownerMail, seenOwner)).text));
    await expect(decide(f.ctx, { kind: 'guest', linkId: a.id, renderId: f.renderId, name: 'Not the owner', verificationId: own.verificationId }, f.renderId, 'approved')).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/someone else/),
    });
  });
});

describe('approve-own-work setting', () => {
  it('by default the editor who rendered a version cannot approve it; the owner can allow it; only owners change the rule', async () => {
    const db = f.ctx.db.db;
    const [v1] = await db.select().from(schema.renders).where(eq(schema.renders.id, f.renderId));
    const top = Math.max(...(await db.select().from(schema.renders).where(eq(schema.renders.projectId, f.projectId))).map((r) => r.version));
    const mine = crypto.randomUUID();
    await db.insert(schema.renders).values({ ...v1!, id: mine, version: top + 1, createdBy: f.users.editor.id, outputKey: `renders/${mine}/out.mp4`, posterKey: null, thumbKey: null });
    await expect(decide(f.ctx, asUser('editor'), mine, 'approved')).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/someone else/) });
    expect(await decide(f.ctx, asUser('editor'), mine, 'changes_requested')).toMatchObject({ state: 'changes_requested' });
    await expect(setSelfApproval(f.ctx, f.users.editor, f.projectId, true)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(setSelfApproval(f.ctx, f.users.outsider, f.projectId, true)).rejects.toMatchObject({ code: 'not-found' });
    await setSelfApproval(f.ctx, f.users.owner, f.projectId, true);
    expect(await decide(f.ctx, asUser('editor'), mine, 'approved')).toMatchObject({ state: 'approved', byName: 'editor', byEmail: null });
    await setSelfApproval(f.ctx, f.users.owner, f.projectId, false);
    await expect(decide(f.ctx, asUser('editor'), mine, 'approved')).rejects.toMatchObject({ code: 'forbidden' });
    expect(await decide(f.ctx, asUser('reviewer'), mine, 'approved')).toMatchObject({ state: 'approved', byName: 'reviewer' });
  });
});

describe('@mentions', () => {
  it('a mentioned member gets one in-app mention and a mail with a link to the comment; the rest of the team gets the usual notice', async () => {
    const c = await addComment(f.ctx, asUser('reviewer'), { renderId: f.renderId, frame: 20, text: `@${f.users.editor.name} the cut at 20 is late` });
    const mail = await mailWithSubject(f.users.editor.email, 'reviewer mentioned you on Teaser v1');
    expect(mail.text).toContain('the cut at 20 is late');
    expect(mail.text).toContain(`/projects/${f.projectId}/versions?render=${f.renderId}&comment=${c.id}`);
    const editorNotes = (await listNotifications(f.ctx.db.db, f.users.editor.id)).filter((n) => n.commentId === c.id);
    expect(editorNotes.map((n) => n.kind)).toEqual(['mention']);
    expect(editorNotes[0]!.text).toMatch(/^reviewer mentioned you on Teaser v1 at frame 20/);
    const ownerNotes = (await listNotifications(f.ctx.db.db, f.users.owner.id)).filter((n) => n.commentId === c.id);
    expect(ownerNotes.map((n) => n.kind)).toEqual(['comment']);
    // Not a member: no mail, no notice; and nobody is told of their own mention.
    await addComment(f.ctx, asUser('reviewer'), { renderId: f.renderId, frame: 21, text: `@${f.users.outsider.name} @reviewer` });
    await new Promise((r) => setTimeout(r, 300));
    expect(mailsTo(f.users.outsider.email)).toBe(0);
    expect((await listNotifications(f.ctx.db.db, f.users.reviewer.id)).filter((n) => n.kind === 'mention')).toEqual([]);
  });
});

describe('review notifications by mail', () => {
  it("a guest's comment and every decision reach the owners and editors by mail; the team's own comments stay in-app", async () => {
    const link = await linkRow((await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId, allowComment: true })).id);
    const guest: Reviewer = { kind: 'guest', linkId: link.id, renderId: f.renderId, name: 'Gina Guest' };
    const c = await addComment(f.ctx, guest, { renderId: f.renderId, frame: 33, text: 'logo too small at 33' });
    const guestSubject = 'Gina Guest commented on Teaser v1 at frame 33: logo too small at 33';
    const toOwner = await mailWithSubject(f.users.owner.email, guestSubject);
    expect(toOwner.text).toContain(`/projects/${f.projectId}/versions?render=${f.renderId}&comment=${c.id}`);
    await mailWithSubject(f.users.editor.email, guestSubject);

    // A member's comment: in-app only. A decision: mailed to the rest of the team, not to its maker.
    await addComment(f.ctx, asUser('editor'), { renderId: f.renderId, frame: 34, text: 'fixing it at 34' });
    await decide(f.ctx, asUser('owner'), f.renderId, 'changes_requested');
    const decisionSubject = `${f.users.owner.name} requested changes on Teaser v1`;
    const decision = await mailWithSubject(f.users.editor.email, decisionSubject);
    expect(decision.text).toContain(`/projects/${f.projectId}/versions?render=${f.renderId}`);
    await new Promise((r) => setTimeout(r, 300));
    expect(subjectsTo(f.users.owner.email).filter((s) => s.includes('fixing it at 34') || s === decisionSubject)).toEqual([]);
    expect(subjectsTo(f.users.reviewer.email).filter((s) => s === guestSubject || s === decisionSubject)).toEqual([]); // reviewers get no team notices
  });
});
