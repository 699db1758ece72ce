/**
 * The chunk planner (pure). A render splits into GOP-aligned timeline ranges that several workers
 * encode in parallel (video only), an audio track rendered ONCE for the whole timeline, and a stitch
 * step: concat demuxer with `-c copy`, then the audio muxed with `-c copy`. Every chunk starts on a
 * keyframe (the builder forces -g = -keyint_min = gop, no scene cuts), so concatenation needs no
 * re-encode, and audio has no seams at all.
 *
 * Chunks are content-addressed: the hash covers everything that can change a chunk's pixels (the
 * spec slice intersecting its range, output settings, the range itself, the sources' sha256s and
 * CHUNK_FORMAT_VERSION), so editing one cue re-renders only the chunks that cue touches.
 */
import { sha256 } from '@oslojs/crypto/sha2';
import type { RenderSpec } from './schema.ts';
import { audioLayers, planLayers, visualLayers } from './layers.ts';

/** Bump when the builder's output for the same slice changes, to invalidate cached chunks. */
export const CHUNK_FORMAT_VERSION = 4;

export interface PlannedChunk {
  index: number;
  count: number;
  /** Timeline frames [start, end). */
  start: number;
  end: number;
  hash: string;
  /** Zero-padded, sorts in timeline order: chunk-0003.mp4. */
  fileName: string;
}

export interface ChunkPlan {
  chunks: PlannedChunk[];
  /** Hash of what the audio depends on (audible clips, tracks, loudness, sources, duration). */
  audioHash: string;
  /** Storage keys of the cached pieces. */
  chunkKey(chunk: PlannedChunk): string;
  audioKey: string;
  /** The concat demuxer's list for the stitch, given local paths in chunk order. */
  concatList(paths: readonly string[]): string;
}

/** Chunk length in frames: `targetFrames` rounded up to a multiple of the GOP (at least one GOP). */
export function alignedChunkFrames(spec: RenderSpec, targetFrames: number): number {
  const gop = spec.output.gop;
  return Math.max(gop, Math.ceil(targetFrames / gop) * gop);
}

export function planChunks(spec: RenderSpec, opts: { chunkFrames: number }): ChunkPlan {
  const size = alignedChunkFrames(spec, opts.chunkFrames);
  const total = spec.output.durationFrames;
  const count = Math.ceil(total / size);
  const pad = Math.max(4, String(count - 1).length);
  const { durationFrames: _total, ...output } = spec.output;
  const chunks: PlannedChunk[] = [];
  for (let index = 0; index < count; index++) {
    const start = index * size;
    const end = Math.min(total, start + size);
    const hash = sha256Hex(stableJson({ v: CHUNK_FORMAT_VERSION, kind: 'video', range: [start, end], ...sliceSpec(spec, start, end), output }));
    chunks.push({ index, count, start, end, hash, fileName: `chunk-${String(index).padStart(pad, '0')}.mp4` });
  }
  const audioHash = sha256Hex(stableJson({ v: CHUNK_FORMAT_VERSION, kind: 'audio', total, ...audioSlice(spec) }));
  return {
    chunks,
    audioHash,
    chunkKey: (c) => `chunks/${c.hash}.mp4`,
    audioKey: `chunks/${audioHash}.m4a`,
    concatList: (paths) => `ffconcat version 1.0\n${paths.map((p) => `file '${p.replace(/'/g, "'\\''")}'`).join('\n')}\n`,
  };
}

/**
 * What a chunk [start, end) depends on, besides output settings: the layers drawn in it (each with
 * its clip, its track's picture switch and the transition it hands over to the next clip, since a
 * dip or an extension changes its own frames), in drawing order, the cues in it and the sources.
 */
export function sliceSpec(spec: RenderSpec, start: number, end: number) {
  // A transition changes only the frames of its window: outside it, a clip's pixels depend on the clip alone.
  const inWindow = (w: { start: number; end: number } | null) => (w && w.start < end && w.end > start ? w : null);
  const layers = visualLayers(spec, planLayers(spec))
    .filter((l) => l.start < end && l.end > start)
    .map((l) => ({ clip: { ...l.clip, transition: null }, track: l.track.id, into: inWindow(l.into), outOf: inWindow(l.outOf) }));
  const cues = spec.subtitles.cues.filter((c) => c.end > start && c.start < end && c.text.trim() !== '');
  const ids = new Set<string>(layers.flatMap((l) => (l.clip.kind === 'text' ? [] : [l.clip.sourceId])));
  return { layers, cues, style: cues.length > 0 ? spec.subtitles.style : null, sources: sourcesFingerprint(spec, ids) };
}

/** What the whole-timeline audio depends on: audible clips, tracks (mute/solo/ducking), loudness, sources. */
export function audioSlice(spec: RenderSpec) {
  const layers = audioLayers(spec, planLayers(spec));
  const ids = new Set(layers.map((l) => l.clip.sourceId));
  return {
    fps: spec.output.fps,
    audio: spec.output.audio,
    tracks: spec.tracks.map((t) => ({ id: t.id, muted: t.muted, solo: t.solo, ducking: t.ducking })),
    layers: layers.map((l) => ({ clip: l.clip, track: l.track.id, start: l.start, end: l.end })),
    sources: sourcesFingerprint(spec, ids),
  };
}

function sourcesFingerprint(spec: RenderSpec, ids: Set<string>) {
  // sha256 when known; otherwise the key and media facts (a re-upload under a new key changes it).
  return spec.sources.filter((s) => ids.has(s.id)).map((s) => ({ id: s.id, content: s.sha256 ?? `${s.key}:${s.durationUs}:${s.width}x${s.height}` }));
}

/** JSON with sorted object keys, so equal values hash equally. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** SHA-256 of a string's UTF-8 bytes, lower-case hex (synchronous: WebCrypto's digest is async). */
export function sha256Hex(text: string): string {
  return Array.from(sha256(new TextEncoder().encode(text)), (b) => b.toString(16).padStart(2, '0')).join('');
}
