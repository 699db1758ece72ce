/**
 * Timeline document v1 -> v2, in place (one step of migrateTimeline). Deterministic, so replicas
 * that migrate the same document at once write the same values:
 *  - tracks: "v1" (the v1 video track keeps its id, so its clips stay put), "v2" for new layers,
 *    text overlays and image overlays on tracks above (as the v1 RenderSpec migration lays them
 *    out, shared/render-spec/migrate.ts), "a1" with the music, "a2";
 *  - v1 clips get kind 'video' (other new fields read as their defaults, see clipFields);
 *  - overlays become text/image clips with ids "ov-<overlay id>", cut where v1's video track ended
 *    (v1 renders stopped there); the music becomes clip "music";
 *  - the meta gets schemaVersion 2 and loudness null (renders sound as before).
 */
import * as Y from 'yjs';
import { OverlayV1 } from '../render-spec/schema-v1.ts';
import { imageOverlayTransform, overlayTracks, textOverlayFields } from '../render-spec/migrate.ts';
import { NO_ANIMATION, DEFAULT_SUBTITLE_STYLE, type TransformKeyframe } from '../render-spec/schema.ts';
import { AssetInfo, assetFrames, fieldsOf, maps, readMeta, type TimelineMeta } from './model.ts';

function set(m: Y.Map<unknown>, fields: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(fields)) if (m.get(k) !== v) m.set(k, v);
}

function track(doc: Y.Doc, id: string, kind: 'video' | 'audio', name: string, order: number): void {
  if (maps(doc).tracks.has(id)) return;
  const m = new Y.Map<unknown>();
  maps(doc).tracks.set(id, m);
  set(m, { id, kind, name, order, muted: false, solo: false, hidden: false, locked: false, ducking: null });
}

function transformArray(m: Y.Map<unknown>, kf: TransformKeyframe): void {
  const arr = new Y.Array<TransformKeyframe>();
  m.set('transform', arr);
  arr.push([kf]);
}

export function migrateV1Document(doc: Y.Doc): void {
  const m = maps(doc);
  const meta: TimelineMeta = readMeta(doc);
  const { width: W, height: H } = meta;
  const assets = new Map<string, AssetInfo>();
  for (const v of m.assets.values()) {
    const a = AssetInfo.safeParse(v);
    if (a.success) assets.set(a.data.id, a.data);
  }

  track(doc, 'v1', 'video', 'Video 1', 0);
  for (const c of m.clips.values()) if (c instanceof Y.Map && c.get('kind') === undefined) c.set('kind', 'video');

  // v1 rendered until the end of its video track and cut overlays there; v2 renders until the end
  // of the last picture on any track, so overlays are cut at the v1 end to render as before.
  let v1End = 0;
  for (const c of m.clips.values()) {
    if (!(c instanceof Y.Map)) continue;
    const asset = assets.get(String(c.get('assetId')));
    const frames = Number(c.get('sourceOut')) - Number(c.get('sourceIn'));
    const length = asset?.fps ? Math.round((frames * asset.fps.den * meta.fps.num) / (asset.fps.num * meta.fps.den)) : frames;
    if (Number.isFinite(length)) v1End = Math.max(v1End, Number(c.get('start')) + length);
  }
  const overlays = [...m.overlays.values()].flatMap((v) => {
    if (!(v instanceof Y.Map)) return [];
    const o = OverlayV1.safeParse(fieldsOf(v));
    if (!o.success) return [];
    return v1End > o.data.start ? [{ ...o.data, end: Math.min(o.data.end, v1End) }] : [o.data];
  });
  overlays.sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
  const texts = overlays.filter((o) => o.kind === 'text' && o.text.trim() !== '');
  const images = overlays.filter((o) => o.kind === 'image' && assets.get(o.sourceId)?.kind === 'image');
  const fontFamily = String(m.subtitleStyle.get('fontFamily') ?? DEFAULT_SUBTITLE_STYLE.fontFamily);
  let n = 1;
  const place = (group: typeof overlays, label: string) => {
    const id = `v${++n}`;
    track(doc, id, 'video', `${label} ${n - 1}`, n - 1);
    for (const o of group) {
      const clip = new Y.Map<unknown>();
      const clipId = `ov-${o.id}`;
      m.clips.set(clipId, clip);
      if (o.kind === 'text') {
        const f = textOverlayFields(o, fontFamily, W, H);
        set(clip, { id: clipId, trackId: id, kind: 'text', start: o.start, duration: f.duration, box: f.box, transition: null, animIn: NO_ANIMATION, animOut: NO_ANIMATION });
        const text = new Y.Text();
        clip.set('text', text);
        text.insert(0, f.text);
        const style = new Y.Map<unknown>();
        clip.set('style', style);
        set(style, f.style);
        transformArray(clip, f.transform[0]!);
      } else {
        const image = assets.get(o.sourceId)!;
        set(clip, { id: clipId, trackId: id, kind: 'image', assetId: o.sourceId, start: o.start, duration: o.end - o.start, aspectLocked: false, transition: null, animIn: NO_ANIMATION, animOut: NO_ANIMATION });
        transformArray(clip, imageOverlayTransform(o, image, W, H));
      }
    }
  };
  for (const group of overlayTracks(texts)) place(group, 'Text');
  for (const group of overlayTracks(images)) place(group, 'Logo');
  if (n === 1) track(doc, 'v2', 'video', 'Video 2', 1);
  for (const key of [...m.overlays.keys()]) m.overlays.delete(key);

  track(doc, 'a1', 'audio', 'Music', 0);
  track(doc, 'a2', 'audio', 'Audio 2', 1);
  if (m.music.size > 0) {
    const assetId = String(m.music.get('assetId'));
    const asset = assets.get(assetId);
    const volume = Number(m.music.get('volume'));
    const start = Number(m.music.get('start'));
    if (asset?.hasAudio && Number.isFinite(volume) && Number.isInteger(start) && start >= 0) {
      const clip = new Y.Map<unknown>();
      m.clips.set('music', clip);
      set(clip, { id: 'music', trackId: 'a1', kind: 'audio', assetId, start, sourceIn: 0, sourceOut: Math.max(1, assetFrames(asset, meta.fps)), speedNum: 1, speedDen: 1, reverse: false, volume, fadeIn: 0, fadeOut: 0, transition: null });
    }
    for (const key of [...m.music.keys()]) m.music.delete(key);
  }
  set(m.meta, { schemaVersion: 2, loudness: null });
}
