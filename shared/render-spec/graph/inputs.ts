/**
 * How the builder opens a source: every input of every layer goes through openSource(), and every
 * video chain starts with videoNormalisation(). This is the seam the ingest module plugs into
 * (forced demuxer, -protocol_whitelist, start offsets, rotation, SAR, VFR): the builder never
 * writes input options itself.
 */
import { inputOptionsFor } from '../../media/ingest.ts';
import { MediaProbeError } from '../../media/probe.ts';
import { formatSeconds } from '../time.ts';
import type { Source } from '../schema.ts';
import { FfmpegBuildError, type RenderTarget } from './common.ts';

/**
 * SOURCE TIME, the one definition every target uses (docs/MEDIA-FORMATS.md):
 *   source time 0 is the presentation time of the source's first video frame (its first audio
 *   sample for audio-only files), whatever the container's start_time, edit list or stream delay;
 *   "source frame N" of a constant-frame-rate stream is the N-th decoded frame in presentation order
 *   counted from that first frame, shown at source time N / fps;
 *   "source frame N" of a variable-frame-rate stream (Source.vfr) is the frame displayed at source
 *   time N / fps (fps: the nominal rate the probe recorded): the last frame that starts at or before
 *   it, timestamps within VFR_TOLERANCE_US after it counting as at it (container timestamp rounding).
 * ffmpeg's input -ss counts from the container's start (the earliest stream), so an opening adds
 * the video stream's start offset (Source.videoStartUs, recorded by the ingest probe). Audio is cut
 * at the same source times, so the file's own A/V alignment is kept: the audio chain passes
 * source times too and pads silence where the audio stream starts later (Source.audioStartUs).
 */
export function containerSeconds(source: Source, sourceSeconds: number): number {
  return sourceSeconds + source.videoStartUs / 1e6;
}

export interface SourceOpening {
  /** Decode from here (seconds of SOURCE TIME, above); null from the start of the file (video: its first frame). */
  seekSeconds: number | null;
  /** Stop reading after this many seconds (decoding margin included). */
  durationSeconds: number | null;
  /** The chain decodes video from this input (hardware decoding applies). */
  video: boolean;
}

/**
 * How far before the wanted time an opening seeks when the container's seeking can land past it:
 * MPEG-TS/PS and the other unindexed formats seek by byte position or bisection and may start at
 * the NEXT key frame (MP3/ADTS: a few frames off). The chain then cuts at the exact time (trim/atrim on the timestamps ffmpeg gives relative
 * to the seek point). MP4/MOV and Matroska seek through their index and land exactly, as do PCM
 * files; an unknown container (the farm always detects it first) is treated as indexed.
 */
export function seekMarginSeconds(source: Source): number {
  const unindexed = source.container !== null && UNINDEXED.has(source.container) ? 3 : 0;
  // A VFR frame displayed at N / fps may have started long before it (a phone holding a frame in low light).
  return source.vfr ? Math.max(unindexed, VFR_HOLD_SECONDS) : unindexed;
}
/** The longest a VFR frame can be held before the time it is wanted at and still be found. */
const VFR_HOLD_SECONDS = 1;
/** Frame timestamps this close after N / fps count as at it (ms container timestamps, seek offset rounding). */
export const VFR_TOLERANCE_US = 2000;

/**
 * A VFR stream onto its nominal frame grid: from an opening at `openAt` (SOURCE TIME, the value
 * given to openSource; null: from the file's start), the frames on the grid from source frame
 * `first` on, frame k being source frame first + k = the frame displayed at (first + k) / fps.
 * The decoded timestamps are brought to source time in microseconds (exact integers), less the
 * tolerance; fps with round=up then gives grid slot k (its timestamp, in 1/fps) the last frame with
 * a timestamp <= k / fps, repeating held frames and dropping superseded ones, and trim starts at
 * slot `first`. (fps's own start_time option is off by one slot with round=up in ffmpeg 5.1.)
 */
export function vfrGridFilters(source: Source, openAt: number | null, first: number, fps: { num: number; den: number }): string[] {
  // ffmpeg stamps a decoded frame source time − openAt after a seek, source time + videoStart without.
  const shift = (openAt === null ? -source.videoStartUs : Math.round(openAt * 1e6)) - VFR_TOLERANCE_US;
  return ['settb=1/1000000', `setpts=PTS${shift >= 0 ? '+' : '-'}${Math.abs(shift)}`, `fps=fps=${fps.num}/${fps.den}:round=up`, `trim=start_pts=${first}`];
}

/**
 * The media time a browser <video> must be at to show source frame N (the preview): source time
 * (the middle of the frame for CFR, as browsers show the frame whose interval contains the time;
 * N / fps plus the tolerance for VFR, the frame displayed then, as the farm picks it) plus the
 * video's start offset. The <video> plays a file whose timeline's 0 is the container's start: the
 * original, or the preview rendition where the original's container starts later or browsers
 * cannot open it (media/preview-rendition.ts).
 */
export function previewMediaSeconds(source: Pick<Source, 'vfr' | 'videoStartUs'>, n: number, fps: { num: number; den: number }): number {
  const sourceSeconds = source.vfr ? (n * fps.den) / fps.num + VFR_TOLERANCE_US / 1e6 : ((n + 0.5) * fps.den) / fps.num;
  return sourceSeconds + source.videoStartUs / 1e6;
}
const UNINDEXED = new Set<string>(['mpegts', 'mpeg', 'avi', 'flv', 'asf', 'dv', 'ogg', 'mp3', 'aac']);

/** Opening a still image: the whole file, no seeking. */
export const WHOLE_FILE: SourceOpening = { seekSeconds: null, durationSeconds: null, video: false };

/**
 * Input options for one opening of `source`. Every target (cpu, cuda, wasm) opens every input with
 * the ingest rules: the detected demuxer forced, the file protocol only (media/ingest.ts).
 */
export function openSource(source: Source, o: SourceOpening, target: RenderTarget): string[] {
  let options: string[];
  try {
    options = inputOptionsFor(source.container);
  } catch (err) {
    if (err instanceof MediaProbeError) throw new FfmpegBuildError(`source ${source.id}: ${err.message}`);
    throw err;
  }
  if (target === 'cuda' && o.video && source.kind === 'video') options.push('-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda');
  // A seek to source time 0 still skips what the container holds before the first video frame.
  const seek = o.seekSeconds !== null ? containerSeconds(source, Math.max(0, o.seekSeconds)) : 0;
  if (seek > 0) options.push('-ss', formatSeconds(seek));
  // Without a seek, reading starts at the container's start: the stream's offset is read too.
  if (o.durationSeconds !== null) options.push('-t', formatSeconds(o.durationSeconds + (seek > 0 ? 0 : source.videoStartUs / 1e6)));
  return options;
}

/** The HDR transfers the graph tone-maps, as ffprobe and zscale name them (PQ, HLG). */
const HDR_TRANSFERS = new Set(['smpte2084', 'arib-std-b67']);

export function isHdr(source: Pick<Source, 'colorTransfer'>): boolean {
  return source.colorTransfer !== null && HDR_TRANSFERS.has(source.colorTransfer);
}

/**
 * HDR (PQ or HLG, BT.2020, usually 10-bit: phones, action cameras) to SDR BT.709 8-bit, what every
 * output is (tagged bt709 by the builder): to linear light (1.0 = 100 nits), BT.709 primaries,
 * Hable's tone curve without desaturation with a 1000-nit peak (peak=10: phones master to about
 * that; MaxCLL is not recorded, and tonemap cannot see a peak on linear frames, it would clip at
 * 100 nits), then BT.709 transfer and matrix, limited range. The source's primaries and matrix are taken as BT.2020 (HDR video is; they are not
 * recorded). zscale (libzimg) is in Debian's ffmpeg and in ffmpeg.wasm's core.
 */
export function toneMapFilters(source: Pick<Source, 'kind' | 'colorTransfer'>): string[] {
  if (source.kind !== 'video' || !isHdr(source)) return [];
  return [
    `zscale=tin=${source.colorTransfer}:pin=bt2020:min=bt2020nc:rin=tv:t=linear:npl=100`,
    'format=gbrpf32le',
    'zscale=p=bt709',
    'tonemap=tonemap=hable:desat=0:peak=10',
    'zscale=t=bt709:m=bt709:r=tv',
    'format=yuv420p',
  ];
}

/** Filters that bring a decoded source frame to the builder's assumptions (system memory, SDR BT.709, square pixels). */
export function videoNormalisation(source: Source, target: RenderTarget): string[] {
  // 10-bit HDR decodes to P010 surfaces on CUDA; everything else to NV12.
  const filters = target === 'cuda' && source.kind === 'video' ? ['hwdownload', isHdr(source) ? 'format=p010le' : 'format=nv12'] : [];
  filters.push(...toneMapFilters(source));
  // Non-square pixels (anamorphic cameras, DV): to the displayed size in square pixels. Rotation is
  // ffmpeg's autorotation (every target), so the frame arrives turned; width/height are displayed.
  if (source.kind === 'video' && source.sar.num !== source.sar.den) filters.push(`scale=${source.width}:${source.height}`, 'setsar=1');
  return filters;
}
