/** Named versions against real Postgres: who may name, list and read them, and what they contain. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { schema } from '@clipmaker/db';
import { appendUpdate } from '@clipmaker/db/documents';
import { addCue, readTimeline } from '@clipmaker/shared/timeline';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { signUp } from '../../src/lib/server/services/accounts/users.ts';
import { createProject } from '../../src/lib/server/services/projects.ts';
import { createVersion, getVersion, listVersions } from '../../src/lib/server/services/versions.ts';
import { ServiceError } from '../../src/lib/server/services/errors.ts';

let t: TestDb;
/** The versions service uses only the database handle of the app context. */
let ctx: AppContext;
let owner: { id: string };
let viewer: { id: string };
let outsider: { id: string };
let projectId: string;

async function failure(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof ServiceError ? e.code : String(e)),
  );
}

function docOf(state: string): Y.Doc {
  const d = new Y.Doc();
  Y.applyUpdate(d, new Uint8Array(Buffer.from(state, 'base64')));
  return d;
}

beforeAll(async () => {
  t = await createTestDb();
  ctx = { db: t.handle } as AppContext;
  const o = await signUp(t.handle.db, { email: 'owner@example.com', name: 'Olive Owner', password: 'password-123' });
  owner = o.user;
  viewer = (await signUp(t.handle.db, { email: 'viewer@example.com', name: 'Vic Viewer', password: 'password-123' })).user;
  outsider = (await signUp(t.handle.db, { email: 'out@example.com', name: 'Otto', password: 'password-123' })).user;
  await t.handle.db.insert(schema.memberships).values({ orgId: o.org.id, userId: viewer.id, role: 'viewer' });
  projectId = (await createProject(ctx, owner.id, { name: 'Versions' })).id;
});

afterAll(async () => {
  await t?.dispose();
});

describe('named versions', () => {
  it('the owner names the saved document; members list and read it; later edits do not change it', async () => {
    const live = new Y.Doc();
    live.on('update', (u: Uint8Array) => void appendUpdate(t.handle.db, projectId, u, owner.id));
    addCue(live, { start: 0, end: 30, text: 'first take' });
    await new Promise((r) => setTimeout(r, 100));

    const v1 = await createVersion(ctx, owner.id, { projectId, name: '  Rough cut ', stateVector: null });
    expect(v1).toMatchObject({ name: 'Rough cut', createdBy: { id: owner.id, name: 'Olive Owner' } });

    addCue(live, { start: 40, end: 60, text: 'second take' });
    await new Promise((r) => setTimeout(r, 100));
    const v2 = await createVersion(ctx, owner.id, { projectId, name: 'Fine cut', stateVector: null });

    const listed = await listVersions(ctx, viewer.id, projectId);
    expect(listed.map((v) => v.name)).toEqual(['Fine cut', 'Rough cut']);

    const got = await getVersion(ctx, viewer.id, projectId, v1.id);
    expect(readTimeline(docOf(got.state)).cues.map((c) => c.text)).toEqual(['first take']);
    const got2 = await getVersion(ctx, owner.id, projectId, v2.id);
    expect(readTimeline(docOf(got2.state)).cues.map((c) => c.text)).toEqual(['first take', 'second take']);
  });

  it('refuses to name a version that lacks edits the client has (not saved yet)', async () => {
    const ahead = new Y.Doc();
    addCue(ahead, { start: 0, end: 10, text: 'unsaved' });
    const sv = Buffer.from(Y.encodeStateVector(ahead)).toString('base64');
    expect(await failure(createVersion(ctx, owner.id, { projectId, name: 'Too early', stateVector: sv }))).toBe('precondition-failed');
    // An empty state vector is always covered.
    const ok = await createVersion(ctx, owner.id, { projectId, name: 'Covered', stateVector: Buffer.from(Y.encodeStateVector(new Y.Doc())).toString('base64') });
    expect(ok.name).toBe('Covered');
  });

  it('viewers cannot name versions; outsiders see nothing; unknown or foreign ids are not found', async () => {
    expect(await failure(createVersion(ctx, viewer.id, { projectId, name: 'Nope', stateVector: null }))).toBe('forbidden');
    expect(await failure(listVersions(ctx, outsider.id, projectId))).toBe('not-found');
    const [v] = await listVersions(ctx, owner.id, projectId);
    expect(await failure(getVersion(ctx, outsider.id, projectId, v!.id))).toBe('not-found');
    expect(await failure(getVersion(ctx, owner.id, projectId, crypto.randomUUID()))).toBe('not-found');
    const other = (await createProject(ctx, owner.id, { name: 'Other' })).id;
    expect(await failure(getVersion(ctx, owner.id, other, v!.id))).toBe('not-found');
    await expect(createVersion(ctx, owner.id, { projectId, name: '   ', stateVector: null })).rejects.toThrow();
  });
});
