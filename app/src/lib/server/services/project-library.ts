/**
 * The projects page: cards with thumbnails, rename, duplicate, trash / restore, delete forever.
 * Who may do what is the role table's (edit: rename, duplicate, trash, restore; deleteProjects:
 * delete forever). A trashed project is closed for everything else (requireProjectRole refuses it),
 * and its open editors are told at once (project-closed on the access channel).
 *
 * Duplicates share files: the copy gets its own asset rows (new ids, the document re-pointed at
 * them) that reference the same storage keys. So "delete forever" frees an asset's file only when no
 * other project's asset still references it, and a render's folder always (renders are never shared;
 * content-addressed chunk pieces under chunks/ are kept, as deleteRender does).
 */
import path from 'node:path';
import * as Y from 'yjs';
import { and, eq, inArray, isNotNull, ne } from 'drizzle-orm';
import { z } from 'zod';
import { schema } from '@clipmaker/db';
import { appendUpdate, loadDocumentState } from '@clipmaker/db/documents';
import { remapAssetIds } from '@clipmaker/shared/timeline';
import type { AppContext } from '../context.ts';
import { publishAccessChange } from '../access-events.ts';
import { signedFileUrl } from '../signing.ts';
import { logger } from '../logger.ts';
import { DELETE_PROJECT_ROLES, EDIT_ROLES, requireProjectRole } from './accounts/index.ts';
import { audit } from './audit.ts';
import { listProjects } from './projects.ts';
import { projectCardPictures } from '../repositories/reads.ts';

const { projects, assets, renders } = schema;

export interface Actor {
  id: string;
  name: string;
}

const ProjectName = z.string().trim().min(1, 'give the project a name').max(120);
export const RenameProjectInput = z.object({ projectId: z.string().uuid(), name: ProjectName });
export const DuplicateProjectInput = z.object({ projectId: z.string().uuid(), name: ProjectName.optional() });
export const ProjectIdInput = z.object({ projectId: z.string().uuid() });

export type ProjectThumb = { kind: 'render' | 'image'; url: string } | { kind: 'video'; url: string } | null;

/**
 * Every project the user can see (trashed ones too, flagged), each with its picture: the latest
 * finished render's thumbnail (else its poster), else the first asset's poster, else the first
 * asset itself (an image, or a video the page shows at its first frames).
 */
export async function listProjectCards(ctx: AppContext, userId: string) {
  const list = await listProjects(ctx, userId, { trashed: true });
  const ids = list.map((p) => p.id);
  const db = ctx.db.db;
  const secret = ctx.config.SIGNING_SECRET;
  const { latestRenders, firstAssets } = await projectCardPictures(db, ids);
  const renderBy = new Map(latestRenders.map((r) => [r.projectId, r]));
  const assetBy = new Map(firstAssets.map((a) => [a.projectId, a]));
  const thumbOf = (projectId: string): ProjectThumb => {
    const r = renderBy.get(projectId);
    const renderKey = r?.thumbKey ?? r?.posterKey;
    if (renderKey) return { kind: 'render', url: signedFileUrl(secret, renderKey) };
    const a = assetBy.get(projectId);
    if (!a) return null;
    if (a.posterKey) return { kind: 'image', url: signedFileUrl(secret, a.posterKey) };
    return { kind: a.kind === 'image' ? 'image' : 'video', url: `/api/assets/${a.id}/file` };
  };
  return list.map((p) => ({
    id: p.id,
    name: p.name,
    orgName: p.orgName,
    role: p.role,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
    trashedAt: p.trashedAt?.toISOString() ?? null,
    thumb: p.trashedAt ? null : thumbOf(p.id),
  }));
}
export type ProjectCard = Awaited<ReturnType<typeof listProjectCards>>[number];

export async function renameProject(ctx: AppContext, actor: Actor, raw: z.input<typeof RenameProjectInput>) {
  const input = RenameProjectInput.parse(raw);
  const db = ctx.db.db;
  const { project } = await requireProjectRole(db, actor.id, input.projectId, EDIT_ROLES);
  const [row] = await db.update(projects).set({ name: input.name, updatedAt: new Date() }).where(eq(projects.id, project.id)).returning();
  await audit(db, { orgId: project.orgId, projectId: project.id, actorUserId: actor.id, actorName: actor.name, action: 'project.rename', targetType: 'project', targetId: project.id, details: { from: project.name, to: input.name } });
  return { id: row!.id, name: row!.name };
}

/**
 * A new project in the same org with the saved document and asset rows that reference the same
 * files (no bytes are copied). Renders, comments, versions and members stay with the original.
 */
export async function duplicateProject(ctx: AppContext, actor: Actor, raw: z.input<typeof DuplicateProjectInput>) {
  const input = DuplicateProjectInput.parse(raw);
  const db = ctx.db.db;
  const { project } = await requireProjectRole(db, actor.id, input.projectId, EDIT_ROLES);
  const name = input.name ?? `${project.name} (copy)`.slice(0, 120);
  const { state } = await loadDocumentState(db, project.id);
  const copy = await db.transaction(async (tx) => {
    const [row] = await tx.insert(projects).values({ orgId: project.orgId, name, fpsNum: project.fpsNum, fpsDen: project.fpsDen, createdBy: actor.id }).returning();
    const originals = await tx.select().from(assets).where(eq(assets.projectId, project.id));
    const newIds = new Map(originals.map((a) => [a.id, crypto.randomUUID()]));
    if (originals.length) {
      await tx.insert(assets).values(originals.map(({ id, createdAt: _c, ...a }) => ({ ...a, id: newIds.get(id)!, projectId: row!.id, createdBy: actor.id })));
    }
    const doc = new Y.Doc();
    Y.applyUpdate(doc, state);
    remapAssetIds(doc, newIds);
    await appendUpdate(tx as never, row!.id, Y.encodeStateAsUpdate(doc), actor.id);
    doc.destroy();
    return row!;
  });
  await audit(db, { orgId: project.orgId, projectId: copy.id, actorUserId: actor.id, actorName: actor.name, action: 'project.duplicate', targetType: 'project', targetId: copy.id, details: { from: project.id, fromName: project.name } });
  return { id: copy.id, name: copy.name };
}

/** Moves the project to the trash (restorable); every open editor and review feed on it closes. */
export async function trashProject(ctx: AppContext, actor: Actor, projectId: string) {
  const db = ctx.db.db;
  const { project } = await requireProjectRole(db, actor.id, projectId, EDIT_ROLES);
  await db.update(projects).set({ trashedAt: new Date() }).where(eq(projects.id, project.id));
  await audit(db, { orgId: project.orgId, projectId: project.id, actorUserId: actor.id, actorName: actor.name, action: 'project.trash', targetType: 'project', targetId: project.id, details: { name: project.name } });
  await publishAccessChange(ctx, { kind: 'project-closed', projectId: project.id });
  return { id: project.id, trashed: true as const };
}

export async function restoreProject(ctx: AppContext, actor: Actor, projectId: string) {
  const db = ctx.db.db;
  const { project } = await requireProjectRole(db, actor.id, projectId, EDIT_ROLES, { trashed: 'only' });
  await db.update(projects).set({ trashedAt: null, updatedAt: new Date() }).where(eq(projects.id, project.id));
  await audit(db, { orgId: project.orgId, projectId: project.id, actorUserId: actor.id, actorName: actor.name, action: 'project.restore', targetType: 'project', targetId: project.id, details: { name: project.name } });
  return { id: project.id, trashed: false as const };
}

/**
 * Deletes a trashed project for good: its renders are cancelled, then its files are freed (those
 * no other project references), then its rows go (cascading to assets, renders, comments, links,
 * documents). Files go first so that a storage failure leaves the project in the trash to retry,
 * never rows gone with files left behind.
 */
export async function deleteProjectForever(ctx: AppContext, actor: Actor, projectId: string) {
  const { project } = await requireProjectRole(ctx.db.db, actor.id, projectId, DELETE_PROJECT_ROLES, { trashed: 'only' });
  const freedFolders = await purgeProject(ctx, project.id);
  await audit(ctx.db.db, { orgId: project.orgId, projectId: null, actorUserId: actor.id, actorName: actor.name, action: 'project.delete', targetType: 'project', targetId: project.id, details: { name: project.name, freedFolders } });
  return { id: project.id, deleted: true as const, freedFolders };
}

/**
 * The deletion itself, for callers that have checked who may (delete forever; deleting the account
 * of an org's only member). Returns how many storage folders were freed.
 */
export async function purgeProject(ctx: AppContext, projectId: string): Promise<number> {
  const db = ctx.db.db;
  const assetRows = await db.select({ storageKey: assets.storageKey, posterKey: assets.posterKey }).from(assets).where(eq(assets.projectId, projectId));
  const renderRows = await db.select({ id: renders.id, status: renders.status, outputPrefix: renders.outputPrefix }).from(renders).where(eq(renders.projectId, projectId));
  for (const r of renderRows) if (r.status === 'queued' || r.status === 'rendering') await ctx.queue.cancel(r.id).catch((err: unknown) => logger.warn({ err, renderId: r.id }, 'could not cancel the render of a deleted project'));
  const prefixes = [...(await unsharedAssetFolders(ctx, projectId, assetRows)), ...renderRows.map((r) => r.outputPrefix)];
  await freeStorage(ctx, prefixes);
  await db.delete(projects).where(eq(projects.id, projectId));
  await publishAccessChange(ctx, { kind: 'project-closed', projectId });
  return prefixes.length;
}

/** The folder of each asset file (and poster) of this project that no other project's asset references. */
async function unsharedAssetFolders(ctx: AppContext, projectId: string, rows: { storageKey: string; posterKey: string | null }[]): Promise<string[]> {
  const keys = rows.flatMap((r) => (r.posterKey ? [r.storageKey, r.posterKey] : [r.storageKey]));
  if (keys.length === 0) return [];
  const db = ctx.db.db;
  const elsewhere = await db
    .select({ storageKey: assets.storageKey, posterKey: assets.posterKey })
    .from(assets)
    .where(and(ne(assets.projectId, projectId), inArray(assets.storageKey, rows.map((r) => r.storageKey))));
  const posters = await db
    .select({ posterKey: assets.posterKey })
    .from(assets)
    .where(and(ne(assets.projectId, projectId), isNotNull(assets.posterKey), inArray(assets.posterKey, keys)));
  const shared = new Set([...elsewhere.flatMap((r) => [r.storageKey, r.posterKey]), ...posters.map((r) => r.posterKey)]);
  // An asset's files live in one folder (…/assets/<id>/): free it only when none of its files is shared.
  const folders = new Map<string, boolean>();
  for (const k of keys) {
    const dir = path.posix.dirname(k);
    folders.set(dir, (folders.get(dir) ?? true) && !shared.has(k));
  }
  return [...folders].filter(([, free]) => free).map(([dir]) => dir);
}

async function freeStorage(ctx: AppContext, prefixes: readonly string[]): Promise<void> {
  for (const prefix of prefixes) await ctx.storage.deletePrefix(prefix);
}
