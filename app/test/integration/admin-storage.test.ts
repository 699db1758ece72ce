/** Storage per org for farm admins (service + tRPC policy in authz-matrix): media and outputs, per team, largest first. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { schema } from '@clipmaker/db';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { signUp } from '../../src/lib/server/services/accounts/index.ts';
import { storageByOrg } from '../../src/lib/server/services/admin.ts';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t?.dispose();
});

async function team(email: string, media: number[], outputs: Array<number | null>) {
  const db = t.handle.db;
  const { org } = await signUp(db, { email, name: email.split('@')[0]!, password: 'password-123' });
  const [project] = await db.insert(schema.projects).values({ orgId: org.id, name: 'P' }).returning();
  for (const [i, bytes] of media.entries())
    await db.insert(schema.assets).values({ orgId: org.id, projectId: project!.id, kind: 'video', name: `m${i}.mp4`, storageKey: `media/${project!.id}/m${i}.mp4`, bytes, sha256: 'a'.repeat(64) });
  for (const [i, bytes] of outputs.entries())
    await db.insert(schema.renders).values({ projectId: project!.id, orgId: org.id, version: i + 1, status: bytes === null ? 'failed' : 'succeeded', specKey: 'k', outputPrefix: `renders/x${i}`, durationFrames: 30, bytes });
  return org.id;
}

it('sums each team’s uploaded media and rendered outputs, largest first; failed renders and empty teams count 0', async () => {
  const small = await team('small@example.com', [1000], [500, null]);
  const big = await team('big@example.com', [5_000_000, 2_000_000], [800_000]);
  const empty = await team('empty@example.com', [], []);
  const rows = await storageByOrg({ db: t.handle } as AppContext);
  expect(rows.map((r) => r.orgId)).toEqual([big, small, empty]);
  expect(rows[0]).toMatchObject({ mediaFiles: 2, mediaBytes: 7_000_000, renderOutputs: 1, renderBytes: 800_000, totalBytes: 7_800_000 });
  expect(rows[1]).toMatchObject({ mediaFiles: 1, mediaBytes: 1000, renderOutputs: 1, renderBytes: 500, totalBytes: 1500 });
  expect(rows[2]).toMatchObject({ mediaFiles: 0, mediaBytes: 0, renderOutputs: 0, renderBytes: 0, totalBytes: 0 });
});
