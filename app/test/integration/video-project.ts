/** Test fixture: a stored 30 fps video becomes an asset row and the only clip of a project's saved timeline. */
import * as Y from 'yjs';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { appendUpdate, loadDocumentState } from '@clipmaker/db/documents';
import { addAsset, addClip } from '@clipmaker/shared/timeline';
import type { TestDb } from '../../../tests/support/db.ts';

export async function addVideoClip(t: TestDb, v: { orgId: string; projectId: string; userId: string; key: string; bytes: number; sha256: string; width: number; height: number; seconds: number }): Promise<void> {
  const [asset] = await t.handle.db
    .insert(schema.assets)
    .values({ orgId: v.orgId, projectId: v.projectId, kind: 'video', name: 'src.mp4', storageKey: v.key, bytes: v.bytes, sha256: v.sha256, width: v.width, height: v.height, fpsNum: 30, fpsDen: 1, durationUs: v.seconds * 1e6, durationFrames: v.seconds * 30, hasAudio: true })
    .returning();
  const doc = new Y.Doc();
  Y.applyUpdate(doc, (await loadDocumentState(t.handle.db, v.projectId)).state);
  const sv = Y.encodeStateVector(doc);
  addAsset(doc, { id: asset!.id, key: v.key, kind: 'video', name: 'src.mp4', width: v.width, height: v.height, fps: { num: 30, den: 1 }, durationFrames: v.seconds * 30, durationUs: v.seconds * 1e6, hasAudio: true, sha256: asset!.sha256 });
  addClip(doc, { assetId: asset!.id });
  await appendUpdate(t.handle.db, v.projectId, Y.encodeStateAsUpdate(doc, sv), v.userId);
  doc.destroy();
}

/** The render's row once it has finished (succeeded, failed or cancelled), polling up to two minutes. */
export async function waitForRenderDone(t: TestDb, renderId: string): Promise<typeof schema.renders.$inferSelect | undefined> {
  let row: typeof schema.renders.$inferSelect | undefined;
  for (let i = 0; i < 1200; i++) {
    [row] = await t.handle.db.select().from(schema.renders).where(eq(schema.renders.id, renderId));
    if (row && ['succeeded', 'failed', 'cancelled'].includes(row.status)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return row;
}
