/**
 * The editor's preview rendition: the file its <video> plays instead of the original, made at upload
 * where a browser would not show the original's frames at the preview's times (docs/MEDIA-FORMATS.md).
 *
 * The preview maps source frame N to a <video> time (render-spec/graph/inputs.ts previewMediaSeconds)
 * on a timeline whose 0 is the container's start, as ffmpeg counts it; browsers count from the
 * file's timestamp 0 instead (Chromium shifts only a negative start). Chromium opens MP4/MOV and
 * Matroska/WebM only, and decodes H.264, VP8, VP9 and AV1 (Debian's build: no HEVC, MPEG-2, ProRes).
 *
 * Pure: the app's upload spawns ffmpeg with these arguments.
 */
import { toneMapFilters } from '../render-spec/graph/inputs.ts';
import { fileUrl, inputOptionsFor, type IngestResult } from './ingest.ts';

const BROWSER_CONTAINERS = new Set<string>(['mov', 'matroska']);
const BROWSER_VIDEO_CODECS = new Set<string>(['h264', 'vp8', 'vp9', 'av1']);

export type PreviewRenditionReason = 'codec' | 'pixel-aspect' | 'container' | 'start-offset';

type RenditionFacts = Pick<IngestResult, 'kind' | 'container' | 'containerStartUs' | 'videoCodec' | 'colorTransfer' | 'sar' | 'width' | 'height'>;

/**
 * Why a video needs a preview rendition, or null when the browser plays the original as it is:
 * 'codec' (the browser cannot decode the picture: transcoded), 'pixel-aspect' (non-square pixels:
 * WebGL uploads a video's coded pixels, not its displayed size, so the preview gets square pixels
 * at the displayed size, as the farm scales them: transcoded), 'container' (it cannot open the
 * file: remuxed), 'start-offset' (the container starts after 0, an MPEG-TS or a cut kept with
 * -copyts: remuxed, which starts the copy at the container's start).
 */
export function previewRenditionReason(info: RenditionFacts): PreviewRenditionReason | null {
  if (info.kind !== 'video') return null;
  if (!BROWSER_VIDEO_CODECS.has(info.videoCodec ?? '')) return 'codec';
  if (info.sar.num !== info.sar.den) return 'pixel-aspect';
  if (!BROWSER_CONTAINERS.has(info.container)) return 'container';
  return info.containerStartUs > 0 ? 'start-offset' : null;
}

/**
 * ffmpeg arguments for the preview rendition, a fast-start MP4 with the first audio stream as AAC.
 * The picture is copied (every frame the original's, at its own time) unless the browser cannot
 * decode it or its pixels are not square; then it is H.264 with the timestamps passed through,
 * turned upright (ffmpeg's autorotation), scaled to square pixels at the displayed size (the
 * asset's width x height) and HDR tone-mapped to SDR as the farm does (toneMapFilters).
 * ffmpeg shifts the output by the input's start, so the rendition's timeline starts at the
 * container's start and the asset's videoStartUs applies to it unchanged.
 */
export function previewRenditionArgs(info: RenditionFacts, input: string, output: string): string[] {
  const reason = previewRenditionReason(info);
  const square = info.sar.num === info.sar.den ? [] : [`scale=${info.width}:${info.height}`, 'setsar=1'];
  const video =
    reason === 'codec' || reason === 'pixel-aspect'
      ? ['-vf', [...toneMapFilters(info), ...square, 'format=yuv420p'].join(','), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-fps_mode', 'passthrough']
      : ['-c:v', 'copy'];
  return [
    '-hide_banner',
    '-v',
    'error',
    ...firstStreamsOf(info.container, input),
    ...video,
    '-c:a',
    'aac',
    '-b:a',
    '160k',
    ...fastStartMp4(output),
  ];
}

/** The original opened with the ingest rules (forced demuxer, files only), its first video and first audio stream (if any) mapped. */
export function firstStreamsOf(container: IngestResult['container'], input: string): string[] {
  return [...inputOptionsFor(container), '-i', fileUrl(input), '-map', '0:v:0', '-map', '0:a:0?'];
}

/** The output as a fast-start MP4 (the index first, so a browser plays it before it has all of it), overwritten. */
export function fastStartMp4(output: string): string[] {
  return ['-movflags', '+faststart', '-f', 'mp4', '-y', fileUrl(output)];
}
