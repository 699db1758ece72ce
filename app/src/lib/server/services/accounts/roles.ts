/**
 * Roles and what each may do: ONE table (PERMISSIONS), documented in docs/ROLES.md. Every service
 * checks a capability from it (via the *_ROLES lists derived below); nothing else decides who may do
 * what. A project-level override (project_members) replaces the org role on that one project.
 * Pure.
 */
import type { MemberRole } from '../../repositories/accounts.ts';
import { ServiceError } from '../errors.ts';

export type Role = MemberRole;

export const ROLES = ['owner', 'editor', 'reviewer', 'viewer'] as const satisfies readonly Role[];

/** Everything a member may be allowed to do in a project or org. */
export const CAPABILITIES = ['view', 'edit', 'comment', 'approve', 'share', 'render', 'deleteProjects', 'manageMembers'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * THE role table. Rows: capabilities; columns: roles.
 *  - view: open the project, its versions, renders and comments.
 *  - edit: change the timeline, upload assets, save/restore versions, create/rename/duplicate
 *    projects, move them to the trash and restore them.
 *  - comment: comment on renders, resolve comments.
 *  - approve: approve or request changes on a render; an editor may NOT approve a render they made
 *    themselves (mayApprove below), an owner may.
 *  - share: create and revoke no-account share links, read the project audit log.
 *  - render: start, cancel and delete renders.
 *  - deleteProjects: delete a trashed project forever (its files are freed; no undo).
 *  - manageMembers: invite, change roles, remove members, project overrides, transfer ownership.
 */
export const PERMISSIONS: Readonly<Record<Capability, Readonly<Record<Role, boolean>>>> = {
  view: /*          */ { owner: true, editor: true, reviewer: true, viewer: true },
  edit: /*          */ { owner: true, editor: true, reviewer: false, viewer: false },
  comment: /*       */ { owner: true, editor: true, reviewer: true, viewer: false },
  approve: /*       */ { owner: true, editor: true, reviewer: true, viewer: false },
  share: /*         */ { owner: true, editor: true, reviewer: false, viewer: false },
  render: /*        */ { owner: true, editor: true, reviewer: false, viewer: false },
  deleteProjects: /**/ { owner: true, editor: false, reviewer: false, viewer: false },
  manageMembers: /* */ { owner: true, editor: false, reviewer: false, viewer: false },
};

export function can(role: Role | null | undefined, capability: Capability): boolean {
  return role != null && isRole(role) && PERMISSIONS[capability][role];
}

/** The roles that have `capability` (for requireProjectRole / requireOrgRole). */
export function rolesWith(capability: Capability): readonly Role[] {
  return ROLES.filter((r) => PERMISSIONS[capability][r]);
}

/**
 * Approving (or requesting changes on) a render: the approve capability, and an editor may not judge
 * their own work (the render's creator) unless the project allows it (projects.allow_self_approval).
 * Owners may: an org of one must be able to finish.
 */
export function mayApprove(role: Role | null | undefined, actorUserId: string, renderCreatedBy: string | null, allowSelfApproval = false): boolean {
  if (!can(role, 'approve')) return false;
  return allowSelfApproval || !(role === 'editor' && renderCreatedBy != null && renderCreatedBy === actorUserId);
}

export const EDIT_ROLES: readonly Role[] = rolesWith('edit');
export const COMMENT_ROLES: readonly Role[] = rolesWith('comment');
export const APPROVE_ROLES: readonly Role[] = rolesWith('approve');
export const SHARE_ROLES: readonly Role[] = rolesWith('share');
export const RENDER_ROLES: readonly Role[] = rolesWith('render');
/** Comment on and approve renders (kept for older callers: same as COMMENT_ROLES). */
export const REVIEW_ROLES: readonly Role[] = COMMENT_ROLES;
export const VIEW_ROLES: readonly Role[] = rolesWith('view');
/** Deleting a trashed project forever. */
export const DELETE_PROJECT_ROLES: readonly Role[] = rolesWith('deleteProjects');
/** Inviting and managing members. */
export const MANAGE_ROLES: readonly Role[] = rolesWith('manageMembers');

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Edit the timeline, upload assets, start renders. */
export function canEdit(role: Role | null | undefined): boolean {
  return can(role, 'edit');
}

/** Comment on and approve renders. */
export function canReview(role: Role | null | undefined): boolean {
  return can(role, 'comment');
}

/** See the project. Every member may. */
export function canView(role: Role | null | undefined): boolean {
  return can(role, 'view');
}

/** Invite people and manage members. */
export function canManageMembers(role: Role | null | undefined): boolean {
  return can(role, 'manageMembers');
}

/**
 * Throws unless `role` is one of `allowed`: 'not-found' for a non-member (null role), 'forbidden' for a
 * member with too little.
 */
export function assertRole(role: Role | null | undefined, allowed: readonly Role[]): asserts role is Role {
  if (role == null) throw new ServiceError('not-found');
  if (!allowed.includes(role)) throw new ServiceError('forbidden');
}
