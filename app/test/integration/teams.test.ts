/**
 * Teams against real Postgres, Redis and an in-process SMTP server: the first account is instance
 * admin, `pnpm admin`, invites by email (read from the SMTP server) and by link (single/multi-use,
 * revoked, expired), role changes, removal, leaving, ownership transfer, project overrides, the audit
 * log, and the AccessChange messages open sockets rely on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { accessChannel, parseAccessChange, type AccessChange } from '@clipmaker/shared/collab/access-events';
import { QUEUE_PREFIX } from '@clipmaker/shared/jobs';
import { createReviewFixture, type ReviewFixture } from './review-fixture.ts';
import { startSmtp, firstLink, type TestSmtp } from '../../../tests/support/smtp.ts';
import { TEST_REDIS_URL } from '../../../tests/support/redis.ts';
import { appRouter } from '../../src/lib/server/trpc/router.ts';
import { signUp } from '../../src/lib/server/services/accounts/users.ts';
import { acceptInvite } from '../../src/lib/server/services/accounts/invites.ts';
import { getMembership } from '../../src/lib/server/services/accounts/orgs.ts';
import { setInstanceFlag } from '../../src/lib/server/services/accounts/instance-admin.ts';
import { ServiceError } from '../../src/lib/server/services/errors.ts';
import { runAdmin } from '../../../scripts/admin.ts';

let f: ReviewFixture;
let smtp: TestSmtp;
let sub: Redis;
const changes: AccessChange[] = [];
let n = 0;

async function newUser(label: string) {
  n += 1;
  const { user, org } = await signUp(f.ctx.db.db, { email: `${label.toLowerCase()}${n}-teams@example.com`, name: `${label} ${n}`, password: 'password-123' });
  return { ...user, personalOrgId: org.id };
}
function as(user: { id: string; email: string; name: string }) {
  return appRouter.createCaller({ app: f.ctx, user: { id: user.id, email: user.email, name: user.name, isFarmAdmin: false, isInstanceAdmin: false } } as Parameters<typeof appRouter.createCaller>[0]);
}
const tokenOf = (url: string) => url.split('/invite/')[1]!;
async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    const e = err as { code?: string; cause?: unknown; name?: string };
    if (e.name === 'TRPCError') return String(e.code);
    if (err instanceof ServiceError) return err.code;
    if (e.cause instanceof ServiceError) return e.cause.code;
    return String(e.code);
  }
}
async function waitForChange(pred: (c: AccessChange) => boolean) {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const c = changes.find(pred);
    if (c) return c;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no matching access change; got ${JSON.stringify(changes)}`);
}

beforeAll(async () => {
  f = await createReviewFixture();
  smtp = await startSmtp();
  f.ctx.config = { ...f.ctx.config, SMTP_URL: smtp.url, PUBLIC_URL: 'https://clips.example.test' };
  sub = new Redis(TEST_REDIS_URL);
  await sub.subscribe(accessChannel(f.ctx.config.QUEUE_PREFIX ?? QUEUE_PREFIX));
  sub.on('message', (_ch, msg) => {
    const c = parseAccessChange(msg);
    if (c) changes.push(c);
  });
});
afterAll(async () => {
  sub?.disconnect();
  await smtp?.close();
  await f?.dispose();
});

describe('instance admin', () => {
  it('the first account of a fresh instance is instance admin; later ones are not', async () => {
    const rows = await f.ctx.db.db.select().from(schema.users).orderBy(schema.users.createdAt);
    expect(rows[0]!.id).toBe(f.users.owner.id);
    expect(rows.filter((r) => r.isInstanceAdmin).map((r) => r.id)).toEqual([f.users.owner.id]);
  });

  it('pnpm admin grants, lists and revokes; the last instance admin stays', async () => {
    const lines: string[] = [];
    process.env.DATABASE_URL = f.t.url;
    try {
      expect(await runAdmin(['grant', f.users.editor.email, '--farm'], (l) => lines.push(l))).toBe(0);
      expect(lines.pop()).toBe(`${f.users.editor.email}: instance admin no, farm admin yes`);
      expect(await runAdmin(['grant', f.users.editor.email], (l) => lines.push(l))).toBe(0);
      expect(lines.pop()).toContain('instance admin yes, farm admin yes');
      expect(await runAdmin(['list'], (l) => lines.push(l))).toBe(0);
      expect(lines.find((l) => l.startsWith(f.users.editor.email))).toContain('instance-admin,farm-admin');
      expect(await runAdmin(['revoke', f.users.editor.email], (l) => lines.push(l))).toBe(0);
      expect(await runAdmin(['revoke', f.users.owner.email, '--instance'], (l) => lines.push(l))).toBe(1);
      expect(lines.pop()).toMatch(/last instance admin/);
      expect(await runAdmin(['grant', 'nobody@example.com'], (l) => lines.push(l))).toBe(1);
      expect(await runAdmin(['promote', 'x@example.com'], (l) => lines.push(l))).toBe(2);
    } finally {
      delete process.env.DATABASE_URL;
    }
    const [ed] = await f.ctx.db.db.select().from(schema.users).where(eq(schema.users.id, f.users.editor.id));
    expect({ i: ed!.isInstanceAdmin, farm: ed!.isFarmAdmin }).toEqual({ i: false, farm: false });
    await expect(setInstanceFlag(f.ctx.db.db, null, { userId: f.users.owner.id, flag: 'instanceAdmin', value: false })).rejects.toMatchObject({ code: 'conflict' });
  });
});

describe('invites', () => {
  it('an email invite is mailed over SMTP and accepted by that account only', async () => {
    const colleague = await newUser('Colleague');
    const stranger = await newUser('Stranger');
    const owner = as(f.users.owner);
    const r = await owner.team.invite({ orgId: f.orgId, email: colleague.email, role: 'editor' });
    expect(r.mailed).toBe(true);
    const mail = await smtp.waitFor(colleague.email);
    expect(mail.subject).toContain('Owner');
    const link = firstLink(mail.text);
    expect(link).toBe(r.url);
    expect(link.startsWith('https://clips.example.test/invite/')).toBe(true);
    expect(mail.html).toContain(link);
    expect(await code(acceptInvite(f.ctx.db.db, tokenOf(link), stranger.id))).toBe('invite-email-mismatch');
    expect(await acceptInvite(f.ctx.db.db, tokenOf(link), colleague.id)).toMatchObject({ orgId: f.orgId, role: 'editor', alreadyMember: false });
    expect(await code(acceptInvite(f.ctx.db.db, tokenOf(link), colleague.id))).toBe('invite-used');
  });

  it('without SMTP_URL nothing is mailed and the link is returned to copy', async () => {
    const saved = f.ctx.config;
    f.ctx.config = { ...saved, SMTP_URL: undefined };
    try {
      const before = smtp.messages.length;
      const r = await as(f.users.owner).team.invite({ orgId: f.orgId, email: 'nomail@example.com', role: 'viewer' });
      expect(r.mailed).toBe(false);
      expect(r.url).toMatch(/\/invite\/[a-z2-7]{32}$/);
      await new Promise((res) => setTimeout(res, 200));
      expect(smtp.messages.length).toBe(before);
    } finally {
      f.ctx.config = saved;
    }
  });

  it('link invites: multi-use until revoked, single-use once, expired refused', async () => {
    const owner = as(f.users.owner);
    const multi = await owner.team.invite({ orgId: f.orgId, email: null, role: 'viewer', maxUses: null });
    const [a, b, c] = [await newUser('A'), await newUser('B'), await newUser('C')];
    await acceptInvite(f.ctx.db.db, tokenOf(multi.url), a.id);
    await acceptInvite(f.ctx.db.db, tokenOf(multi.url), b.id);
    expect((await getMembership(f.ctx.db.db, b.id, f.orgId))?.role).toBe('viewer');
    const settings = await owner.team.settings({ orgId: f.orgId });
    expect(settings.invites.find((i) => i.id === multi.id)).toMatchObject({ uses: 2, maxUses: null, email: null });
    await owner.team.revokeInvite({ inviteId: multi.id });
    expect(await code(acceptInvite(f.ctx.db.db, tokenOf(multi.url), c.id))).toBe('invite-revoked');
    expect((await owner.team.settings({ orgId: f.orgId })).invites.some((i) => i.id === multi.id)).toBe(false);

    const single = await owner.team.invite({ orgId: f.orgId, email: null, role: 'reviewer', maxUses: 1 });
    await acceptInvite(f.ctx.db.db, tokenOf(single.url), c.id);
    const d = await newUser('D');
    expect(await code(acceptInvite(f.ctx.db.db, tokenOf(single.url), d.id))).toBe('invite-used');

    const short = await owner.team.invite({ orgId: f.orgId, email: null, role: 'viewer', expiresInHours: 1 });
    expect(await code(acceptInvite(f.ctx.db.db, tokenOf(short.url), d.id, { now: new Date(Date.now() + 2 * 3600_000) }))).toBe('invite-expired');
    // Ownership is never invited.
    expect(await code(owner.team.invite({ orgId: f.orgId, email: null, role: 'owner' as 'editor' }))).toBe('BAD_REQUEST');
  });

  it('a project invite by email gives a role on that one project only', async () => {
    const client = await newUser('Client');
    const r = await as(f.users.owner).team.invite({ orgId: f.orgId, email: client.email, role: 'reviewer', projectId: f.projectId });
    const mail = await smtp.waitFor(client.email);
    expect(mail.text).toContain('Teaser');
    expect(await acceptInvite(f.ctx.db.db, tokenOf(firstLink(mail.text)), client.id)).toMatchObject({ projectId: f.projectId, role: 'reviewer' });
    expect(r.url).toBe(firstLink(mail.text));
    const me = as(client);
    expect((await me.projects.open({ projectId: f.projectId })).role).toBe('reviewer');
    expect(await getMembership(f.ctx.db.db, client.id, f.orgId)).toBeNull();
    expect(await code(me.team.settings({ orgId: f.orgId }))).toBe('NOT_FOUND');
  });
});

describe('members', () => {
  it('change role, remove and leave publish AccessChanges after commit, and are audited with names', async () => {
    const owner = as(f.users.owner);
    const m = await newUser('Member');
    const inv = await owner.team.invite({ orgId: f.orgId, email: null, role: 'editor' });
    await acceptInvite(f.ctx.db.db, tokenOf(inv.url), m.id);

    await owner.team.changeRole({ orgId: f.orgId, userId: m.id, role: 'viewer' });
    await waitForChange((c) => c.kind === 'org-member' && c.userId === m.id && c.newRole === 'viewer');
    expect((await getMembership(f.ctx.db.db, m.id, f.orgId))?.role).toBe('viewer');
    expect(await code(as(m).review.addComment({ renderId: f.renderId, frame: 1, text: 'no' }))).toBe('FORBIDDEN');

    await owner.team.setOverride({ projectId: f.projectId, email: m.email, role: 'reviewer' });
    await waitForChange((c) => c.kind === 'project-member' && c.userId === m.id && c.newRole === 'reviewer');
    await owner.team.remove({ orgId: f.orgId, userId: m.id });
    await waitForChange((c) => c.kind === 'org-member' && c.userId === m.id && c.newRole === null);
    await waitForChange((c) => c.kind === 'project-member' && c.userId === m.id && c.newRole === null);
    expect(await code(as(m).projects.open({ projectId: f.projectId }))).toBe('NOT_FOUND');

    const audit = await owner.team.audit({ orgId: f.orgId });
    const mine = audit.filter((e) => (e.details as { email?: string }).email === m.email);
    expect(mine.map((e) => e.action)).toEqual(['member.remove', 'project.override', 'member.role']);
    expect(mine.every((e) => e.actorName === f.users.owner.name)).toBe(true);
    expect(mine[2]!.details).toMatchObject({ name: m.name, from: 'editor', to: 'viewer' });

    expect(await code(as(f.users.reviewer).team.leave({ orgId: f.orgId }))).toBe('ok');
    await waitForChange((c) => c.kind === 'org-member' && c.userId === f.users.reviewer.id && c.newRole === null);
    expect(await code(owner.team.leave({ orgId: f.orgId }))).toBe('CONFLICT');
    expect(await code(owner.team.remove({ orgId: f.orgId, userId: f.users.owner.id }))).toBe('CONFLICT');
    expect(await code(owner.team.changeRole({ orgId: f.orgId, userId: f.users.owner.id, role: 'viewer' }))).toBe('CONFLICT');
  });

  it('transfer ownership keeps exactly one owner, even when two transfers race', async () => {
    const boss = await newUser('Boss');
    const [x, y] = [await newUser('X'), await newUser('Y')];
    const orgId = boss.personalOrgId;
    for (const u of [x, y]) {
      const inv = await as(boss).team.invite({ orgId, email: null, role: 'editor' });
      await acceptInvite(f.ctx.db.db, tokenOf(inv.url), u.id);
    }
    const results = await Promise.allSettled([as(boss).team.transfer({ orgId, userId: x.id }), as(boss).team.transfer({ orgId, userId: y.id })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const owners = await f.ctx.db.db.select().from(schema.memberships).where(eq(schema.memberships.orgId, orgId));
    expect(owners.filter((o) => o.role === 'owner')).toHaveLength(1);
    expect(owners.find((o) => o.userId === boss.id)?.role).toBe('editor');
    expect(await code(as(boss).team.invite({ orgId, email: null, role: 'viewer' }))).toBe('FORBIDDEN');
  });
});

describe('accounts', () => {
  it('change password ends every other session; reset by emailed one-time link (1 h) ends them all', async () => {
    const { createSession, validateSessionToken } = await import('../../src/lib/server/auth/session.ts');
    const { changePassword, requestPasswordReset, resetPassword, listMySessions, endMySession } = await import('../../src/lib/server/services/accounts/account.ts');
    const { logIn } = await import('../../src/lib/server/services/accounts/users.ts');
    const u = await newUser('Pat');
    const db = f.ctx.db.db;
    const [s1, s2, s3] = [await createSession(db, u.id), await createSession(db, u.id), await createSession(db, u.id)];
    expect((await listMySessions(f.ctx, u.id, s1.session.id)).filter((s) => s.current)).toHaveLength(1);
    await endMySession(f.ctx, u.id, s3.session.id);
    await waitForChange((c) => c.kind === 'user-sessions' && c.userId === u.id);
    expect(await code(endMySession(f.ctx, f.users.owner.id, s2.session.id))).toBe('not-found');
    expect(await code(changePassword(f.ctx, u.id, s1.session.id, { current: 'wrong-password', next: 'new-password-1' }))).toBe('invalid-input');
    expect(await changePassword(f.ctx, u.id, s1.session.id, { current: 'password-123', next: 'new-password-1' })).toEqual({ endedSessions: 1 });
    expect(await validateSessionToken(db, s1.token)).not.toBeNull();
    expect(await validateSessionToken(db, s2.token)).toBeNull();
    await logIn(db, { email: u.email, password: 'new-password-1' });

    expect(await requestPasswordReset(f.ctx, u.email)).toEqual({ mailed: true });
    const mail = await smtp.waitFor(u.email);
    const link = firstLink(mail.text);
    const token = link.split('/reset-password/')[1]!;
    const [row] = await db.select().from(schema.userTokens).where(eq(schema.userTokens.userId, u.id));
    expect(Buffer.from(row!.tokenHash).toString('hex')).not.toContain(Buffer.from(token).toString('hex'));
    expect(row!.expiresAt.getTime() - row!.createdAt.getTime()).toBeLessThanOrEqual(3600_000 + 1000);
    expect(await code(resetPassword(f.ctx, token, 'reset-password-2', { now: new Date(Date.now() + 61 * 60_000) }))).toBe('invite-invalid');
    await resetPassword(f.ctx, token, 'reset-password-2');
    expect(await code(resetPassword(f.ctx, token, 'again-password-3'))).toBe('invite-invalid');
    expect(await validateSessionToken(db, s1.token)).toBeNull();
    await logIn(db, { email: u.email, password: 'reset-password-2' });
    // Unknown emails get the same answer and no mail.
    const before = smtp.messages.length;
    expect(await requestPasswordReset(f.ctx, 'nobody-here@example.com')).toEqual({ mailed: true });
    expect(smtp.messages.length).toBe(before);
  });

  it('change of email: confirmed from the new address by a one-time link (hashed, 24 h); a taken address learns nothing', async () => {
    const { createSession, validateSessionToken } = await import('../../src/lib/server/auth/session.ts');
    const { requestEmailChange, confirmEmailChange } = await import('../../src/lib/server/services/accounts/account.ts');
    const { logIn } = await import('../../src/lib/server/services/accounts/users.ts');
    const db = f.ctx.db.db;
    const u = await newUser('Eve');
    const s1 = await createSession(db, u.id);
    const other = await newUser('Taken');
    expect(await code(requestEmailChange(f.ctx, u.id, { password: 'wrong-password', newEmail: 'eve-new@example.com' }))).toBe('invalid-input');
    expect(await code(requestEmailChange(f.ctx, u.id, { password: 'password-123', newEmail: 'not an email' }))).toBe('invalid-input');

    // An address that has an account: the same answer, no link anywhere, a notice to that address.
    expect(await requestEmailChange(f.ctx, u.id, { password: 'password-123', newEmail: other.email })).toEqual({ mailed: true, newEmail: other.email });
    const notice = await smtp.waitFor(other.email);
    expect(notice.text).not.toMatch(/confirm-email/);
    expect((await db.select().from(schema.userTokens).where(eq(schema.userTokens.userId, u.id)))).toEqual([]);

    expect(await requestEmailChange(f.ctx, u.id, { password: 'password-123', newEmail: ' Eve-New@Example.com ' })).toEqual({ mailed: true, newEmail: 'eve-new@example.com' });
    const mail = await smtp.waitFor('eve-new@example.com');
    const link = firstLink(mail.text);
    expect(link.startsWith('https://clips.example.test/confirm-email/')).toBe(true);
    const token = link.split('/confirm-email/')[1]!;
    const oldNotice = smtp.messages.find((m) => m.to.includes(u.email) && /changing/.test(m.subject));
    expect(oldNotice?.text).toContain('eve-new@example.com');
    expect(oldNotice?.text).not.toContain(token);
    const [row] = await db.select().from(schema.userTokens).where(eq(schema.userTokens.userId, u.id));
    expect(row!.kind).toBe('email-change');
    expect(Buffer.from(row!.tokenHash).toString('hex')).not.toContain(Buffer.from(token).toString('hex'));
    // Nothing changed yet; a wrong, expired or password-reset token does nothing.
    expect((await db.select().from(schema.users).where(eq(schema.users.id, u.id)))[0]!.email).toBe(u.email);
    expect(await code(confirmEmailChange(f.ctx, 'a'.repeat(32)))).toBe('invite-invalid');
    expect(await code(confirmEmailChange(f.ctx, token, { now: new Date(Date.now() + 25 * 3600_000) }))).toBe('invite-invalid');

    expect(await confirmEmailChange(f.ctx, token)).toEqual({ userId: u.id, email: 'eve-new@example.com' });
    expect(await code(confirmEmailChange(f.ctx, token))).toBe('invite-invalid');
    expect(await validateSessionToken(db, s1.token)).toBeNull();
    await waitForChange((c) => c.kind === 'user-sessions' && c.userId === u.id);
    await logIn(db, { email: 'eve-new@example.com', password: 'password-123' });
    expect(await code(logIn(db, { email: u.email, password: 'password-123' }))).not.toBe('ok');
  });

  it('delete account: refused while owning a team with other members; a team of one goes with it, files freed', async () => {
    const { deleteAccount } = await import('../../src/lib/server/services/accounts/account.ts');
    const { transferOwnership } = await import('../../src/lib/server/services/accounts/members.ts');
    const { createProject } = await import('../../src/lib/server/services/projects.ts');
    const db = f.ctx.db.db;
    const alice = await newUser('Alice');
    const bob = await newUser('Bob');
    // Alice owns her team of one (with a project and a stored file) and a team Bob is in.
    const solo = await createProject(f.ctx, alice.id, { name: 'solo work', orgId: alice.personalOrgId });
    const key = `orgs/${alice.personalOrgId}/projects/${solo.id}/assets/${crypto.randomUUID()}/original.mp4`;
    await f.ctx.storage.putBytes(key, 'media');
    await db.insert(schema.assets).values({ orgId: alice.personalOrgId, projectId: solo.id, kind: 'video', name: 'a.mp4', storageKey: key, bytes: 5, sha256: 'x' });
    const shared = (await db.insert(schema.orgs).values({ name: 'Alice & Bob' }).returning())[0]!;
    await db.insert(schema.memberships).values([{ orgId: shared.id, userId: alice.id, role: 'owner' }, { orgId: shared.id, userId: bob.id, role: 'editor' }]);
    // Bob is also a plain member of the fixture org.
    await db.insert(schema.memberships).values({ orgId: f.orgId, userId: bob.id, role: 'viewer' });

    expect(await code(deleteAccount(f.ctx, alice.id, { password: 'wrong-password' }))).toBe('invalid-input');
    await expect(deleteAccount(f.ctx, alice.id, { password: 'password-123' })).rejects.toThrow(/Transfer ownership of “Alice & Bob”/);
    expect(await db.select().from(schema.users).where(eq(schema.users.id, alice.id))).toHaveLength(1);

    await transferOwnership(f.ctx, alice.id, { orgId: shared.id, userId: bob.id });
    expect(await deleteAccount(f.ctx, alice.id, { password: 'password-123' })).toEqual({ deletedOrgs: 1 });
    expect(await db.select().from(schema.users).where(eq(schema.users.id, alice.id))).toEqual([]);
    expect(await db.select().from(schema.orgs).where(eq(schema.orgs.id, alice.personalOrgId))).toEqual([]);
    expect(await db.select().from(schema.projects).where(eq(schema.projects.id, solo.id))).toEqual([]);
    expect(await f.ctx.storage.stat(key)).toBeNull();
    // The team she handed over stays, with Bob as its owner.
    expect((await getMembership(db, bob.id, shared.id))?.role).toBe('owner');
    await waitForChange((c) => c.kind === 'user-sessions' && c.userId === alice.id);

    // A member (not an owner of a shared team) can always leave by deleting their account.
    const carl = await newUser('Carl');
    await db.insert(schema.memberships).values({ orgId: f.orgId, userId: carl.id, role: 'editor' });
    await deleteAccount(f.ctx, carl.id, { password: 'password-123' });
    await waitForChange((c) => c.kind === 'org-member' && c.userId === carl.id && c.orgId === f.orgId && c.newRole === null);
  });
});
