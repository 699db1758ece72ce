/** Render-minute ledger helpers for tests: set a team's balance through a grant, read it back, charge a hand-made render. */
import type { Db } from '@clipmaker/db';
import { debitRenderMinutes, grantRenderMinutes, renderMinuteBalance } from '../../src/lib/server/services/render-minutes.ts';

/** Grants (or takes back) whatever brings the org's balance to `minutes`. */
export async function setRenderMinutes(db: Db, orgId: string, minutes: number): Promise<void> {
  const balance = await renderMinuteBalance(db, orgId);
  if (balance !== minutes) await grantRenderMinutes(db, { orgId, minutes: minutes - balance, reason: `test: balance set to ${minutes}`, actorId: null });
}

export const minutesLeft = (db: Db, orgId: string) => renderMinuteBalance(db, orgId);

/** A debit for a render row a test inserted by hand (as a submit would have written it). */
export async function chargeRender(db: Db, orgId: string, renderId: string, minutes: number): Promise<void> {
  if (!(await db.transaction((tx) => debitRenderMinutes(tx, { orgId, renderId, minutes, reason: 'test: charged at insert' })))) throw new Error('test org has too few minutes');
}
