/**
 * Invites. Two kinds, both made by someone who may manage members:
 *  - email invites: one address may accept, once (the token goes out by email, or as a copyable link
 *    when mail is off);
 *  - link invites: anyone logged in with the link may join, once (single-use) or until it expires or
 *    is revoked (multi-use).
 * An invite gives an org role, or, with `projectId`, a role on that one project (a project override:
 * a client as reviewer on one project). Only the token's SHA-256 is stored; accepting is a
 * conditional update, so a single-use invite is consumed once even under concurrency.
 */
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { schema } from '@clipmaker/db';
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
import { emailSchema, isUuid, parseInput } from './validation.ts';

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
  invite: { id: string; orgId: string; projectId: string | null; email: string | null; role: Role; expiresAt: Date; maxUses: number | null };
}

/** Ownership is never handed out by an invite: it moves only by transfer. */
const invitableRole = z.enum(['editor', 'reviewer', 'viewer'], { message: 'Invite as editor, reviewer or viewer (ownership is transferred, not invited).' });

export const CreateInviteInput = z.object({
  orgId: z.string().uuid(),
  /** Absent/null: a link invite. */
  email: emailSchema.nullish(),
  role: invitableRole,
  projectId: z.string().uuid().nullish(),
  /** Link invites only: null = multi-use. Email invites are always single-use. */
  maxUses: z.number().int().min(1).max(1000).nullish(),
  expiresInHours: z.number().int().min(1).max(24 * 30).optional(),
});

/** Only members with manageMembers in `orgId` may invite ('not-found' for outsiders). */
export async function createInvite(
  db: Queryable,
  input: Omit<z.input<typeof CreateInviteInput>, 'role'> & { role: Role; invitedBy: string },
  opts: { now?: Date } = {},
): Promise<CreatedInvite> {
  const parsed = parseInput(CreateInviteInput, input);
  await requireOrgRole(db, input.invitedBy, parsed.orgId, MANAGE_ROLES);
  if (parsed.projectId) {
    const [p] = await db.select({ id: schema.projects.id }).from(schema.projects).where(and(eq(schema.projects.id, parsed.projectId), eq(schema.projects.orgId, parsed.orgId)));
    if (!p) throw new ServiceError('not-found');
  }
  const now = opts.now ?? new Date();
  const token = generateInviteToken();
  const email = parsed.email ?? null;
  const ttl = parsed.expiresInHours ? parsed.expiresInHours * 3600_000 : INVITE_TTL_MS;
  const row = await insertInvite(db, {
    orgId: parsed.orgId,
    projectId: parsed.projectId ?? null,
    email,
    role: parsed.role,
    tokenHash: hashInviteToken(token),
    invitedBy: input.invitedBy,
    expiresAt: new Date(now.getTime() + ttl),
    maxUses: email ? 1 : parsed.maxUses === undefined ? 1 : parsed.maxUses,
  });
  return { token, invite: { id: row.id, orgId: row.orgId, projectId: row.projectId, email: row.email, role: row.role, expiresAt: row.expiresAt, maxUses: row.maxUses } };
}

export interface AcceptedInvite {
  orgId: string;
  /** The role the user now has in the org (their existing one if they already were a member). */
  role: Role;
  alreadyMember: boolean;
  /** Set for a project invite: the role is on this project only. */
  projectId?: string;
}

/** What the accept page shows before the user accepts; the same errors as acceptInvite. */
export async function inspectInvite(db: Queryable, token: string, opts: { now?: Date } = {}) {
  const invite = await usableInvite(db, token, opts.now ?? new Date());
  const [org] = await db.select({ name: schema.orgs.name }).from(schema.orgs).where(eq(schema.orgs.id, invite.orgId));
  const project = invite.projectId ? (await db.select({ name: schema.projects.name }).from(schema.projects).where(eq(schema.projects.id, invite.projectId)))[0] : undefined;
  const inviter = invite.invitedBy ? await findUserById(db, invite.invitedBy) : null;
  return { orgName: org?.name ?? '', projectName: project?.name ?? null, role: invite.role, email: invite.email, invitedByName: inviter?.name ?? null, expiresAt: invite.expiresAt };
}

async function usableInvite(db: Queryable, token: string, now: Date) {
  const invalid = () => new ServiceError('invite-invalid', 'This invite link is not valid.');
  if (typeof token !== 'string' || !INVITE_TOKEN_PATTERN.test(token)) throw invalid();
  const invite = await findInviteByTokenHash(db, hashInviteToken(token));
  if (!invite) throw invalid();
  if (invite.revokedAt) throw new ServiceError('invite-revoked', 'This invite was revoked. Ask for a new one.');
  if (invite.maxUses != null && invite.uses >= invite.maxUses) throw new ServiceError('invite-used', 'This invite has already been used.');
  if (invite.expiresAt.getTime() <= now.getTime()) {
    throw new ServiceError('invite-expired', 'This invite has expired. Ask for a new one.');
  }
  return invite;
}

/**
 * Joins the invite's org (or project). Errors: 'invite-invalid' (unknown token), 'invite-used',
 * 'invite-expired', 'invite-revoked', 'invite-email-mismatch' (checked before the invite is consumed,
 * so a wrong account cannot burn it).
 */
export async function acceptInvite(
  db: Queryable,
  token: string,
  userId: string,
  opts: { now?: Date } = {},
): Promise<AcceptedInvite> {
  const now = opts.now ?? new Date();
  const invite = await usableInvite(db, token, now);
  if (!isUuid(userId)) throw new ServiceError('invite-invalid', 'This invite link is not valid.');
  const user = await findUserById(db, userId);
  if (!user) throw new ServiceError('invite-invalid', 'This invite link is not valid.');
  if (invite.email != null && user.email !== invite.email) {
    throw new ServiceError(
      'invite-email-mismatch',
      'This invite was sent to a different email address. Log in with that address to accept it.',
    );
  }
  return inTransaction(db, async (tx) => {
    if (!(await markInviteAccepted(tx, invite.id, now))) throw new ServiceError('invite-used', 'This invite has already been used.');
    if (invite.projectId) {
      const pm = schema.projectMembers;
      const [existing] = await tx.select().from(pm).where(and(eq(pm.projectId, invite.projectId), eq(pm.userId, userId)));
      if (existing) return { orgId: invite.orgId, projectId: invite.projectId, role: existing.role, alreadyMember: true };
      await tx.insert(pm).values({ projectId: invite.projectId, userId, role: invite.role });
      return { orgId: invite.orgId, projectId: invite.projectId, role: invite.role, alreadyMember: false };
    }
    const created = await insertMembership(tx, { orgId: invite.orgId, userId, role: invite.role });
    if (created) return { orgId: invite.orgId, role: created.role, alreadyMember: false };
    const existing = await findMembership(tx, userId, invite.orgId);
    return { orgId: invite.orgId, role: existing!.role, alreadyMember: true };
  });
}
