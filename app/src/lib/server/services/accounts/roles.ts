/** Org roles and what each may do. Pure. */
import type { MemberRole } from '../../repositories/accounts.ts';
import { ServiceError } from '../errors.ts';

export type Role = MemberRole;

export const ROLES = ['owner', 'editor', 'reviewer', 'viewer'] as const satisfies readonly Role[];

export const EDIT_ROLES: readonly Role[] = ['owner', 'editor'];
export const REVIEW_ROLES: readonly Role[] = ['owner', 'editor', 'reviewer'];
export const VIEW_ROLES: readonly Role[] = ROLES;
/** Inviting and managing members. */
export const MANAGE_ROLES: readonly Role[] = ['owner'];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Edit the timeline, upload assets, start renders. */
export function canEdit(role: Role | null | undefined): boolean {
  return role === 'owner' || role === 'editor';
}

/** Comment on and approve renders. */
export function canReview(role: Role | null | undefined): boolean {
  return role === 'owner' || role === 'editor' || role === 'reviewer';
}

/** See the project. Every member may. */
export function canView(role: Role | null | undefined): boolean {
  return role != null && isRole(role);
}

/** Invite people and manage members. */
export function canManageMembers(role: Role | null | undefined): boolean {
  return role === 'owner';
}

/**
 * Throws unless `role` is one of `allowed`: 'not-found' for a non-member (null role), 'forbidden' for a
 * member with too little.
 */
export function assertRole(role: Role | null | undefined, allowed: readonly Role[]): asserts role is Role {
  if (role == null) throw new ServiceError('not-found');
  if (!allowed.includes(role)) throw new ServiceError('forbidden');
}
