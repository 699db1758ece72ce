/** Projects: create (with an initial timeline document), list, open, and the live access feed. */
import type { IngestDemuxer } from '@clipmaker/shared/media';
import * as Y from 'yjs';
import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { schema } from '@clipmaker/db';
import { appendUpdate } from '@clipmaker/db/documents';
import { initTimeline } from '@clipmaker/shared/timeline';
import type { AppContext } from '../context.ts';
import { requireProjectRole, VIEW_ROLES, type Role } from './accounts/index.ts';
import { accessTicks } from '../access-watch.ts';
import { ServiceError } from './errors.ts';
import { listProjectsOfUser } from '../repositories/reads.ts';

const { projects, memberships, assets } = schema;

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

/** The projects the user can see, newest first; trashed ones only with `opts.trashed`. */
export async function listProjects(ctx: AppContext, userId: string, opts: { trashed?: boolean } = {}) {
  const list = await listAllProjects(ctx, userId);
  return opts.trashed ? list : list.filter((p) => !p.trashedAt);
}

async function listAllProjects(ctx: AppContext, userId: string) {
  // One prepared query: the projects of the caller's orgs and those they hold a project override on,
  // the override's role winning (was: the list, the overrides, then the overridden projects).
  const rows = await listProjectsOfUser(ctx.db.db, userId);
  return rows.map((r) => ({ ...r.project, orgName: r.orgName, role: r.role }));
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
    container: a.container as IngestDemuxer | null,
    videoStartUs: a.videoStartUs,
    audioStartUs: a.audioStartUs,
    rotation: a.rotation,
    sar: { num: a.sarNum, den: a.sarDen },
    vfr: a.vfr,
    colorTransfer: a.colorTransfer,
    /** The edit proxy (services/edit-proxies.ts): null when none is made (not a video, older uploads). */
    proxy: a.proxyStatus ? { status: a.proxyStatus, percent: a.proxyPercent } : null,
  };
}
export type AssetView = ReturnType<typeof assetView>;

/**
 * A member's live view of their access to a project (the review page's feed): their role now, then
 * their role again each time an access change may concern them, ending with `role: null` once they
 * have lost it (removed, override taken away, project trashed or deleted). The first check runs before
 * the stream is returned, so an outsider is refused like a query.
 */
export async function watchProjectAccess(ctx: AppContext, userId: string, projectId: string, signal?: AbortSignal) {
  const db = ctx.db.db;
  let orgId: string | null = null;
  const ticks = await accessTicks(
    ctx,
    (c) =>
      c.kind === 'project-closed' ? c.projectId === projectId
      : c.kind === 'project-member' ? c.userId === userId && c.projectId === projectId
      : c.kind === 'org-member' ? c.userId === userId && c.orgId === orgId
      : c.userId === userId,
    signal,
  );
  let first;
  try {
    first = await requireProjectRole(db, userId, projectId, VIEW_ROLES);
  } catch (err) {
    await ticks.return();
    throw err;
  }
  orgId = first.project.orgId;
  return (async function* () {
    let role: string | null = first.role;
    yield { role: first.role as Role | null };
    for await (const _ of ticks) {
      const now = await requireProjectRole(db, userId, projectId, VIEW_ROLES).then((r) => r.role, (err: unknown) => {
        if (err instanceof ServiceError && (err.code === 'not-found' || err.code === 'forbidden')) return null;
        throw err;
      });
      if (now === role) continue;
      role = now;
      yield { role: now };
      if (now === null) return;
    }
  })();
}
