/**
 * The contract by which the app tells every collab-server process (and any other open socket, such as
 * a review page's live feed) that someone's access changed. The app publishes one AccessChange per
 * change on Redis pub/sub channel `accessChannel(prefix)` AFTER the change is committed in Postgres;
 * subscribers re-check the affected sockets against the database (the message is a hint, never the
 * authority: a lost message is covered by short token lifetimes and a re-check on token refresh).
 */
import { z } from 'zod';
import { CollabRole } from './index.ts';

export const AccessChange = z.discriminatedUnion('kind', [
  /** A member's role in an organisation changed (newRole) or they were removed (newRole null). */
  z.object({ kind: z.literal('org-member'), orgId: z.string().min(1), userId: z.string().min(1), newRole: CollabRole.nullable() }),
  /** A per-project override changed for one user (newRole null: override removed, fall back to the org role). */
  z.object({ kind: z.literal('project-member'), projectId: z.string().min(1), userId: z.string().min(1), newRole: CollabRole.nullable() }),
  /** Every session of a user ended (password change, account deleted, admin action). */
  z.object({ kind: z.literal('user-sessions'), userId: z.string().min(1) }),
  /**
   * One of a user's sessions ended (log-out) or their instance flags changed (farm or instance admin
   * granted or revoked): app processes drop the sessions they cached for that user. Document access
   * is not affected (collab sockets stay as they are).
   */
  z.object({ kind: z.literal('user-account'), userId: z.string().min(1) }),
  /** A project was deleted or moved to trash: every socket on it closes. */
  z.object({ kind: z.literal('project-closed'), projectId: z.string().min(1) }),
]);
export type AccessChange = z.infer<typeof AccessChange>;

/** Redis pub/sub channel for AccessChange messages (JSON), under the deployment's key prefix. */
export function accessChannel(prefix: string): string {
  return `${prefix}:access-changes`;
}

/** Parses a message from the channel; null (never a throw) for anything malformed. */
export function parseAccessChange(message: string): AccessChange | null {
  try {
    const result = AccessChange.safeParse(JSON.parse(message));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}
