/**
 * A real AppContext on a fresh Postgres database and a unique Redis prefix, with one org holding an
 * owner, an editor, a reviewer and a viewer, an outsider in another org, a farm admin, a project and
 * a finished render (its frozen spec in storage: clips c1 [0,30) and c2 [30,60), cue q1 [40,55)).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { DEFAULT_SUBTITLE_STYLE, RenderSpec, RenderSpecV1, migrateSpecV1 } from '@clipmaker/shared/render-spec';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/lib/server/config.ts';
import { Throttles } from '../../src/lib/server/throttle.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { testContext } from '../support/context.ts';
import { RenderQueueProducer } from '../../src/lib/server/queue.ts';
import { LocalStorage } from '../../src/lib/server/storage.ts';
import { closeAccessWatch } from '../../src/lib/server/access-watch.ts';
import { insertMembership } from '../../src/lib/server/repositories/accounts.ts';
import { signUp } from '../../src/lib/server/services/accounts/users.ts';
import { createProject } from '../../src/lib/server/services/projects.ts';


export type FixtureRole = 'owner' | 'editor' | 'reviewer' | 'viewer' | 'farm-admin' | 'outsider';
export interface FixtureUser {
  id: string;
  email: string;
  name: string;
  isFarmAdmin: boolean;
}

export interface ReviewFixture {
  ctx: AppContext;
  t: TestDb;
  users: Record<FixtureRole, FixtureUser>;
  orgId: string;
  projectId: string;
  renderId: string;
  spec: RenderSpec;
  dispose(): Promise<void>;
}

/** Written as a v1 spec (what older renders stored) and migrated to v2, as the services read it. */
export function fixtureSpec(): RenderSpec {
  return RenderSpec.parse(migrateSpecV1(RenderSpecV1.parse({
    version: 1,
    output: { width: 320, height: 240, fps: { num: 30, den: 1 }, durationFrames: 60, video: { codec: 'h264', crf: 28, preset: 'veryfast' }, audio: { codec: 'aac', bitrateKbps: 96, sampleRate: 48000 }, gop: 30 },
    sources: [{ id: 's1', key: 'assets/src.mp4', kind: 'video', width: 320, height: 240, fps: { num: 30, den: 1 }, durationFrames: 120, durationUs: 4_000_000, hasAudio: false, sha256: null }],
    clips: [
      { id: 'c1', sourceId: 's1', start: 0, sourceIn: 0, sourceOut: 30, volume: 1, crop: [] },
      { id: 'c2', sourceId: 's1', start: 30, sourceIn: 60, sourceOut: 90, volume: 1, crop: [] },
    ],
    subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: [{ id: 'q1', start: 40, end: 55, text: 'hello' }] },
    overlays: [],
    music: null,
  })));
}

/** A guest email already proven on `linkId` (what the code flow leaves behind); returns the verification id. */
export async function verifiedGuestEmail(f: Pick<ReviewFixture, 'ctx'>, linkId: string, email: string): Promise<string> {
  const id = crypto.randomUUID();
  await f.ctx.db.db.insert(schema.reviewVerifications).values({ id, shareLinkId: linkId, email, codeHash: new Uint8Array(32), expiresAt: new Date(), verifiedAt: new Date() });
  return id;
}

let n = 0;
export async function createReviewFixture(): Promise<ReviewFixture> {
  const t = await createTestDb();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cm-review-'));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: uniquePrefix('review') });
  const ctx = testContext({ config, db: t.handle, storage: new LocalStorage(config.storageDir) });
  ctx.queue = new RenderQueueProducer(config.REDIS_URL, config.QUEUE_PREFIX);
  ctx.redis = new Redis(config.REDIS_URL);
  ctx.throttles = new Throttles(ctx.redis, config.QUEUE_PREFIX!);
  const db = t.handle.db;
  const mk = async (label: string) => {
    n += 1;
    const { user, org } = await signUp(db, { email: `${label}${n}@example.com`, name: label, password: 'password-123' });
    return { user: { id: user.id, email: user.email, name: user.name, isFarmAdmin: false }, orgId: org.id };
  };
  const owner = await mk('Owner');
  const users = { owner: owner.user } as Record<FixtureRole, FixtureUser>;
  for (const role of ['editor', 'reviewer', 'viewer'] as const) {
    const u = await mk(role);
    await insertMembership(db, { orgId: owner.orgId, userId: u.user.id, role });
    users[role] = u.user;
  }
  users.outsider = (await mk('Outsider')).user;
  const admin = await mk('Admin');
  await db.update(schema.users).set({ isFarmAdmin: true }).where(eq(schema.users.id, admin.user.id));
  users['farm-admin'] = { ...admin.user, isFarmAdmin: true };

  const project = await createProject(ctx, users.owner.id, { name: 'Teaser', aspect: '16:9' });
  const spec = fixtureSpec();
  const renderId = crypto.randomUUID();
  const prefix = `renders/${renderId}`;
  await ctx.storage.putBytes(`${prefix}/spec.json`, JSON.stringify(spec));
  await db.insert(schema.renders).values({
    id: renderId,
    projectId: project.id,
    orgId: owner.orgId,
    version: 1,
    status: 'succeeded',
    stage: 'done',
    progress: 100,
    specKey: `${prefix}/spec.json`,
    outputPrefix: prefix,
    outputKey: `${prefix}/output.mp4`,
    durationFrames: spec.output.durationFrames,
    createdBy: users.owner.id,
    startedAt: new Date(Date.now() - 20_000),
    finishedAt: new Date(),
  });
  return {
    ctx,
    t,
    users,
    orgId: owner.orgId,
    projectId: project.id,
    renderId,
    spec,
    async dispose() {
      closeAccessWatch(ctx);
      await ctx.queue.close();
      ctx.redis.disconnect();
      await t.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
