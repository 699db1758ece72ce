/** Projects: create (with an initial timeline document), list, open. */
import * as Y from 'yjs';
import { desc, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { schema } from '@clipmaker/db';
import { appendUpdate } from '@clipmaker/db/documents';
import { initTimeline } from '@clipmaker/shared/timeline';
import type { AppContext } from '../context.ts';
import { requireProjectRole } from './accounts/index.ts';
import { ServiceError } from './errors.ts';

const { projects, memberships, orgs, assets } = schema;

export const CreateProjectInput = z.object({
  name: z.string().trim().min(1, 'give the project a name').max(120),
  orgId: z.string().uuid().optional(),
  aspect: z.enum(['9:16', '1:1', '4:5', '16:9']).default('9:16'),
  fps: z.union([z.literal(24), z.literal(25), z.literal(30), z.literal(50), z.literal(60)]).default(30),
});

export async function createProject(ctx: AppContext, userId: string, raw: z.input<typeof CreateProjectInput>) {
  const input = CreateProjectInput.parse(raw);
  const db = ctx.db.db;
  const mine = await db.select().from(memberships).where(eq(memberships.userId, userId));
  const membership = input.orgId ? mine.find((m) => m.orgId === input.orgId) : mine.find((m) => m.role === 'owner') ?? mine[0];
  if (!membership) throw new ServiceError('forbidden', 'you are not a member of that team');
  if (membership.role !== 'owner' && membership.role !== 'editor') throw new ServiceError('forbidden', 'only owners and editors can create projects');
  const [project] = await db.insert(projects).values({ orgId: membership.orgId, name: input.name, fpsNum: input.fps, fpsDen: 1, createdBy: userId }).returning();
  // The first document update sets the timeline's fps and aspect, so every client starts from it.
  const doc = new Y.Doc();
  initTimeline(doc, { fps: { num: input.fps, den: 1 }, aspect: input.aspect });
  await appendUpdate(db, project!.id, Y.encodeStateAsUpdate(doc), userId);
  doc.destroy();
  return project!;
}

export async function listProjects(ctx: AppContext, userId: string) {
  const db = ctx.db.db;
  const mine = await db.select().from(memberships).where(eq(memberships.userId, userId));
  if (mine.length === 0) return [];
  const roleByOrg = new Map(mine.map((m) => [m.orgId, m.role]));
  const rows = await db
    .select({ project: projects, orgName: orgs.name })
    .from(projects)
    .innerJoin(orgs, eq(orgs.id, projects.orgId))
    .where(inArray(projects.orgId, [...roleByOrg.keys()]))
    .orderBy(desc(projects.updatedAt));
  return rows.map((r) => ({ ...r.project, orgName: r.orgName, role: roleByOrg.get(r.project.orgId)! }));
}

export async function openProject(ctx: AppContext, userId: string, projectId: string) {
  const db = ctx.db.db;
  const { project, role } = await requireProjectRole(db, userId, projectId, ['owner', 'editor', 'reviewer', 'viewer']);
  const assetRows = await db.select().from(assets).where(eq(assets.projectId, projectId)).orderBy(desc(assets.createdAt));
  return { project, role, assets: assetRows.map(assetView) };
}

export function assetView(a: typeof assets.$inferSelect) {
  return {
    id: a.id,
    key: a.storageKey,
    kind: a.kind,
    name: a.name,
    width: a.width,
    height: a.height,
    fps: a.fpsNum && a.fpsDen ? { num: a.fpsNum, den: a.fpsDen } : null,
    durationFrames: a.durationFrames,
    durationUs: a.durationUs,
    hasAudio: a.hasAudio,
    sha256: a.sha256,
    bytes: a.bytes,
  };
}
export type AssetView = ReturnType<typeof assetView>;
