/**
 * Hot list reads, each ONE prepared query (built once per database handle, see preparedPerHandle):
 * the project list with the caller's role and org name, and a project's named versions with their
 * creators' names and the caller's access to the project. Before, each took two or three round trips
 * plus drizzle's query building per request (docs/BENCHMARKS.md, "API latency"). Access checks keep
 * their rules: the project list is scoped by the caller's memberships and project overrides in the
 * query itself; the versions come with the caller's role and the project's trash state, which the
 * service checks (checkProjectAccess, the same check as requireProjectRole) before answering.
 */
import { and, asc, desc, eq, inArray, ne, or, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { schema } from '@clipmaker/db';
import { preparedPerHandle, type MemberRole, type ProjectRow, type Queryable } from './accounts.ts';

const { users, orgs, memberships, projectMembers, projects, documentSnapshots, renders, assets } = schema;

/** A project override (project_members) wins over the org role, as in findProjectWithRole. */
const roleOnProject = sql<MemberRole | null>`coalesce(${projectMembers.role}, ${memberships.role})`;

const projectsOfUserQuery = preparedPerHandle((db) =>
  db
    .select({ project: projects, orgName: orgs.name, role: roleOnProject })
    .from(projects)
    .innerJoin(orgs, eq(orgs.id, projects.orgId))
    .leftJoin(memberships, and(eq(memberships.orgId, projects.orgId), eq(memberships.userId, sql.placeholder('userId'))))
    .leftJoin(projectMembers, and(eq(projectMembers.projectId, projects.id), eq(projectMembers.userId, sql.placeholder('userId'))))
    .where(
      or(
        inArray(projects.orgId, db.select({ orgId: memberships.orgId }).from(memberships).where(eq(memberships.userId, sql.placeholder('userId')))),
        inArray(projects.id, db.select({ projectId: projectMembers.projectId }).from(projectMembers).where(eq(projectMembers.userId, sql.placeholder('userId')))),
      ),
    )
    .orderBy(desc(projects.updatedAt))
    .prepare('projects_of_user'),
);

/**
 * Every project the user can see, newest first, with the user's role there: the projects of the orgs
 * they belong to, and those they hold a project override on (whether or not they are in its org).
 */
export async function listProjectsOfUser(db: Queryable, userId: string): Promise<{ project: ProjectRow; orgName: string; role: MemberRole }[]> {
  // Never null here: every row matched a membership or an override.
  return (await projectsOfUserQuery(db).execute({ userId })) as { project: ProjectRow; orgName: string; role: MemberRole }[];
}

/** One row per named version (or one with `id` null when there are none), each with the access columns. */
const namedVersionsQuery = preparedPerHandle((db) =>
  db
    .select({
      role: roleOnProject,
      trashedAt: projects.trashedAt,
      id: documentSnapshots.id,
      name: documentSnapshots.name,
      createdAt: documentSnapshots.createdAt,
      createdBy: documentSnapshots.createdBy,
      creatorName: users.name,
      bytes: sql<number>`octet_length(${documentSnapshots.state})`.mapWith(Number),
    })
    .from(projects)
    .leftJoin(memberships, and(eq(memberships.orgId, projects.orgId), eq(memberships.userId, sql.placeholder('userId'))))
    .leftJoin(projectMembers, and(eq(projectMembers.projectId, projects.id), eq(projectMembers.userId, sql.placeholder('userId'))))
    .leftJoin(documentSnapshots, and(eq(documentSnapshots.projectId, projects.id), eq(documentSnapshots.kind, 'named')))
    .leftJoin(users, eq(users.id, documentSnapshots.createdBy))
    .where(eq(projects.id, sql.placeholder('projectId')))
    .orderBy(desc(documentSnapshots.createdAt), desc(documentSnapshots.uptoUpdateId))
    .prepare('named_versions_with_access'),
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

/**
 * A project's named versions, newest first, with each creator's name, and in the same round trip the
 * caller's role on the project (null: none) and its trash state; `access` is null when the project
 * does not exist. The caller must check `access` before using `versions`.
 */
export async function listNamedVersionsWithAccess(
  db: Queryable,
  userId: string,
  projectId: string,
): Promise<{ access: { role: MemberRole | null; trashedAt: Date | null } | null; versions: NamedVersionRow[] }> {
  const rows = await namedVersionsQuery(db).execute({ userId, projectId });
  const first = rows[0];
  if (!first) return { access: null, versions: [] };
  const versions: NamedVersionRow[] = [];
  for (const r of rows) {
    if (r.id !== null && r.createdAt !== null) versions.push({ id: r.id, name: r.name, createdAt: r.createdAt, createdBy: r.createdBy, creatorName: r.creatorName, bytes: r.bytes });
  }
  return { access: { role: first.role, trashedAt: first.trashedAt }, versions };
}

/** `column = any($ids::uuid[])`: one array parameter, so the query text (and its prepared statement) is the same for any number of ids. */
const inIds = (column: AnyPgColumn) => sql`${column} = any(${sql.placeholder('ids')}::uuid[])`;

const latestRendersQuery = preparedPerHandle((db) =>
  db
    .selectDistinctOn([renders.projectId], { projectId: renders.projectId, thumbKey: renders.thumbKey, posterKey: renders.posterKey })
    .from(renders)
    .where(and(inIds(renders.projectId), eq(renders.status, 'succeeded')))
    .orderBy(renders.projectId, desc(renders.version))
    .prepare('latest_renders_of_projects'),
);

const firstAssetsQuery = preparedPerHandle((db) =>
  db
    .selectDistinctOn([assets.projectId], { projectId: assets.projectId, id: assets.id, kind: assets.kind, posterKey: assets.posterKey })
    .from(assets)
    .where(and(inIds(assets.projectId), ne(assets.kind, 'audio')))
    .orderBy(assets.projectId, asc(assets.createdAt), asc(assets.id))
    .prepare('first_assets_of_projects'),
);

/**
 * For the project cards (GET /projects): each project's latest succeeded render's thumbnail keys and
 * its first non-audio asset, both prepared (was: two unprepared IN-list queries, two round trips each).
 */
export async function projectCardPictures(db: Queryable, projectIds: string[]) {
  if (projectIds.length === 0) return { latestRenders: [], firstAssets: [] };
  const [latestRenders, firstAssets] = await Promise.all([latestRendersQuery(db).execute({ ids: projectIds }), firstAssetsQuery(db).execute({ ids: projectIds })]);
  return { latestRenders, firstAssets };
}
