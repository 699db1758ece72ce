/**
 * The one-query list reads (repositories/reads.ts) against real Postgres: the project list is scoped
 * by the caller's memberships and carries the role and org name of each; named versions carry their
 * creator's name, or "unknown" once the account is gone; project overrides (project_members) show
 * up in the list with their role, and the versions read checks access in the same query.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { signUp } from '../../src/lib/server/services/accounts/users.ts';
import { createProject, listProjects } from '../../src/lib/server/services/projects.ts';
import { createVersion, listVersions } from '../../src/lib/server/services/versions.ts';
import { ServiceError } from '../../src/lib/server/services/errors.ts';

/** The ServiceError code a call fails with. */
async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ServiceError);
  return (err as ServiceError).code;
}

let t: TestDb;
let ctx: AppContext;

beforeAll(async () => {
  t = await createTestDb();
  ctx = { db: t.handle } as AppContext;
});
afterAll(async () => {
  await t?.dispose();
});

describe('list reads in one query', () => {
  it('lists only the projects of the orgs the user belongs to, newest first, with role and org name', async () => {
    const ann = await signUp(t.handle.db, { email: 'ann@example.com', name: 'Ann', password: 'password-123' });
    const bob = await signUp(t.handle.db, { email: 'bob@example.com', name: 'Bob', password: 'password-123' });
    const cat = await signUp(t.handle.db, { email: 'cat@example.com', name: 'Cat', password: 'password-123' });
    await t.handle.db.insert(schema.memberships).values({ orgId: bob.org.id, userId: ann.user.id, role: 'viewer' });
    const a1 = await createProject(ctx, ann.user.id, { name: 'Ann one', orgId: ann.org.id });
    const b1 = await createProject(ctx, bob.user.id, { name: 'Bob one' });
    await createProject(ctx, cat.user.id, { name: 'Cat only' });
    const a2 = await createProject(ctx, ann.user.id, { name: 'Ann two', orgId: ann.org.id });
    // Make the order explicit: a1 newest, then b1, then a2.
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    await t.handle.db.update(schema.projects).set({ updatedAt: at(30) }).where(eq(schema.projects.id, a1.id));
    await t.handle.db.update(schema.projects).set({ updatedAt: at(20) }).where(eq(schema.projects.id, b1.id));
    await t.handle.db.update(schema.projects).set({ updatedAt: at(10) }).where(eq(schema.projects.id, a2.id));

    const list = await listProjects(ctx, ann.user.id);
    expect(list.map((p) => [p.name, p.role, p.orgName])).toEqual([
      ['Ann one', 'owner', ann.org.name],
      ['Bob one', 'viewer', bob.org.name],
      ['Ann two', 'owner', ann.org.name],
    ]);
    expect((await listProjects(ctx, cat.user.id)).map((p) => p.name)).toEqual(['Cat only']);
    const nobody = '00000000-0000-4000-8000-000000000000';
    expect(await listProjects(ctx, nobody)).toEqual([]);
  });

  it("lists named versions with their creator's name, and 'unknown' once the account is deleted", async () => {
    const dee = await signUp(t.handle.db, { email: 'dee@example.com', name: 'Dee Owner', password: 'password-123' });
    const eve = await signUp(t.handle.db, { email: 'eve@example.com', name: 'Eve Editor', password: 'password-123' });
    await t.handle.db.insert(schema.memberships).values({ orgId: dee.org.id, userId: eve.user.id, role: 'editor' });
    const { id: projectId } = await createProject(ctx, dee.user.id, { name: 'Versions' });
    const v1 = await createVersion(ctx, dee.user.id, { projectId, name: 'by Dee', stateVector: null });
    const v2 = await createVersion(ctx, eve.user.id, { projectId, name: 'by Eve', stateVector: null });

    const list = await listVersions(ctx, dee.user.id, projectId);
    expect(list.map((v) => [v.id, v.name, v.createdBy])).toEqual([
      [v2.id, 'by Eve', { id: eve.user.id, name: 'Eve Editor' }],
      [v1.id, 'by Dee', { id: dee.user.id, name: 'Dee Owner' }],
    ]);
    expect(list.every((v) => typeof v.bytes === 'number' && v.bytes > 0)).toBe(true);

    await t.handle.db.delete(schema.users).where(eq(schema.users.id, eve.user.id));
    const after = await listVersions(ctx, dee.user.id, projectId);
    expect(after.find((v) => v.id === v2.id)?.createdBy).toEqual({ id: eve.user.id, name: 'unknown' });
  });

  it('a project override lists a project outside the user\'s orgs and wins over the org role', async () => {
    const fay = await signUp(t.handle.db, { email: 'fay@example.com', name: 'Fay', password: 'password-123' });
    const gus = await signUp(t.handle.db, { email: 'gus@example.com', name: 'Gus', password: 'password-123' });
    await t.handle.db.insert(schema.memberships).values({ orgId: gus.org.id, userId: fay.user.id, role: 'viewer' });
    const g1 = await createProject(ctx, gus.user.id, { name: 'Gus raised' });
    const g2 = await createProject(ctx, gus.user.id, { name: 'Gus plain' });
    const hal = await signUp(t.handle.db, { email: 'hal@example.com', name: 'Hal', password: 'password-123' });
    const h1 = await createProject(ctx, hal.user.id, { name: 'Hal guest' });
    await createProject(ctx, hal.user.id, { name: 'Hal private' });
    await t.handle.db.insert(schema.projectMembers).values([
      { projectId: g1.id, userId: fay.user.id, role: 'editor' },
      { projectId: h1.id, userId: fay.user.id, role: 'reviewer' },
    ]);
    const at = (s: number) => new Date(Date.UTC(2026, 0, 2, 0, 0, s));
    for (const [id, s] of [[h1.id, 30], [g2.id, 20], [g1.id, 10]] as const) await t.handle.db.update(schema.projects).set({ updatedAt: at(s) }).where(eq(schema.projects.id, id));

    const list = await listProjects(ctx, fay.user.id);
    expect(list.map((p) => [p.name, p.role, p.orgName])).toEqual([
      ['Hal guest', 'reviewer', hal.org.name],
      ['Gus plain', 'viewer', gus.org.name],
      ['Gus raised', 'editor', gus.org.name],
    ]);
    expect(list.map((p) => p.name)).not.toContain('Hal private');
    // Through the override alone Fay lists the versions of Hal's project (none yet).
    expect(await listVersions(ctx, fay.user.id, h1.id)).toEqual([]);
  });

  it('versions: an outsider, a missing project and a trashed one are all not-found, as before', async () => {
    const ida = await signUp(t.handle.db, { email: 'ida@example.com', name: 'Ida', password: 'password-123' });
    const jon = await signUp(t.handle.db, { email: 'jon@example.com', name: 'Jon', password: 'password-123' });
    const { id: projectId } = await createProject(ctx, ida.user.id, { name: 'Private' });
    await createVersion(ctx, ida.user.id, { projectId, name: 'v1', stateVector: null });
    expect(await listVersions(ctx, ida.user.id, projectId)).toHaveLength(1);
    expect(await refusal(listVersions(ctx, jon.user.id, projectId))).toBe('not-found');
    expect(await refusal(listVersions(ctx, ida.user.id, '00000000-0000-4000-8000-000000000000'))).toBe('not-found');
    expect(await refusal(listVersions(ctx, ida.user.id, 'not-a-uuid'))).toBe('not-found');
    await t.handle.db.update(schema.projects).set({ trashedAt: new Date() }).where(eq(schema.projects.id, projectId));
    expect(await refusal(listVersions(ctx, ida.user.id, projectId))).toBe('not-found');
  });
});
