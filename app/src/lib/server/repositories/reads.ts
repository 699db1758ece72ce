/**
 * Hot list reads, each ONE prepared query (built once per database handle, see preparedPerHandle):
 * the project list with the caller's role and org name, and a project's named versions with their
 * creators' names. Before, each took two round trips plus drizzle's query building per request
 * (docs/BENCHMARKS.md, "API latency"). Access checks stay where they are: the project list is
 * scoped by the caller's memberships in the query itself; versions are listed only after
 * requireProjectRole.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { preparedPerHandle, type MemberRole, type ProjectRow, type Queryable } from './accounts.ts';

const { users, orgs, memberships, projects, documentSnapshots } = schema;

const projectsOfUserQuery = preparedPerHandle((db) =>
  db
    .select({ project: projects, orgName: orgs.name, role: memberships.role })
    .from(memberships)
    .innerJoin(projects, eq(projects.orgId, memberships.orgId))
    .innerJoin(orgs, eq(orgs.id, projects.orgId))
    .where(eq(memberships.userId, sql.placeholder('userId')))
    .orderBy(desc(projects.updatedAt))
    .prepare('projects_of_user'),
);

/** Every project in the orgs the user belongs to, newest first, with the user's role there. */
export async function listProjectsOfUser(db: Queryable, userId: string): Promise<{ project: ProjectRow; orgName: string; role: MemberRole }[]> {
  return projectsOfUserQuery(db).execute({ userId });
}

const namedVersionsQuery = preparedPerHandle((db) =>
  db
    .select({
      id: documentSnapshots.id,
      name: documentSnapshots.name,
      createdAt: documentSnapshots.createdAt,
      createdBy: documentSnapshots.createdBy,
      creatorName: users.name,
      bytes: sql<number>`octet_length(${documentSnapshots.state})`.mapWith(Number),
    })
    .from(documentSnapshots)
    .leftJoin(users, eq(users.id, documentSnapshots.createdBy))
    .where(and(eq(documentSnapshots.projectId, sql.placeholder('projectId')), eq(documentSnapshots.kind, 'named')))
    .orderBy(desc(documentSnapshots.createdAt), desc(documentSnapshots.uptoUpdateId))
    .prepare('named_versions_with_creators'),
);

export interface NamedVersionRow {
  id: string;
  name: string | null;
  createdAt: Date;
  createdBy: string | null;
  /** null when the creator's account is gone. */
  creatorName: string | null;
  bytes: number;
}

/** A project's named versions, newest first, with each creator's name (callers check access first). */
export async function listNamedVersions(db: Queryable, projectId: string): Promise<NamedVersionRow[]> {
  return namedVersionsQuery(db).execute({ projectId });
}
