/**
 * Named versions of a project's timeline: owners and editors name the SAVED document; every member
 * can list and preview them. Restoring happens in the editor as an ordinary (undoable) document
 * edit, so the collab-server's role check is what refuses it for viewers and reviewers.
 */
import { inArray } from 'drizzle-orm';
import { z } from 'zod';
import { schema } from '@clipmaker/db';
import { createNamedSnapshot, getSnapshot, loadDocumentState, type SnapshotInfo } from '@clipmaker/db/documents';
import type { AppContext } from '../context.ts';
import { checkProjectAccess, isUuid, requireProjectRole } from './accounts/index.ts';
import { EDIT_ROLES, VIEW_ROLES } from './accounts/roles.ts';
import { ServiceError } from './errors.ts';
import { isPersisted } from './renders.ts';
import { listNamedVersionsWithAccess } from '../repositories/reads.ts';

export const CreateVersionInput = z.object({
  projectId: z.string().uuid(),
  name: z.string().trim().min(1, 'give the version a name').max(200),
  /** base64 of the client's state vector: the version must contain everything this client sees. */
  stateVector: z.string().max(1_000_000).nullable().default(null),
});

export interface VersionView {
  id: string;
  name: string;
  createdAt: string;
  createdBy: { id: string; name: string } | null;
  bytes: number;
}

async function views(ctx: AppContext, rows: SnapshotInfo[]): Promise<VersionView[]> {
  const ids = [...new Set(rows.map((r) => r.createdBy).filter((id): id is string => !!id))];
  const names = new Map<string, string>();
  if (ids.length > 0) {
    const users = await ctx.db.db.select({ id: schema.users.id, name: schema.users.name }).from(schema.users).where(inArray(schema.users.id, ids));
    for (const u of users) names.set(u.id, u.name);
  }
  return rows.map((r) => ({
    id: r.id,
    name: r.name ?? '',
    createdAt: r.createdAt.toISOString(),
    createdBy: r.createdBy ? { id: r.createdBy, name: names.get(r.createdBy) ?? 'unknown' } : null,
    bytes: r.bytes,
  }));
}

export async function createVersion(ctx: AppContext, userId: string, raw: z.input<typeof CreateVersionInput>): Promise<VersionView> {
  const input = CreateVersionInput.parse(raw);
  const db = ctx.db.db;
  await requireProjectRole(db, userId, input.projectId, EDIT_ROLES);
  let state: Uint8Array | undefined;
  if (input.stateVector !== null) {
    const saved = await loadDocumentState(db, input.projectId);
    if (!isPersisted(saved.state, new Uint8Array(Buffer.from(input.stateVector, 'base64'))))
      throw new ServiceError('precondition-failed', 'your latest edits are not saved yet; try again in a moment');
    state = saved.state;
  }
  const info = await createNamedSnapshot(db, input.projectId, input.name, { createdBy: userId, state });
  const [view] = await views(ctx, [info]);
  return view!;
}

export async function listVersions(ctx: AppContext, userId: string, projectId: string): Promise<VersionView[]> {
  if (!isUuid(projectId) || !isUuid(userId)) throw new ServiceError('not-found');
  // One prepared query: the caller's access to the project, its versions and their creators' names
  // (was: the role check, then the list). The access is checked before anything is answered.
  const { access, versions } = await listNamedVersionsWithAccess(ctx.db.db, userId, projectId);
  checkProjectAccess(access, VIEW_ROLES);
  return versions.map((r) => ({
    id: r.id,
    name: r.name ?? '',
    createdAt: r.createdAt.toISOString(),
    createdBy: r.createdBy ? { id: r.createdBy, name: r.creatorName ?? 'unknown' } : null,
    bytes: r.bytes,
  }));
}

/** One version with its document state (base64 of a Yjs update) for preview and restore. */
export async function getVersion(ctx: AppContext, userId: string, projectId: string, versionId: string): Promise<VersionView & { state: string }> {
  await requireProjectRole(ctx.db.db, userId, projectId, VIEW_ROLES);
  const snap = await getSnapshot(ctx.db.db, projectId, versionId);
  if (!snap || snap.kind !== 'named') throw new ServiceError('not-found', 'no such version');
  const [view] = await views(ctx, [snap]);
  return { ...view!, state: Buffer.from(snap.state).toString('base64') };
}
