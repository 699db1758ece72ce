/**
 * Pure interpretation of `ffprobe -print_format json -show_format -show_streams` output. Spawning
 * ffprobe is the caller's job (app upload validation, farm worker); the rules live here once.
 */
import { z } from 'zod';

const FfprobeStream = z.looseObject({
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  r_frame_rate: z.string().optional(),
  avg_frame_rate: z.string().optional(),
  nb_frames: z.string().optional(),
  duration: z.string().optional(),
  disposition: z.looseObject({ attached_pic: z.number().optional() }).optional(),
});

const FfprobeOutput = z.looseObject({
  streams: z.array(FfprobeStream).default([]),
  format: z.looseObject({ format_name: z.string().optional(), duration: z.string().optional() }).optional(),
});

export interface MediaInfo {
  kind: 'video' | 'audio' | 'image';
  width: number;
  height: number;
  fps: { num: number; den: number } | null;
  durationUs: number;
  durationFrames: number | null;
  hasAudio: boolean;
  videoCodec: string | null;
  formatName: string;
}

export class MediaProbeError extends Error {
  override name = 'MediaProbeError';
}

const IMAGE_CODECS = new Set(['png', 'mjpeg', 'webp', 'bmp', 'gif', 'tiff']);
const IMAGE_FORMATS = /(^|,)(png_pipe|image2|jpeg_pipe|webp_pipe|bmp_pipe|gif|tiff_pipe)(,|$)/;

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
  const { streams, format } = parsed.data;
  const formatName = format?.format_name ?? '';
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = streams.find((s) => s.codec_type === 'audio');
  const durationSeconds = Number(format?.duration ?? video?.duration ?? audio?.duration ?? 0);
  const durationUs = Number.isFinite(durationSeconds) ? Math.max(0, Math.round(durationSeconds * 1e6)) : 0;

  if (video && video.width && video.height) {
    const isImage = IMAGE_FORMATS.test(formatName) || (IMAGE_CODECS.has(video.codec_name ?? '') && durationUs === 0);
    if (isImage) {
      return { kind: 'image', width: video.width, height: video.height, fps: null, durationUs: 0, durationFrames: null, hasAudio: false, videoCodec: video.codec_name ?? null, formatName };
    }
    const fps = parseRate(video.avg_frame_rate) ?? parseRate(video.r_frame_rate);
    if (!fps) throw new MediaProbeError('the video has no usable frame rate');
    if (durationUs <= 0) throw new MediaProbeError('the video has no duration');
    const nb = Number(video.nb_frames);
    const durationFrames = Number.isInteger(nb) && nb > 0 ? nb : Math.floor((durationUs * fps.num) / (fps.den * 1e6) + 1e-6);
    return { kind: 'video', width: video.width, height: video.height, fps, durationUs, durationFrames, hasAudio: !!audio, videoCodec: video.codec_name ?? null, formatName };
  }
  if (audio) {
    if (durationUs <= 0) throw new MediaProbeError('the audio has no duration');
    return { kind: 'audio', width: 0, height: 0, fps: null, durationUs, durationFrames: null, hasAudio: true, videoCodec: null, formatName };
  }
  throw new MediaProbeError('the file contains no video, audio or image stream');
}

export const FFPROBE_ARGS = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams'] as const;
