/** Orgs and memberships. */
import { z } from 'zod';
import {
  findMembership,
  inTransaction,
  insertMembership,
  insertOrg,
  listMembershipsWithOrgs,
  type MembershipRow,
  type OrgRow,
  type Queryable,
} from '../../repositories/accounts.ts';
import { balancesOf } from '../../repositories/render-minutes.ts';
import { openingGrant } from '../render-minutes.ts';
import { assertRole, type Role } from './roles.ts';
import { isUuid, orgNameSchema, parseInput } from './validation.ts';

/** A new org with `ownerId` as its owner, in one transaction. */
export async function createOrg(db: Queryable, input: { name: string; ownerId: string }): Promise<OrgRow> {
  const { name } = parseInput(z.object({ name: orgNameSchema }), input);
  return inTransaction(db, async (tx) => {
    const org = await insertOrg(tx, { name });
    await openingGrant(tx, org.id);
    await insertMembership(tx, { orgId: org.id, userId: input.ownerId, role: 'owner' });
    return org;
  });
}

export interface MyOrg {
  id: string;
  name: string;
  role: Role;
  renderMinutesLeft: number;
  joinedAt: Date;
}

/** Every org the user belongs to, with their role, oldest membership first. */
export async function listMyOrgs(db: Queryable, userId: string): Promise<MyOrg[]> {
  const rows = await listMembershipsWithOrgs(db, userId);
  const balances = await balancesOf(db, rows.map((r) => r.org.id));
  return rows.map(({ org, role, joinedAt }) => ({
    id: org.id,
    name: org.name,
    role,
    renderMinutesLeft: balances.get(org.id) ?? 0,
    joinedAt,
  }));
}

/** The membership, or null for non-members (and for ids that are not uuids). */
export async function getMembership(db: Queryable, userId: string, orgId: string): Promise<MembershipRow | null> {
  if (!isUuid(orgId) || !isUuid(userId)) return null;
  return findMembership(db, userId, orgId);
}

/** The membership if its role is allowed; ServiceError 'not-found' for outsiders, 'forbidden' otherwise. */
export async function requireOrgRole(
  db: Queryable,
  userId: string,
  orgId: string,
  allowed: readonly Role[],
): Promise<MembershipRow> {
  const membership = await getMembership(db, userId, orgId);
  assertRole(membership?.role, allowed);
  return membership!;
}
