/**
 * Invites: owners invite an email address with a role; the token goes out by email (or a copyable
 * link) and only its SHA-256 is stored. Accepting needs a logged-in user whose email matches, works
 * once, and only within 7 days.
 */
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import { z } from 'zod';
import {
  findInviteByTokenHash,
  findMembership,
  findUserById,
  inTransaction,
  insertInvite,
  insertMembership,
  markInviteAccepted,
  type Queryable,
} from '../../repositories/accounts.ts';
import { ServiceError } from '../errors.ts';
import { requireOrgRole } from './orgs.ts';
import { MANAGE_ROLES, type Role } from './roles.ts';
import { emailSchema, parseInput, roleSchema } from './validation.ts';

export const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** 20 random bytes = 160 bits, 32 base32 characters. */
const INVITE_TOKEN_PATTERN = /^[a-z2-7]{32}$/;

export function hashInviteToken(token: string): Uint8Array {
  return sha256(new TextEncoder().encode(token));
}

function generateInviteToken(): string {
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  return encodeBase32LowerCaseNoPadding(bytes);
}

export interface CreatedInvite {
  /** Send this to the invitee; it is not stored. */
  token: string;
  invite: { id: string; orgId: string; email: string; role: Role; expiresAt: Date };
}

const createInviteSchema = z.object({ email: emailSchema, role: roleSchema });

/** Only owners of `orgId` may invite (ServiceError otherwise: 'not-found' for outsiders). */
export async function createInvite(
  db: Queryable,
  input: { orgId: string; email: string; role: Role; invitedBy: string },
  opts: { now?: Date } = {},
): Promise<CreatedInvite> {
  const { email, role } = parseInput(createInviteSchema, input);
  await requireOrgRole(db, input.invitedBy, input.orgId, MANAGE_ROLES);
  const now = opts.now ?? new Date();
  const token = generateInviteToken();
  const row = await insertInvite(db, {
    orgId: input.orgId,
    email,
    role,
    tokenHash: hashInviteToken(token),
    invitedBy: input.invitedBy,
    expiresAt: new Date(now.getTime() + INVITE_TTL_MS),
  });
  return { token, invite: { id: row.id, orgId: row.orgId, email: row.email, role: row.role, expiresAt: row.expiresAt } };
}

export interface AcceptedInvite {
  orgId: string;
  /** The role the user now has in the org (their existing one if they already were a member). */
  role: Role;
  alreadyMember: boolean;
}

/**
 * Joins the invite's org. Errors: 'invite-invalid' (unknown token), 'invite-used', 'invite-expired',
 * 'invite-email-mismatch' (checked before the invite is consumed, so a wrong account cannot burn it).
 */
export async function acceptInvite(
  db: Queryable,
  token: string,
  userId: string,
  opts: { now?: Date } = {},
): Promise<AcceptedInvite> {
  const now = opts.now ?? new Date();
  const invalid = () => new ServiceError('invite-invalid', 'This invite link is not valid.');
  if (typeof token !== 'string' || !INVITE_TOKEN_PATTERN.test(token)) throw invalid();
  const invite = await findInviteByTokenHash(db, hashInviteToken(token));
  if (!invite) throw invalid();
  const used = () => new ServiceError('invite-used', 'This invite has already been used.');
  if (invite.acceptedAt) throw used();
  if (invite.expiresAt.getTime() <= now.getTime()) {
    throw new ServiceError('invite-expired', 'This invite has expired. Ask for a new one.');
  }
  const user = await findUserById(db, userId);
  if (!user) throw invalid();
  if (user.email !== invite.email) {
    throw new ServiceError(
      'invite-email-mismatch',
      'This invite was sent to a different email address. Log in with that address to accept it.',
    );
  }
  return inTransaction(db, async (tx) => {
    if (!(await markInviteAccepted(tx, invite.id, now))) throw used();
    const created = await insertMembership(tx, { orgId: invite.orgId, userId, role: invite.role });
    if (created) return { orgId: invite.orgId, role: created.role, alreadyMember: false };
    const existing = await findMembership(tx, userId, invite.orgId);
    return { orgId: invite.orgId, role: existing!.role, alreadyMember: true };
  });
}
