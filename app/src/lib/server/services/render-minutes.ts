/**
 * Render minutes: an org's balance is the sum of its ledger entries (repositories/render-minutes).
 * A submit (and an admin retry) debits the render's minutes or is refused; a failed or cancelled
 * render gets each of its debits back exactly once; admins grant (or take back) minutes with a reason.
 */
import type { Db } from '@clipmaker/db';
import {
  balanceOf,
  balancesOf,
  chargedByRender,
  entriesForRender,
  insertEntry,
  insertRefunds,
  ledgerSummaries,
  liveChargesByOrg as liveCharges,
  lockOrgLedger,
  recentEntries,
  unrefundedDebits,
  type LedgerRow,
} from '../repositories/render-minutes.ts';
import type { Queryable } from '../repositories/accounts.ts';
import { ServiceError } from './errors.ts';

/** What a new team starts with (the former counter column's default). */
export const NEW_ORG_RENDER_MINUTES = 600;


export interface Debit {
  orgId: string;
  renderId: string;
  minutes: number;
  reason: string;
  actorId?: string | null;
}

/**
 * Debits inside `tx` when the balance covers it: the org's ledger lock serialises concurrent
 * spenders, so 20 parallel submits against 7 minutes give exactly 7 debits. False when short.
 */
export async function debitRenderMinutes(tx: Queryable, d: Debit): Promise<boolean> {
  if (!Number.isInteger(d.minutes) || d.minutes <= 0) throw new Error(`a debit is a positive whole number of minutes, not ${d.minutes}`);
  if (!(await lockOrgLedger(tx, d.orgId))) return false;
  if ((await balanceOf(tx, d.orgId)) < d.minutes) return false;
  await insertEntry(tx, { orgId: d.orgId, kind: 'debit', minutes: -d.minutes, reason: d.reason, renderId: d.renderId, actorId: d.actorId ?? null });
  return true;
}

/** Refunds every debit of the render that has not been refunded yet; returns the minutes returned. */
export async function refundRenderMinutes(tx: Queryable, renderId: string, reason: string): Promise<number> {
  const refunds = await insertRefunds(tx, await unrefundedDebits(tx, renderId), reason.slice(0, 500));
  return refunds.reduce((sum, r) => sum + r.minutes, 0);
}

/** A new org's opening allowance (called in the transaction that creates it). */
export async function openingGrant(tx: Queryable, orgId: string): Promise<void> {
  await insertEntry(tx, { orgId, kind: 'grant', minutes: NEW_ORG_RENDER_MINUTES, reason: 'new team allowance' });
}

export interface Grant {
  orgId: string;
  /** Positive adds minutes, negative takes them back (never below zero). */
  minutes: number;
  reason: string;
  actorId: string | null;
}

/** An admin's grant; a negative grant may not take the balance below zero. Returns the new balance. */
export async function grantRenderMinutes(db: Db, g: Grant): Promise<number> {
  const reason = g.reason.trim();
  if (!Number.isInteger(g.minutes) || g.minutes === 0 || Math.abs(g.minutes) > 1_000_000) throw new ServiceError('bad-request', 'minutes must be a non-zero whole number (at most a million)');
  if (reason.length < 3 || reason.length > 500) throw new ServiceError('bad-request', 'give a reason (3 to 500 characters)');
  return db.transaction(async (tx) => {
    if (!(await lockOrgLedger(tx, g.orgId))) throw new ServiceError('not-found', 'team not found');
    const balance = await balanceOf(tx, g.orgId);
    if (balance + g.minutes < 0) throw new ServiceError('conflict', `the team has only ${balance} minute(s) left`);
    await insertEntry(tx, { orgId: g.orgId, kind: 'grant', minutes: g.minutes, reason, actorId: g.actorId });
    return balance + g.minutes;
  });
}

export const renderMinuteBalance = (db: Db, orgId: string) => balanceOf(db, orgId);
export const renderMinuteBalances = (db: Db, orgIds: string[]) => balancesOf(db, orgIds);
export const chargedMinutes = (db: Db, renderIds: string[]) => chargedByRender(db, renderIds);
export const liveChargesByOrg = (db: Db) => liveCharges(db);

export interface LedgerEntryView {
  id: number;
  kind: LedgerRow['kind'];
  minutes: number;
  reason: string;
  renderId: string | null;
  refundOf: number | null;
  actorId: string | null;
  createdAt: string;
}
const view = (r: LedgerRow): LedgerEntryView => ({ id: r.id, kind: r.kind, minutes: r.minutes, reason: r.reason, renderId: r.renderId, refundOf: r.refundOf, actorId: r.actorId, createdAt: r.createdAt.toISOString() });

export async function renderLedgerEntries(db: Db, renderId: string): Promise<LedgerEntryView[]> {
  return (await entriesForRender(db, renderId)).map(view);
}

export async function orgLedgerEntries(db: Db, orgId: string, limit = 50): Promise<LedgerEntryView[]> {
  return (await recentEntries(db, orgId, Math.min(Math.max(limit, 1), 500))).map(view);
}

/** Per org: balance and the last 30 days' debits, refunds and grants. */
export async function ledgerOverview(db: Db, now = Date.now()) {
  return ledgerSummaries(db, new Date(now - 30 * 24 * 3600_000));
}
