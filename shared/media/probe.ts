/**
 * Pure interpretation of `ffprobe -print_format json -show_format -show_streams` output. Spawning
 * ffprobe is the caller's job (app upload validation, farm worker); the rules live here once.
 */
import { z } from 'zod';

const FfprobeStream = z.looseObject({
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  codec_tag_string: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  r_frame_rate: z.string().optional(),
  avg_frame_rate: z.string().optional(),
  nb_frames: z.string().optional(),
  duration: z.string().optional(),
  disposition: z.looseObject({ attached_pic: z.number().optional() }).optional(),
  start_time: z.string().optional(),
  sample_aspect_ratio: z.string().optional(),
  color_transfer: z.string().optional(),
  tags: z.looseObject({ rotate: z.string().optional() }).optional(),
  side_data_list: z.array(z.looseObject({ rotation: z.number().optional() })).optional(),
});

const FfprobePacket = z.looseObject({ stream_index: z.number().optional(), pts_time: z.string().optional() });

const FfprobeOutput = z.looseObject({
  streams: z.array(FfprobeStream).default([]),
  /** The first packets (ingest probe: -show_packets -read_intervals %+#N), for the frame grid. */
  packets: z.array(FfprobePacket).default([]),
  format: z.looseObject({ format_name: z.string().optional(), duration: z.string().optional(), start_time: z.string().optional() }).optional(),
});

export interface MediaInfo {
  kind: 'video' | 'audio' | 'image';
  /** Video: the size as displayed (square pixels, rotation applied), what ffmpeg's decoder hands the graph after autorotation plus the graph's SAR normalisation (render-spec/graph/inputs.ts). */
  width: number;
  height: number;
  fps: { num: number; den: number } | null;
  durationUs: number;
  durationFrames: number | null;
  hasAudio: boolean;
  videoCodec: string | null;
  formatName: string;
  /** First video (else audio) stream's start, microseconds after the container's start (0 when it starts first). */
  videoStartUs: number;
  /** First audio stream's start, microseconds after the container's start. */
  audioStartUs: number;
  /**
   * The container's own start (ffprobe's format start_time), microseconds on the file's timeline:
   * a browser's <video> currentTime counts from the timeline's 0, not from this (an MPEG-TS starts
   * at 1.4 s, a file cut with -copyts wherever it was cut), so the preview needs it (ingest.ts previewRendition).
   */
  containerStartUs: number;
  /** Display rotation (degrees clockwise, 0/90/180/270) the player applies. */
  rotation: 0 | 90 | 180 | 270;
  /** Pixel aspect ratio (1/1 for square pixels). */
  sar: { num: number; den: number };
  /** Variable frame rate: frame timestamps are not evenly spaced (r_frame_rate != avg_frame_rate). */
  vfr: boolean;
  /** The video's transfer characteristic (bt709, smpte2084 = PQ, arib-std-b67 = HLG, ...), null when untagged. */
  colorTransfer: string | null;
}

export class MediaProbeError extends Error {
  override name = 'MediaProbeError';
  /** 'undecodable': ffmpeg reads the container but has no decoder for a stream; else not media at all. */
  constructor(
    message: string,
    readonly reason: 'not-media' | 'undecodable' = 'not-media',
  ) {
    super(message);
  }
}

const IMAGE_CODECS = new Set(['png', 'mjpeg', 'webp', 'bmp', 'gif', 'tiff']);
const IMAGE_FORMATS = /(^|,)(png_pipe|image2|jpeg_pipe|webp_pipe|bmp_pipe|gif|tiff_pipe)(,|$)/;

type Stream = z.infer<typeof FfprobeStream>;

/**
 * Where the video's frame grid starts (microseconds after the container start): the median of
 * pts_k - k/fps over the first packets in presentation order. Usually the stream's start_time; but
 * a muxer that writes no edit list may pin the first frame at 0 and shift every later frame (by the
 * audio priming, say), and then source frame N is on the grid, not at start_time + N/fps.
 */
function gridStartUs(video: Stream, packets: z.infer<typeof FfprobePacket>[], formatStart: number): number | null {
  const fps = parseRate(video.avg_frame_rate) ?? parseRate(video.r_frame_rate);
  const index = (video as { index?: unknown }).index;
  if (!fps || typeof index !== 'number') return null;
  const pts = packets
    .filter((p) => p.stream_index === index)
    .map((p) => Number(p.pts_time))
    .filter((t) => Number.isFinite(t))
    .sort((a, b) => a - b);
  if (pts.length < 3) return null;
  const phases = pts.map((t, k) => t - (k * fps.den) / fps.num).sort((a, b) => a - b);
  const median = phases[Math.floor(phases.length / 2)]!;
  return Math.max(0, Math.round((median - formatStart) * 1e6));
}

/** Rates cameras and phones record at; a variable-frame-rate stream is given the nearest one as its nominal rate. */
const STANDARD_RATES = [
  { num: 24000, den: 1001 }, { num: 24, den: 1 }, { num: 25, den: 1 }, { num: 30000, den: 1001 }, { num: 30, den: 1 }, { num: 48, den: 1 }, { num: 50, den: 1 },
  { num: 60000, den: 1001 }, { num: 60, den: 1 }, { num: 90, den: 1 }, { num: 100, den: 1 }, { num: 120, den: 1 }, { num: 240, den: 1 },
];

/** The video's first packet times (seconds, presentation order) from the ingest probe's -show_packets. */
function videoPts(video: Stream, packets: z.infer<typeof FfprobePacket>[]): number[] {
  const index = (video as { index?: unknown }).index;
  return packets.filter((p) => p.stream_index === index).map((p) => Number(p.pts_time)).filter((t) => Number.isFinite(t)).sort((a, b) => a - b);
}

/**
 * A variable-frame-rate stream's nominal rate: its source frames are counted on this grid (source
 * frame N = the frame displayed at N / fps). Phones record at a standard rate and jitter or drop
 * frames (a longer interval, never a shorter one), so: the mean of the first packets' ordinary
 * intervals (at most 1.5x the 10th-percentile interval), snapped to the nearest standard rate
 * within 5 %; else r_frame_rate when it is a standard rate (jittered timestamps make it absurd,
 * 450/1); else the stream's average rate.
 */
function nominalRate(video: Stream, pts: number[]): { num: number; den: number } | null {
  const deltas = pts.slice(1, -4).map((t, k) => t - pts[k]!).filter((d) => d > 0).sort((a, b) => a - b);
  if (deltas.length >= 6) {
    const short = deltas[Math.floor(deltas.length / 10)]!;
    const ordinary = deltas.filter((d) => d <= 1.5 * short);
    const mean = ordinary.length / ordinary.reduce((a, b) => a + b, 0);
    // Jitter hides the 1000/1001 of 29.97 vs 30: a whole rate within 0.5 % wins.
    const ranked = STANDARD_RATES.map((r) => ({ r, off: Math.abs(r.num / r.den / mean - 1) })).sort((a, b) => a.off - b.off);
    const near = ranked.find((x) => x.r.den === 1 && x.off <= 0.005) ?? ranked[0]!;
    if (near.off <= 0.05) return near.r;
  }
  const real = parseRate(video.r_frame_rate);
  if (real && STANDARD_RATES.some((r) => r.num * real.den === real.num * r.den)) return real;
  return parseRate(video.avg_frame_rate) ?? real;
}

/**
 * A CFR stream's rate: its average rate, unless that is within 1 % of a standard base rate
 * (r_frame_rate): an MP4 written without an edit list pins its first frame at 0, which skews the
 * average (172800/5801 for 30 fps) though every frame is 1/30 s apart.
 */
function cfrRate(video: Stream): { num: number; den: number } | null {
  const avg = parseRate(video.avg_frame_rate);
  const real = parseRate(video.r_frame_rate);
  if (real && STANDARD_RATES.some((r) => r.num * real.den === real.num * r.den) && (!avg || Math.abs((avg.num * real.den) / (avg.den * real.num) - 1) < 0.01)) return real;
  return avg ?? real;
}

/**
 * Variable frame rate: the first packets are not evenly spaced (beyond a millisecond-timebase
 * container's rounding: 1 ms or 5 % of a frame), or ffprobe's average rate is not its base rate
 * nor a whole fraction of it (interlaced H.264 reports twice its frame rate as base rate).
 */
function isVfr(video: Stream, pts: number[]): boolean {
  // Not the first frame (a muxer without edit list may pin it at 0) nor the last few (B-frames
  // read in decode order leave later frames of the window unread).
  const inner = pts.slice(1, -4);
  if (inner.length >= 4) {
    const deltas = inner.slice(1).map((t, k) => t - inner[k]!);
    const mean = (inner[inner.length - 1]! - inner[0]!) / deltas.length;
    if (deltas.some((d) => Math.abs(d - mean) > Math.max(0.0011, 0.05 * mean))) return true;
  }
  const ratio = (r: string | undefined) => {
    const m = /^(\d+)\/(\d+)$/.exec(r ?? '');
    return m && Number(m[1]) > 0 && Number(m[2]) > 0 ? Number(m[1]) / Number(m[2]) : null;
  };
  const avg = ratio(video.avg_frame_rate);
  const real = ratio(video.r_frame_rate);
  if (!avg || !real) return false;
  const multiple = real / avg;
  return Math.abs(multiple - Math.round(multiple)) > 0.01 || Math.round(multiple) < 1;
}

function secondsOf(v: string | undefined): number | null {
  const n = Number(v);
  return v !== undefined && Number.isFinite(n) ? n : null;
}

/** ffprobe's display-matrix rotation is counter-clockwise; players turn the picture clockwise by its negation. */
export function rotationOf(s: Stream | undefined): 0 | 90 | 180 | 270 {
  if (!s) return 0;
  const side = s.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation;
  const deg = side !== undefined ? -side : Number(s.tags?.rotate ?? 0);
  const r = ((Math.round(deg / 90) * 90) % 360 + 360) % 360;
  return r as 0 | 90 | 180 | 270;
}

/** The displayed size: non-square pixels widened (even width), then turned by the rotation. */
export function displaySize(width: number, height: number, sar: { num: number; den: number }, rotation: number): { width: number; height: number } {
  const w = sar.num === sar.den ? width : Math.max(2, 2 * Math.round((width * sar.num) / sar.den / 2));
  return rotation === 90 || rotation === 270 ? { width: height, height: w } : { width: w, height };
}

function sarOf(s: Stream | undefined): { num: number; den: number } {
  const m = /^(\d+):(\d+)$/.exec(s?.sample_aspect_ratio ?? '');
  const num = Number(m?.[1]);
  const den = Number(m?.[2]);
  return num > 0 && den > 0 ? { num, den } : { num: 1, den: 1 };
}

function parseRate(rate: string | undefined): { num: number; den: number } | null {
  if (!rate) return null;
  const m = /^(\d+)\/(\d+)$/.exec(rate);
  if (!m) return null;
  const num = Number(m[1]);
  const den = Number(m[2]);
  if (!num || !den || num / den < 1 || num / den > 240) return null;
  return { num, den };
}

/** Interprets ffprobe JSON; throws MediaProbeError with a user-facing reason for non-media. */
export function interpretFfprobe(json: unknown): MediaInfo {
  const parsed = FfprobeOutput.safeParse(json);
  if (!parsed.success) throw new MediaProbeError('the file could not be read as media');
  const { streams, format, packets } = parsed.data;
  const formatName = format?.format_name ?? '';
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = streams.find((s) => s.codec_type === 'audio');
  const durationSeconds = Number(format?.duration ?? video?.duration ?? audio?.duration ?? 0);
  const durationUs = Number.isFinite(durationSeconds) ? Math.max(0, Math.round(durationSeconds * 1e6)) : 0;
  const formatStart = secondsOf(format?.start_time) ?? 0;
  const startUs = (s: Stream | undefined) => Math.max(0, Math.round(((secondsOf(s?.start_time) ?? formatStart) - formatStart) * 1e6));
  // A stream ffmpeg can demux but not decode (an unknown codec): the farm could not render it.
  for (const s of [video, audio]) {
    if (s && (!s.codec_name || s.codec_name === 'none')) {
      const tag = s.codec_tag_string && /^[\x20-\x7e]{1,16}$/.test(s.codec_tag_string) && !/^\[/.test(s.codec_tag_string) ? ` "${s.codec_tag_string}"` : '';
      throw new MediaProbeError(`its ${s.codec_type} codec${tag} is not one ffmpeg can decode, so it could not be rendered; convert it (H.264 or HEVC video, AAC audio) and upload that`, 'undecodable');
    }
  }
  const pts = video ? videoPts(video, packets) : [];
  const vfr = !!video && isVfr(video, pts);
  const facts = {
    // A VFR stream has no frame grid: source time 0 is its first frame.
    videoStartUs: video ? (vfr ? null : gridStartUs(video, packets, formatStart)) ?? startUs(video) : startUs(audio),
    audioStartUs: startUs(audio),
    containerStartUs: Math.round(formatStart * 1e6),
    rotation: rotationOf(video),
    sar: sarOf(video),
    vfr,
    colorTransfer: video?.color_transfer && video.color_transfer !== 'unknown' ? video.color_transfer : null,
  };

  if (video && video.width && video.height) {
    const isImage = IMAGE_FORMATS.test(formatName) || (IMAGE_CODECS.has(video.codec_name ?? '') && durationUs === 0);
    if (isImage) {
      return { kind: 'image', width: video.width, height: video.height, fps: null, durationUs: 0, durationFrames: null, hasAudio: false, videoCodec: video.codec_name ?? null, formatName, ...facts, videoStartUs: 0, audioStartUs: 0 };
    }
    const fps = vfr ? nominalRate(video, pts) : cfrRate(video);
    if (!fps) throw new MediaProbeError('the video has no usable frame rate');
    if (durationUs <= 0) throw new MediaProbeError('the video has no duration');
    const nb = Number(video.nb_frames);
    // A VFR stream's frames on its nominal grid: as many as the duration holds (not the packets stored).
    const durationFrames = Number.isInteger(nb) && nb > 0 && !vfr ? nb : Math.floor((durationUs * fps.num) / (fps.den * 1e6) + 1e-6);
    const shown = displaySize(video.width, video.height, facts.sar, facts.rotation);
    return { kind: 'video', width: shown.width, height: shown.height, fps, durationUs, durationFrames, hasAudio: !!audio, videoCodec: video.codec_name ?? null, formatName, ...facts, vfr };
  }
  if (audio) {
    if (durationUs <= 0) throw new MediaProbeError('the audio has no duration');
    return { kind: 'audio', width: 0, height: 0, fps: null, durationUs, durationFrames: null, hasAudio: true, videoCodec: null, formatName, ...facts, videoStartUs: 0 };
  }
  throw new MediaProbeError('the file contains no video, audio or image stream');
}
