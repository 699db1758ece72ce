/**
 * Transcripts and their words: the only module that reads or writes those tables. Status changes
 * are conditional on the row still being live (queued/transcribing), so queue events, the
 * reconciler and a cancel can all arrive in any order, on any app instance, and each applies once.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { schema, type Db } from '@clipmaker/db';
import type { TranscriptWord } from '@clipmaker/shared/captions';

const { transcripts, transcriptWords } = schema;
export type TranscriptRow = typeof transcripts.$inferSelect;
export type NewTranscript = Omit<typeof transcripts.$inferInsert, 'id' | 'version'> & { id: string };
const LIVE = ['queued', 'transcribing'] as const;

/** Inserts the next version for its asset (retries once if a concurrent insert took the number). */
export async function insertTranscript(db: Db, row: NewTranscript): Promise<TranscriptRow> {
  for (let attempt = 0; ; attempt++) {
    try {
      const [inserted] = await db
        .insert(transcripts)
        .values({ ...row, version: sql`(select coalesce(max(${transcripts.version}), 0) + 1 from ${transcripts} where ${transcripts.assetId} = ${row.assetId})` })
        .returning();
      return inserted!;
    } catch (err) {
      if (attempt >= 2 || !/transcripts_asset_version_uq/.test(String((err as { cause?: unknown }).cause ?? err))) throw err;
    }
  }
}

export async function findTranscript(db: Db, id: string): Promise<TranscriptRow | null> {
  const [row] = await db.select().from(transcripts).where(eq(transcripts.id, id));
  return row ?? null;
}

export async function listProjectTranscripts(db: Db, projectId: string): Promise<TranscriptRow[]> {
  return db.select().from(transcripts).where(eq(transcripts.projectId, projectId)).orderBy(desc(transcripts.createdAt)).limit(200);
}

export async function liveTranscripts(db: Db, limit = 500): Promise<TranscriptRow[]> {
  return db.select().from(transcripts).where(inArray(transcripts.status, LIVE)).orderBy(transcripts.createdAt).limit(limit);
}

export async function transcriptWordsOf(db: Db, id: string): Promise<TranscriptWord[]> {
  const rows = await db.select().from(transcriptWords).where(eq(transcriptWords.transcriptId, id)).orderBy(asc(transcriptWords.position));
  return rows.map((w) => ({ text: w.word, start: w.startMs, end: w.endMs, confidence: w.confidence, speaker: w.speaker }));
}

/** Progress from the farm: the row becomes 'transcribing'; null when it is no longer live. */
export async function markTranscriptProgress(db: Db, id: string, p: { stage: string; percent: number; etaSeconds: number | null; workerId: string | null }): Promise<TranscriptRow | null> {
  const [row] = await db
    .update(transcripts)
    .set({ status: 'transcribing', stage: p.stage, progress: p.percent, etaSeconds: p.etaSeconds, workerId: p.workerId })
    .where(and(eq(transcripts.id, id), inArray(transcripts.status, LIVE)))
    .returning();
  return row ?? null;
}

/** The end of a live row: failed or cancelled (with a message). Null when it had already ended. */
export async function endTranscript(db: Db, id: string, status: 'failed' | 'cancelled', error: string | null): Promise<TranscriptRow | null> {
  const [row] = await db
    .update(transcripts)
    .set({ status, error, etaSeconds: null, finishedAt: new Date() })
    .where(and(eq(transcripts.id, id), inArray(transcripts.status, LIVE)))
    .returning();
  return row ?? null;
}

/**
 * Stores the words and marks the row succeeded in one transaction; the row lock makes a second
 * (duplicate event, reconciler) call a no-op. Null when the row was not live.
 */
export async function completeTranscript(
  db: Db,
  id: string,
  result: { engine: 'pocketsphinx' | 'whisper'; quality: 'draft' | 'standard' | 'aligned'; mediaDurationMs: number; realTimeFactor: number; workerId: string },
  words: readonly TranscriptWord[],
): Promise<TranscriptRow | null> {
  return db.transaction(async (tx) => {
    const [locked] = await tx.select({ id: transcripts.id }).from(transcripts).where(and(eq(transcripts.id, id), inArray(transcripts.status, LIVE))).for('update');
    if (!locked) return null;
    await tx.delete(transcriptWords).where(eq(transcriptWords.transcriptId, id));
    for (let i = 0; i < words.length; i += 2000) {
      await tx.insert(transcriptWords).values(
        words.slice(i, i + 2000).map((w, j) => ({ transcriptId: id, position: i + j, word: w.text, startMs: w.start, endMs: w.end, confidence: w.confidence, speaker: w.speaker ?? null })),
      );
    }
    const [row] = await tx
      .update(transcripts)
      .set({ status: 'succeeded', stage: 'done', progress: 100, etaSeconds: 0, error: null, engine: result.engine, quality: result.quality, wordCount: words.length, mediaDurationMs: result.mediaDurationMs, realTimeFactor: result.realTimeFactor, workerId: result.workerId, finishedAt: new Date() })
      .where(eq(transcripts.id, id))
      .returning();
    return row!;
  });
}
