/** Orgs, invites and project access against real Postgres. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { findInviteByTokenHash, insertMembership, markInviteAccepted, type Queryable } from '../../src/lib/server/repositories/accounts.ts';
import { ServiceError } from '../../src/lib/server/services/errors.ts';
import { INVITE_TTL_MS, acceptInvite, createInvite, hashInviteToken } from '../../src/lib/server/services/accounts/invites.ts';
import { createOrg, getMembership, listMyOrgs, requireOrgRole } from '../../src/lib/server/services/accounts/orgs.ts';
import { requireProjectRole } from '../../src/lib/server/services/accounts/project-access.ts';
import { EDIT_ROLES, REVIEW_ROLES, VIEW_ROLES, type Role } from '../../src/lib/server/services/accounts/roles.ts';
import { signUp } from '../../src/lib/server/services/accounts/users.ts';

let t: TestDb;
let db: Queryable;

beforeAll(async () => {
  t = await createTestDb();
  db = t.handle.db;
});
afterAll(async () => {
  await t?.dispose();
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}
async function accountCode(p: Promise<unknown>): Promise<string> {
  const e = await rejection(p);
  expect(e).toBeInstanceOf(ServiceError);
  return (e as ServiceError).code;
}
async function accessCode(p: Promise<unknown>): Promise<string> {
  const e = await rejection(p);
  expect(e).toBeInstanceOf(ServiceError);
  return (e as ServiceError).code;
}

let n = 0;
async function newUser(name: string) {
  n += 1;
  const { user, org } = await signUp(db, { email: `${name.toLowerCase()}${n}@example.com`, name, password: 'password-123' });
  return { ...user, personalOrgId: org.id };
}

describe('orgs', () => {
  it('createOrg makes the creator owner; listMyOrgs and getMembership report roles', async () => {
    const u = await newUser('Olga');
    const team = await createOrg(db, { name: '  Studio  ', ownerId: u.id });
    expect(team.name).toBe('Studio');
    const mine = await listMyOrgs(db, u.id);
    expect(mine.map((o) => [o.name, o.role])).toEqual([
      ["Olga's team", 'owner'],
      ['Studio', 'owner'],
    ]);
    expect((await getMembership(db, u.id, team.id))?.role).toBe('owner');
    const other = await newUser('Otto');
    expect(await getMembership(db, other.id, team.id)).toBeNull();
    expect(await getMembership(db, u.id, 'not-a-uuid')).toBeNull();
    expect(await accessCode(requireOrgRole(db, other.id, team.id, VIEW_ROLES))).toBe('not-found');
    expect(await accountCode(createOrg(db, { name: '   ', ownerId: u.id }))).toBe('invalid-input');
  });
});

describe('invites', () => {
  let owner: Awaited<ReturnType<typeof newUser>>;
  let orgId: string;
  beforeAll(async () => {
    owner = await newUser('Owner');
    orgId = owner.personalOrgId;
  });

  it('owner invites an editor; the invited user accepts once', async () => {
    const invitee = await newUser('Eddie');
    const { token, invite } = await createInvite(db, { orgId, email: `  ${invitee.email.toUpperCase()} `, role: 'editor', invitedBy: owner.id });
    expect(invite.email).toBe(invitee.email);
    expect(invite.role).toBe('editor');
    expect(token).toMatch(/^[a-z2-7]{32}$/);

    // Only the hash is stored.
    const [row] = await db.select().from(schema.invites).where(eq(schema.invites.id, invite.id));
    expect(Array.from(row!.tokenHash)).toEqual(Array.from(hashInviteToken(token)));
    expect(JSON.stringify(row)).not.toContain(token);
    expect(row!.expiresAt.getTime() - row!.createdAt.getTime()).toBeGreaterThan(INVITE_TTL_MS - 60_000);
    expect(row!.expiresAt.getTime() - row!.createdAt.getTime()).toBeLessThan(INVITE_TTL_MS + 60_000);

    // Someone else, logged in, cannot accept it, and does not use it up.
    const stranger = await newUser('Stranger');
    expect(await accountCode(acceptInvite(db, token, stranger.id))).toBe('invite-email-mismatch');
    expect(await getMembership(db, stranger.id, orgId)).toBeNull();

    expect(await acceptInvite(db, token, invitee.id)).toEqual({ orgId, role: 'editor', alreadyMember: false });
    expect((await getMembership(db, invitee.id, orgId))?.role).toBe('editor');

    expect(await accountCode(acceptInvite(db, token, invitee.id))).toBe('invite-used');
  });

  it('refuses an expired invite', async () => {
    const invitee = await newUser('Late');
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 60 * 60 * 1000);
    const { token } = await createInvite(db, { orgId, email: invitee.email, role: 'viewer', invitedBy: owner.id }, { now: eightDaysAgo });
    expect(await accountCode(acceptInvite(db, token, invitee.id))).toBe('invite-expired');
    expect(await getMembership(db, invitee.id, orgId)).toBeNull();
  });

  it('refuses unknown and malformed tokens', async () => {
    expect(await accountCode(acceptInvite(db, 'a'.repeat(32), owner.id))).toBe('invite-invalid');
    expect(await accountCode(acceptInvite(db, "x' or '1'='1", owner.id))).toBe('invite-invalid');
  });

  it('is single-use under concurrent accepts', async () => {
    const invitee = await newUser('Racer');
    const { token } = await createInvite(db, { orgId, email: invitee.email, role: 'reviewer', invitedBy: owner.id });
    const results = await Promise.allSettled([acceptInvite(db, token, invitee.id), acceptInvite(db, token, invitee.id)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((failed.reason as ServiceError).code).toBe('invite-used');
  });

  it('consuming an invite is a conditional update: only the first caller wins', async () => {
    const { token } = await createInvite(db, { orgId, email: 'cond@example.com', role: 'viewer', invitedBy: owner.id });
    const invite = (await findInviteByTokenHash(db, hashInviteToken(token)))!;
    const now = new Date();
    expect(await markInviteAccepted(db, invite.id, now)).toBe(true);
    expect(await markInviteAccepted(db, invite.id, now)).toBe(false);
    const { token: late } = await createInvite(db, { orgId, email: 'cond@example.com', role: 'viewer', invitedBy: owner.id });
    const lateInvite = (await findInviteByTokenHash(db, hashInviteToken(late)))!;
    expect(await markInviteAccepted(db, lateInvite.id, new Date(lateInvite.expiresAt.getTime() + 1))).toBe(false);
  });

  it('an existing member keeps their role', async () => {
    const member = await newUser('Member');
    await insertMembership(db, { orgId, userId: member.id, role: 'editor' });
    const { token } = await createInvite(db, { orgId, email: member.email, role: 'viewer', invitedBy: owner.id });
    expect(await acceptInvite(db, token, member.id)).toEqual({ orgId, role: 'editor', alreadyMember: true });
  });

  it('only owners may invite', async () => {
    const editor = await newUser('Ed');
    await insertMembership(db, { orgId, userId: editor.id, role: 'editor' });
    const outsider = await newUser('Out');
    expect(await accessCode(createInvite(db, { orgId, email: 'x@example.com', role: 'viewer', invitedBy: editor.id }))).toBe('forbidden');
    expect(await accessCode(createInvite(db, { orgId, email: 'x@example.com', role: 'viewer', invitedBy: outsider.id }))).toBe('not-found');
    expect(await accountCode(createInvite(db, { orgId, email: 'not-an-email', role: 'viewer', invitedBy: owner.id }))).toBe('invalid-input');
    expect(await accountCode(createInvite(db, { orgId, email: 'x@example.com', role: 'admin' as Role, invitedBy: owner.id }))).toBe('invalid-input');
  });
});

describe('requireProjectRole', () => {
  const users = {} as Record<Role | 'outsider', string>;
  let projectId: string;

  beforeAll(async () => {
    const owner = await newUser('ProjOwner');
    users.owner = owner.id;
    for (const role of ['editor', 'reviewer', 'viewer'] as const) {
      const u = await newUser(`Proj${role}`);
      await insertMembership(db, { orgId: owner.personalOrgId, userId: u.id, role });
      users[role] = u.id;
    }
    users.outsider = (await newUser('ProjOutsider')).id;
    const [project] = await db.insert(schema.projects).values({ orgId: owner.personalOrgId, name: 'Trailer' }).returning();
    projectId = project!.id;
  });

  const who = ['owner', 'editor', 'reviewer', 'viewer', 'outsider'] as const;
  const cases: Array<[string, readonly Role[], Record<(typeof who)[number], 'ok' | 'forbidden' | 'not-found'>]> = [
    ['edit', EDIT_ROLES, { owner: 'ok', editor: 'ok', reviewer: 'forbidden', viewer: 'forbidden', outsider: 'not-found' }],
    ['review', REVIEW_ROLES, { owner: 'ok', editor: 'ok', reviewer: 'ok', viewer: 'forbidden', outsider: 'not-found' }],
    ['view', VIEW_ROLES, { owner: 'ok', editor: 'ok', reviewer: 'ok', viewer: 'ok', outsider: 'not-found' }],
    ['manage', ['owner'], { owner: 'ok', editor: 'forbidden', reviewer: 'forbidden', viewer: 'forbidden', outsider: 'not-found' }],
  ];

  it.each(cases)('%s', async (_name, allowed, expected) => {
    for (const w of who) {
      const outcome = await requireProjectRole(db, users[w], projectId, allowed).then(
        (r) => {
          expect(r.project.id).toBe(projectId);
          expect(r.role).toBe(w);
          return 'ok' as const;
        },
        (e: unknown) => {
          expect(e).toBeInstanceOf(ServiceError);
          return (e as ServiceError).code;
        },
      );
      expect([w, outcome]).toEqual([w, expected[w]]);
    }
  });

  it('a missing project looks exactly like an outsider', async () => {
    const missing = await rejection(requireProjectRole(db, users.owner, '00000000-0000-4000-8000-000000000000', VIEW_ROLES));
    const hidden = await rejection(requireProjectRole(db, users.outsider, projectId, VIEW_ROLES));
    expect(missing).toBeInstanceOf(ServiceError);
    expect(hidden).toBeInstanceOf(ServiceError);
    expect([(missing as ServiceError).code, (missing as ServiceError).message]).toEqual([
      (hidden as ServiceError).code,
      (hidden as ServiceError).message,
    ]);
    expect(await accessCode(requireProjectRole(db, users.owner, 'not-a-uuid', VIEW_ROLES))).toBe('not-found');
  });
});
