/**
 * The compiler Y.Doc (or a snapshot of it) -> frozen RenderSpec v2. Pure: the app binds the
 * sources to its database rows afterwards (the document is client-edited and never trusted for
 * paths). The render lasts until the end of the last clip on a video track; sound past it is cut.
 */
import { isIngestDemuxer } from '../media/ingest.ts';
import * as Y from 'yjs';
import { readTimeline } from '../timeline/read.ts';
import { clipLength, timelineLength, type ClipSnapshot, type TimelineSnapshot } from '../timeline/model.ts';
import { DEFAULT_TEXT_FAMILY, isBundledFamily } from '../fonts.ts';
import { RenderSpec, RENDER_SPEC_VERSION, type Clip, type Source, type Track } from './schema.ts';

export class RenderSpecError extends Error {
  override name = 'RenderSpecError';
}

export interface CompileOptions {
  crf?: number;
  preset?: RenderSpec['output']['video']['preset'];
  /** GOP in frames; default 2 seconds. Chunk boundaries fall on multiples of it. */
  gop?: number;
  audioBitrateKbps?: number;
}

function toSpecClip(c: ClipSnapshot): Clip {
  switch (c.kind) {
    case 'video': {
      const { assetId, ...rest } = c;
      return { ...rest, sourceId: assetId };
    }
    case 'audio': {
      const { assetId, ...rest } = c;
      return { ...rest, sourceId: assetId };
    }
    case 'image': {
      const { assetId, aspectLocked, ...rest } = c;
      // A locked aspect ratio is enforced here too: scaleY always follows scaleX.
      const transform = aspectLocked ? rest.transform.map((k) => ({ ...k, scaleY: k.scaleX })) : rest.transform;
      return { ...rest, transform, sourceId: assetId };
    }
    case 'text':
      return { ...c, style: { ...c.style, fontFamily: isBundledFamily(c.style.fontFamily) ? c.style.fontFamily : DEFAULT_TEXT_FAMILY } };
  }
}

export function compileRenderSpec(input: Y.Doc | TimelineSnapshot, opts: CompileOptions = {}): RenderSpec {
  const tl = input instanceof Y.Doc ? readTimeline(input) : input;
  const fps = tl.meta.fps;
  const assets = new Map(tl.assets.map((a) => [a.id, a]));
  const durationFrames = timelineLength(tl);
  if (durationFrames === 0) throw new RenderSpecError('the timeline is empty: add a clip first');
  const used = new Set<string>();
  const tracks: Track[] = tl.tracks.map(({ order: _order, ...t }) => ({ ...t, ducking: t.ducking ? { ...t.ducking, keyTrackIds: t.ducking.keyTrackIds.filter((k) => tl.tracks.some((x) => x.id === k && x.id !== t.id)) } : null }));
  for (const t of tracks) if (t.ducking && t.ducking.keyTrackIds.length === 0) t.ducking = null;

  const clips: Clip[] = [];
  const lastOnTrack = new Map<string, { end: number; length: number }>();
  for (const c of tl.clips) {
    if (c.start >= durationFrames) continue;
    const asset = c.kind === 'text' ? undefined : assets.get(c.assetId);
    if (c.kind !== 'text') {
      if (!asset) throw new RenderSpecError('a clip uses media that is missing from the project');
      used.add(asset.id);
    }
    const length = clipLength(c, asset, fps);
    const clip = toSpecClip(c);
    // A transition whose clips no longer touch (or no longer fit it) is inert until they do again.
    const prev = lastOnTrack.get(c.trackId);
    const trackKind = tl.tracks.find((t) => t.id === c.trackId)?.kind;
    if (clip.transition && (!prev || prev.end !== c.start || clip.transition.duration > Math.min(prev.length, length) || (trackKind === 'audio' && clip.transition.kind !== 'dissolve'))) clip.transition = null;
    lastOnTrack.set(c.trackId, { end: c.start + length, length });
    clips.push(clip);
  }

  const cues = tl.cues
    .filter((c) => c.start < durationFrames && c.text.trim() !== '')
    .map((c) => {
      const end = Math.min(c.end, durationFrames);
      // Word timings survive only when they still match the text word for word (a plain text edit
      // by an older client drops them): clamped into the cue, never empty.
      const n = c.text.split(/\s+/u).filter(Boolean).length;
      const words = c.words && c.words.length === n ? c.words.map((w) => { const s = Math.min(Math.max(w.start, c.start), end - 1); return { start: s, end: Math.min(Math.max(w.end, s + 1), end) }; }) : undefined;
      const { words: _drop, ...rest } = c;
      return words ? { ...rest, end, words } : { ...rest, end };
    });
  const sources: Source[] = [...used].sort().map((id) => {
    const a = assets.get(id)!;
    return { id: a.id, key: a.key, kind: a.kind, width: a.width, height: a.height, fps: a.fps, durationFrames: a.durationFrames, durationUs: a.durationUs, hasAudio: a.hasAudio, sha256: a.sha256 && /^[0-9a-f]{64}$/.test(a.sha256) ? a.sha256 : null,
      container: a.container && isIngestDemuxer(a.container) ? a.container : null, videoStartUs: a.videoStartUs ?? 0, audioStartUs: a.audioStartUs ?? 0, sar: a.sar ?? { num: 1, den: 1 },
      vfr: a.vfr ?? false, colorTransfer: a.colorTransfer && /^[a-z0-9_-]{1,32}$/.test(a.colorTransfer) ? a.colorTransfer : null };
  });

  const candidate = {
    version: RENDER_SPEC_VERSION,
    output: {
      width: tl.meta.width,
      height: tl.meta.height,
      fps,
      durationFrames,
      video: { codec: 'h264' as const, crf: opts.crf ?? 20, preset: opts.preset ?? 'veryfast' },
      audio: { codec: 'aac' as const, bitrateKbps: opts.audioBitrateKbps ?? 192, sampleRate: 48000 as const, loudness: tl.meta.loudness },
      gop: opts.gop ?? Math.max(1, Math.round((2 * fps.num) / fps.den)),
    },
    sources,
    tracks,
    clips,
    subtitles: { style: tl.subtitleStyle, cues, ...(tl.wordStyle ? { wordStyle: tl.wordStyle } : {}) },
  };
  const parsed = RenderSpec.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RenderSpecError(`the timeline cannot be rendered: ${issue.message} (at ${issue.path.join('.') || 'spec'})`);
  }
  return parsed.data;
}
