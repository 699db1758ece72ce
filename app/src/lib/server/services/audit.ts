/** The audit log: who did what to which review object, append-only. */
import { desc, eq } from 'drizzle-orm';
import { schema, type Db } from '@clipmaker/db';

export interface AuditEntry {
  orgId: string | null;
  projectId: string | null;
  actorUserId: string | null;
  actorName: string;
  action: string;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
}

export async function audit(db: Db, e: AuditEntry): Promise<void> {
  await db.insert(schema.auditLog).values({ ...e, details: e.details ?? null });
}

export async function listAudit(db: Db, projectId: string, limit = 200) {
  const rows = await db.select().from(schema.auditLog).where(eq(schema.auditLog.projectId, projectId)).orderBy(desc(schema.auditLog.id)).limit(limit);
  return rows.map((r) => ({ id: r.id, actorName: r.actorName, action: r.action, targetType: r.targetType, targetId: r.targetId, details: r.details, at: r.at.toISOString() }));
}
