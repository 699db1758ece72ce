/**
 * Live revocation: what the collab server does with an AccessChange (shared/collab/access-events.ts)
 * from the app. The message only says whom to re-check; the role comes from the database.
 *
 *  - org-member / project-member: every open socket of that user (on a project of that org, or on
 *    that project) is re-checked: no membership any more -> closed with 4403 (y-websocket does not
 *    reconnect); a lower role -> the socket turns read-only at once and the client is told (type-100
 *    notice), without dropping it. Never above the token's role: a raise takes a new token.
 *  - user-sessions: every socket of that user is closed (4403).
 *  - project-closed: every socket on the project is closed (4410).
 *  - user-account: nothing (it is for the app's session caches).
 * Share-link sockets ("anon:<id>") have no membership; only project-closed concerns them.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { CollabRole } from '@clipmaker/shared/collab';
import type { AccessChange } from '@clipmaker/shared/collab/access-events';
import { ACCESS_CLOSE_CODES } from '@clipmaker/shared/collab/access-message';
import type { Db } from '@clipmaker/db';
import { memberships, projectMembers, projects } from '@clipmaker/db/schema';
import type { CollabEngine, CollabConnection } from './engine.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A user's current role on a project, from the database; null when they have none. */
export type RoleResolver = (userId: string, projectId: string) => Promise<CollabRole | null>;

/**
 * The app's rule (app repositories/accounts.ts findProjectWithRole): a per-project override
 * (project_members) wins over the role in the project's org; neither, or the project is in the
 * trash -> no access.
 */
export function dbRoleResolver(db: Db): RoleResolver {
  return async (userId, projectId) => {
    if (!UUID.test(userId) || !UUID.test(projectId)) return null;
    const rows = await db
      .select({ role: sql<CollabRole | null>`coalesce(${projectMembers.role}, ${memberships.role})` })
      .from(projects)
      .leftJoin(memberships, and(eq(memberships.orgId, projects.orgId), eq(memberships.userId, userId)))
      .leftJoin(projectMembers, and(eq(projectMembers.projectId, projects.id), eq(projectMembers.userId, userId)))
      .where(and(eq(projects.id, projectId), isNull(projects.trashedAt)))
      .limit(1);
    return rows[0]?.role ?? null;
  };
}


export async function applyAccessChange(engine: CollabEngine, resolve: RoleResolver, change: AccessChange, log: Logger): Promise<{ closed: number; changed: number }> {
  let closed = 0;
  let changed = 0;
  if (change.kind === 'user-account') return { closed, changed }; // the app's session caches only
  if (change.kind === 'project-closed') {
    for (const c of engine.connections((i) => i.projectId === change.projectId)) {
      c.close(ACCESS_CLOSE_CODES.projectClosed, 'project closed');
      closed++;
    }
    return { closed, changed };
  }
  if (change.kind === 'user-sessions') {
    for (const c of engine.connections((i) => i.userId === change.userId)) {
      c.close(ACCESS_CLOSE_CODES.revoked, 'signed out');
      closed++;
    }
    return { closed, changed };
  }
  const affected = engine.connections((i) => i.userId === change.userId && (change.kind === 'org-member' || i.projectId === change.projectId));
  // One database read per project, whatever the number of sockets.
  const byProject = new Map<string, CollabConnection[]>();
  for (const c of affected) byProject.set(c.info.projectId, [...(byProject.get(c.info.projectId) ?? []), c]);
  await Promise.all(
    [...byProject].map(async ([projectId, conns]) => {
      let role: CollabRole | null;
      try {
        role = await resolve(change.userId, projectId);
      } catch (err) {
        // Cannot confirm the access: fail closed for write, keep the socket (it re-checks on reconnect).
        log.error({ err, projectId, userId: change.userId }, 'access re-check failed; sockets turned read-only');
        role = 'viewer';
      }
      for (const c of conns) {
        if (role === null) {
          c.close(ACCESS_CLOSE_CODES.revoked, 'access revoked');
          closed++;
        } else if (c.setRole(role)) changed++;
      }
    }),
  );
  log.info({ change, sockets: affected.length, closed, changed }, 'access change applied');
  return { closed, changed };
}
