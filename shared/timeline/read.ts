/** Reading a document of any schema version. */
import * as Y from 'yjs';
import { maps, readCurrentTimeline, TIMELINE_SCHEMA_VERSION, type TimelineSnapshot } from './model.ts';
import { migrateTimeline } from './ops.ts';

/** True when the document holds data at an older schema version (it needs migrateTimeline). */
export function needsMigration(doc: Y.Doc): boolean {
  const m = maps(doc);
  const hasContent = m.meta.size > 0 || m.clips.size > 0 || m.overlays.size > 0 || m.cues.size > 0;
  return hasContent && Number(m.meta.get('schemaVersion') ?? 0) < TIMELINE_SCHEMA_VERSION;
}

/**
 * A plain, validated snapshot. A document still at an older schema version is read through a
 * migration of an in-memory copy (a viewer cannot write the migration; an editor's session writes
 * it once synced), so every reader sees the same v2 timeline.
 */
export function readTimeline(doc: Y.Doc): TimelineSnapshot {
  if (!needsMigration(doc)) return readCurrentTimeline(doc);
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  try {
    migrateTimeline(copy);
    return readCurrentTimeline(copy);
  } finally {
    copy.destroy();
  }
}
