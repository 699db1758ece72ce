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
import type { RenderSpec } from './schema.ts';
import { audioLayers, planLayers, visualLayers } from './layers.ts';

/** Bump when the builder's output for the same slice changes, to invalidate cached chunks. */
export const CHUNK_FORMAT_VERSION = 3;

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

const K = Uint32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** SHA-256 of a string's UTF-8 bytes (pure and synchronous; WebCrypto's digest is async). */
export function sha256Hex(text: string): string {
  const bytes = new TextEncoder().encode(text);
  const bitLen = bytes.length * 8;
  const padded = new Uint8Array(Math.ceil((bytes.length + 9) / 64) * 64);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLen / 2 ** 32));
  view.setUint32(padded.length - 4, bitLen >>> 0);
  const h = Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15]!, 7) ^ rotr(w[i - 15]!, 18) ^ (w[i - 15]! >>> 3);
      const s1 = rotr(w[i - 2]!, 17) ^ rotr(w[i - 2]!, 19) ^ (w[i - 2]! >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h as unknown as [number, number, number, number, number, number, number, number];
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    const add = [a, b, c, d, e, f, g, hh];
    for (let i = 0; i < 8; i++) h[i] = (h[i]! + add[i]!) >>> 0;
  }
  return [...h].map((x) => x.toString(16).padStart(8, '0')).join('');
}
