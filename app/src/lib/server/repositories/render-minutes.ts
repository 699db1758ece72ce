/**
 * Render-minute ledger I/O (render_minute_ledger). Only this file touches that table; the rules
 * (who may spend, how much a render costs, when a refund is due) live in services/render-minutes.
 * Every function takes a Queryable (the database or a transaction).
 */
import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { schema } from '@clipmaker/db';
import type { Queryable } from './accounts.ts';

const { renderMinuteLedger: ledger, orgs, renders } = schema;

export type LedgerRow = typeof ledger.$inferSelect;
export type NewLedgerEntry = Omit<typeof ledger.$inferInsert, 'id' | 'createdAt'>;

/**
 * Takes the org's ledger lock until the transaction ends: concurrent spenders of one org queue here,
 * so each reads a balance that already includes the previous one's debit. NO KEY UPDATE leaves
 * foreign-key inserts against the org (renders, projects) unblocked.
 */
export async function lockOrgLedger(tx: Queryable, orgId: string): Promise<boolean> {
  const rows = await tx.select({ id: orgs.id }).from(orgs).where(eq(orgs.id, orgId)).for('no key update');
  return rows.length > 0;
}

export async function balanceOf(db: Queryable, orgId: string): Promise<number> {
  const [row] = await db.select({ minutes: sql<string>`coalesce(sum(${ledger.minutes}), 0)` }).from(ledger).where(eq(ledger.orgId, orgId));
  return Number(row?.minutes ?? 0);
}

/** Balance per org for these orgs (orgs without entries: 0). */
export async function balancesOf(db: Queryable, orgIds: string[]): Promise<Map<string, number>> {
  const out = new Map(orgIds.map((id) => [id, 0]));
  if (orgIds.length === 0) return out;
  const rows = await db
    .select({ orgId: ledger.orgId, minutes: sql<string>`sum(${ledger.minutes})` })
    .from(ledger)
    .where(inArray(ledger.orgId, orgIds))
    .groupBy(ledger.orgId);
  for (const r of rows) out.set(r.orgId, Number(r.minutes));
  return out;
}

export async function insertEntry(db: Queryable, entry: NewLedgerEntry): Promise<LedgerRow> {
  const [row] = await db.insert(ledger).values(entry).returning();
  return row!;
}

/** The render's debits that no refund names yet. */
export async function unrefundedDebits(db: Queryable, renderId: string): Promise<LedgerRow[]> {
  const refund = alias(ledger, 'refund');
  const rows = await db
    .select({ debit: ledger })
    .from(ledger)
    .leftJoin(refund, eq(refund.refundOf, ledger.id))
    .where(and(eq(ledger.renderId, renderId), eq(ledger.kind, 'debit'), isNull(refund.id)))
    .orderBy(ledger.id);
  return rows.map((r) => r.debit);
}

/**
 * One refund per debit; a debit that already has one is skipped by the unique index on refund_of,
 * so concurrent or repeated refunds of the same debit land once. Returns the refunds written.
 */
export async function insertRefunds(db: Queryable, debits: LedgerRow[], reason: string): Promise<LedgerRow[]> {
  if (debits.length === 0) return [];
  return db
    .insert(ledger)
    .values(debits.map((d) => ({ orgId: d.orgId, kind: 'refund' as const, minutes: -d.minutes, reason, renderId: d.renderId, refundOf: d.id })))
    .onConflictDoNothing({ target: ledger.refundOf })
    .returning();
}

/** Net minutes a render holds (its debits less their refunds), per render. */
export async function chargedByRender(db: Queryable, renderIds: string[]): Promise<Map<string, number>> {
  const out = new Map(renderIds.map((id) => [id, 0]));
  if (renderIds.length === 0) return out;
  const rows = await db
    .select({ renderId: ledger.renderId, minutes: sql<string>`-sum(${ledger.minutes})` })
    .from(ledger)
    .where(inArray(ledger.renderId, renderIds))
    .groupBy(ledger.renderId);
  for (const r of rows) if (r.renderId) out.set(r.renderId, Number(r.minutes));
  return out;
}

/** Per org: the net minutes its queued and rendering renders hold. */
export async function liveChargesByOrg(db: Queryable): Promise<Map<string, number>> {
  const rows = await db
    .select({ orgId: ledger.orgId, minutes: sql<string>`-sum(${ledger.minutes})` })
    .from(ledger)
    .innerJoin(renders, eq(renders.id, ledger.renderId))
    .where(inArray(renders.status, ['queued', 'rendering']))
    .groupBy(ledger.orgId);
  return new Map(rows.map((r) => [r.orgId, Number(r.minutes)]));
}

export async function entriesForRender(db: Queryable, renderId: string): Promise<LedgerRow[]> {
  return db.select().from(ledger).where(eq(ledger.renderId, renderId)).orderBy(ledger.id);
}

export async function recentEntries(db: Queryable, orgId: string, limit: number): Promise<LedgerRow[]> {
  return db.select().from(ledger).where(eq(ledger.orgId, orgId)).orderBy(desc(ledger.id)).limit(limit);
}

export interface OrgLedgerSummary {
  orgId: string;
  orgName: string;
  balance: number;
  debited30d: number;
  refunded30d: number;
  granted30d: number;
}

/** Every org with its balance and what moved in the window since `since`. */
export async function ledgerSummaries(db: Queryable, since: Date): Promise<OrgLedgerSummary[]> {
  const recent = sql`${ledger.createdAt} >= ${since.toISOString()}::timestamptz`;
  const rows = await db
    .select({
      orgId: orgs.id,
      orgName: orgs.name,
      balance: sql<string>`coalesce(sum(${ledger.minutes}), 0)`,
      debited30d: sql<string>`coalesce(-sum(${ledger.minutes}) filter (where ${ledger.kind} = 'debit' and ${recent}), 0)`,
      refunded30d: sql<string>`coalesce(sum(${ledger.minutes}) filter (where ${ledger.kind} = 'refund' and ${recent}), 0)`,
      granted30d: sql<string>`coalesce(sum(${ledger.minutes}) filter (where ${ledger.kind} = 'grant' and ${recent}), 0)`,
    })
    .from(orgs)
    .leftJoin(ledger, eq(ledger.orgId, orgs.id))
    .groupBy(orgs.id)
    .orderBy(orgs.name);
  return rows.map((r) => ({ orgId: r.orgId, orgName: r.orgName, balance: Number(r.balance), debited30d: Number(r.debited30d), refunded30d: Number(r.refunded30d), granted30d: Number(r.granted30d) }));
}
