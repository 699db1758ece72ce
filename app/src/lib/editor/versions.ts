/**
 * Named versions on the client: decode a snapshot the server sent, read it for a preview, and
 * restore it into the live document as ONE local transaction, so the restore syncs like any edit
 * and Ctrl+Z undoes it. Pure Yjs: no UI, no network.
 */
import * as Y from 'yjs';
import { readTimeline, timelineLength, type TimelineSnapshot } from '@clipmaker/shared/timeline';

/** Every top-level map of the timeline (shared/timeline/model.ts). */
const ROOTS = ['meta', 'tracks', 'clips', 'cues', 'subtitleStyle', 'markers', 'overlays', 'music'] as const;

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** A detached Y.Doc holding a snapshot's state (the caller destroys it). */
export function snapshotDoc(state: Uint8Array): Y.Doc {
  const doc = new Y.Doc({ gc: true });
  Y.applyUpdate(doc, state);
  return doc;
}

/** The snapshot's timeline, read exactly as the editor reads the live one (read-only preview). */
export function previewSnapshot(state: Uint8Array): TimelineSnapshot {
  const doc = snapshotDoc(state);
  try {
    return readTimeline(doc);
  } finally {
    doc.destroy();
  }
}

function plainEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && plainEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function typeEqual(a: unknown, b: unknown): boolean {
  if (a instanceof Y.AbstractType || b instanceof Y.AbstractType) {
    if (a instanceof Y.Map && b instanceof Y.Map) return plainEqual(a.toJSON(), b.toJSON());
    if (a instanceof Y.Array && b instanceof Y.Array) return plainEqual(a.toJSON(), b.toJSON());
    if (a instanceof Y.Text && b instanceof Y.Text) return a.toString() === b.toString();
    return false;
  }
  return plainEqual(a, b);
}

function cloneValue(v: unknown): unknown {
  if (v instanceof Y.Map || v instanceof Y.Array || v instanceof Y.Text) return v.clone();
  return v;
}

/**
 * Makes `live` equal to `target` with as few changes as possible: extra keys deleted, changed
 * values set, nested maps (a clip's fields) compared field by field so that unchanged fields keep
 * their identity (a concurrent edit of another field survives the restore).
 */
function syncMap(live: Y.Map<unknown>, target: Y.Map<unknown>): void {
  for (const key of [...live.keys()]) if (!target.has(key)) live.delete(key);
  for (const [key, want] of target.entries()) {
    const have = live.get(key);
    if (want instanceof Y.Map && have instanceof Y.Map) syncMap(have, want);
    else if (!live.has(key) || !typeEqual(have, want)) live.set(key, cloneValue(want));
  }
}

/**
 * Restores a named version: inside one transaction with `origin`, the live doc's top-level maps
 * become equal to the snapshot's. Assets are only added, never removed (they are immutable
 * references to uploads; an extra one is harmless and a clip must never lose its asset).
 * Returns how many top-level maps changed.
 */
export function restoreSnapshot(doc: Y.Doc, state: Uint8Array, origin: unknown): number {
  const snap = snapshotDoc(state);
  let changed = 0;
  try {
    doc.transact(() => {
      for (const name of ROOTS) {
        const live = doc.getMap<unknown>(name);
        const target = snap.getMap<unknown>(name);
        if (plainEqual(live.toJSON(), target.toJSON())) continue;
        syncMap(live, target);
        changed++;
      }
      const assets = doc.getMap<unknown>('assets');
      for (const [id, info] of snap.getMap<unknown>('assets').entries()) if (!assets.has(id)) assets.set(id, cloneValue(info));
    }, origin);
  } finally {
    snap.destroy();
  }
  return changed;
}

/** A short, human summary of a timeline for the versions list and preview. */
export function describeTimeline(t: TimelineSnapshot): string {
  const frames = timelineLength(t);
  const seconds = frames / (t.meta.fps.num / t.meta.fps.den);
  return `${t.clips.length} clip${t.clips.length === 1 ? '' : 's'}, ${t.cues.length} cue${t.cues.length === 1 ? '' : 's'}, ${t.meta.aspect}, ~${seconds.toFixed(1)} s`;
}
