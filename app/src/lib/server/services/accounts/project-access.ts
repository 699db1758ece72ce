/** The one check every project route and procedure goes through. */
import { findProjectWithRole, type ProjectRow, type Queryable } from '../../repositories/accounts.ts';
import { ServiceError } from '../errors.ts';
import { assertRole, type Role } from './roles.ts';
import { isUuid } from './validation.ts';

/**
 * The project and the user's role in its org, if that role is in `allowed`. Outsiders get
 * ServiceError 'not-found' exactly as for a project that does not exist; members with too little get
 * 'forbidden'. A project in the trash is 'not-found' too, unless `opts.trashed` is 'allow' (the trash
 * view, restore, delete forever) or 'only' (those that act on trashed projects alone).
 */
export async function requireProjectRole(
  db: Queryable,
  userId: string,
  projectId: string,
  allowed: readonly Role[],
  opts: { trashed?: 'refuse' | 'allow' | 'only' } = {},
): Promise<{ project: ProjectRow; role: Role }> {
  if (!isUuid(projectId) || !isUuid(userId)) throw new ServiceError('not-found');
  const found = await findProjectWithRole(db, userId, projectId);
  if (!found) throw new ServiceError('not-found');
  return { project: found.project, role: checkProjectAccess({ role: found.role, trashedAt: found.project.trashedAt }, allowed, opts) };
}

/**
 * requireProjectRole's rules on an access row a read fetched itself, in the same query as its data
 * (repositories/reads.ts): null (no such project) is 'not-found'. Returns the role.
 */
export function checkProjectAccess(
  found: { role: Role | null; trashedAt: Date | null } | null,
  allowed: readonly Role[],
  opts: { trashed?: 'refuse' | 'allow' | 'only' } = {},
): Role {
  if (!found) throw new ServiceError('not-found');
  assertRole(found.role, allowed);
  const trashed = opts.trashed ?? 'refuse';
  if (found.trashedAt && trashed === 'refuse') throw new ServiceError('not-found');
  if (!found.trashedAt && trashed === 'only') throw new ServiceError('precondition-failed', 'move the project to the trash first');
  return found.role;
}
