/**
 * The compiler Y.Doc (or a snapshot of it) -> frozen RenderSpec. Pure: the app binds the sources
 * to its database rows afterwards (the document is client-edited and never trusted for paths).
 */
import * as Y from 'yjs';
import { readTimeline, clipLength, VIDEO_TRACK, type TimelineSnapshot } from '../timeline/model.ts';
import { RenderSpec, RENDER_SPEC_VERSION, type Source } from './schema.ts';

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

export function compileRenderSpec(input: Y.Doc | TimelineSnapshot, opts: CompileOptions = {}): RenderSpec {
  const tl = input instanceof Y.Doc ? readTimeline(input) : input;
  const fps = tl.meta.fps;
  const assets = new Map(tl.assets.map((a) => [a.id, a]));
  const used = new Set<string>();

  const clips = tl.clips
    .filter((c) => c.trackId === VIDEO_TRACK)
    .map((c) => {
      const asset = assets.get(c.assetId);
      if (!asset) throw new RenderSpecError('a clip uses media that is missing from the project');
      used.add(asset.id);
      return { id: c.id, sourceId: asset.id, start: c.start, sourceIn: c.sourceIn, sourceOut: c.sourceOut, volume: c.volume, crop: c.crop, length: clipLength(c, asset, fps) };
    });
  if (clips.length === 0) throw new RenderSpecError('the timeline is empty: add a clip first');
  const durationFrames = clips.reduce((m, c) => Math.max(m, c.start + c.length), 0);

  const cues = tl.cues.filter((c) => c.start < durationFrames && c.text.trim() !== '').map((c) => ({ ...c, end: Math.min(c.end, durationFrames) }));
  const overlays = tl.overlays.filter((o) => o.start < durationFrames).map((o) => ({ ...o, end: Math.min(o.end, durationFrames) }));
  for (const o of overlays) if (o.kind === 'image') used.add(o.sourceId);
  const music = tl.music && tl.music.start < durationFrames ? tl.music : null;
  if (music) used.add(music.assetId);

  const sources: Source[] = [...used].sort().map((id) => {
    const a = assets.get(id);
    if (!a) throw new RenderSpecError('an overlay or the music uses media that is missing from the project');
    return { id: a.id, key: a.key, kind: a.kind, width: a.width, height: a.height, fps: a.fps, durationFrames: a.durationFrames, durationUs: a.durationUs, hasAudio: a.hasAudio, sha256: a.sha256 && /^[0-9a-f]{64}$/.test(a.sha256) ? a.sha256 : null };
  });

  const candidate = {
    version: RENDER_SPEC_VERSION,
    output: {
      width: tl.meta.width,
      height: tl.meta.height,
      fps,
      durationFrames,
      video: { codec: 'h264' as const, crf: opts.crf ?? 20, preset: opts.preset ?? 'veryfast' },
      audio: { codec: 'aac' as const, bitrateKbps: opts.audioBitrateKbps ?? 192, sampleRate: 48000 as const },
      gop: opts.gop ?? Math.max(1, Math.round((2 * fps.num) / fps.den)),
    },
    sources,
    clips: clips.map(({ length: _length, ...c }) => c),
    subtitles: { style: tl.subtitleStyle, cues },
    overlays,
    music: music ? { sourceId: music.assetId, volume: music.volume, start: music.start } : null,
  };
  const parsed = RenderSpec.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RenderSpecError(`the timeline cannot be rendered: ${issue.message} (at ${issue.path.join('.') || 'spec'})`);
  }
  return parsed.data;
}
