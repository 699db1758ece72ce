/**
 * renders.mine (the tray on every page) against real Postgres: only renders the caller started,
 * running or finished within the day, across their projects, newest first; none from a project they
 * can no longer see; "may cancel" follows the caller's role now, not when the render was started.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '@clipmaker/db';
import { createReviewFixture, type ReviewFixture } from './review-fixture.ts';
import { createProject } from '../../src/lib/server/services/projects.ts';
import { listMyRenders, MY_RENDERS_WINDOW_MS } from '../../src/lib/server/services/renders.ts';

let f: ReviewFixture;
let version = 10;

async function render(projectId: string, createdBy: string, status: 'queued' | 'rendering' | 'succeeded' | 'failed', ageMs = 0): Promise<string> {
  const id = crypto.randomUUID();
  const at = new Date(Date.now() - ageMs);
  const [project] = await f.ctx.db.db.select().from(schema.projects).where(eq(schema.projects.id, projectId));
  await f.ctx.db.db.insert(schema.renders).values({ id, projectId, orgId: project!.orgId, version: version++, status, specKey: `renders/${id}/spec.json`, outputPrefix: `renders/${id}`, outputKey: status === 'succeeded' ? `renders/${id}/output.mp4` : null, durationFrames: 60, createdBy, createdAt: at, finishedAt: status === 'succeeded' || status === 'failed' ? at : null });
  return id;
}

beforeAll(async () => {
  f = await createReviewFixture();
});
afterAll(() => f?.dispose());

describe('renders.mine', () => {
  it("lists the caller's own recent and running renders across projects, nobody else's", async () => {
    const editor = f.users.editor.id;
    const other = await createProject(f.ctx, f.users.owner.id, { name: 'Second', aspect: '9:16' });
    const running = await render(f.projectId, editor, 'rendering', 5_000);
    const doneElsewhere = await render(other.id, editor, 'succeeded', 1_000);
    const stillQueuedOld = await render(f.projectId, editor, 'queued', MY_RENDERS_WINDOW_MS * 2);
    await render(f.projectId, editor, 'failed', MY_RENDERS_WINDOW_MS + 60_000); // too old
    await render(f.projectId, f.users.owner.id, 'rendering'); // the owner's, not the editor's

    const mine = await listMyRenders(f.ctx, editor);
    expect(mine.map((r) => r.id)).toEqual([doneElsewhere, running, stillQueuedOld]);
    expect(mine.map((r) => r.projectName)).toEqual(['Second', 'Teaser', 'Teaser']);
    expect(mine.every((r) => r.canCancel)).toBe(true);
    expect(mine[0]!.downloadUrl).toMatch(/render-v\d+\.mp4/);
    expect(mine[1]!.downloadUrl).toBeNull();
    // Nobody sees anything they did not start.
    expect(await listMyRenders(f.ctx, f.users.outsider.id)).toEqual([]);
  });

  it('drops projects the caller lost and re-checks who may cancel', async () => {
    const u = f.users.reviewer.id;
    const id = await render(f.projectId, u, 'rendering');
    expect((await listMyRenders(f.ctx, u)).map((r) => [r.id, r.canCancel])).toEqual([[id, false]]);
    await f.ctx.db.db.delete(schema.memberships).where(eq(schema.memberships.userId, u));
    expect(await listMyRenders(f.ctx, u)).toEqual([]);
  });
});
