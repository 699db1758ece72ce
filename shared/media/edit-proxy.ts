/**
 * The edit proxy: the small, seek-friendly copy of an uploaded video that the editor's preview and
 * scrubbing play (docs/MEDIA-FORMATS.md "Edit proxies"); renders always read the original.
 *
 * Frame for frame the original: every decoded frame is kept at its own timestamp (-fps_mode
 * passthrough, the encoder counting in the demuxer's time base), so the proxy has the original's
 * frame count and timing, and ffmpeg shifts the output by the input's start, so the proxy's
 * timeline starts at the container's start like the preview rendition's (preview-rendition.ts):
 * source frame N is at previewMediaSeconds in either. The picture is turned upright (ffmpeg's
 * autorotation), scaled to square pixels at the displayed aspect, at most EDIT_PROXY_MAX_HEIGHT
 * high, HDR tone-mapped as the farm does (toneMapFilters), H.264 with a keyframe at least every
 * EDIT_PROXY_GOP frames so a seek decodes at most that many (no B-frames, x264's fastdecode tune).
 *
 * Pure: the farm's edit-proxy job runs ffmpeg with these arguments.
 */
import { toneMapFilters } from '../render-spec/graph/inputs.ts';
import type { IngestResult } from './ingest.ts';
import { fastStartMp4, firstStreamsOf } from './preview-rendition.ts';
import { MediaProbeError } from './probe.ts';

/** The proxy's largest picture height (pixels). */
export const EDIT_PROXY_MAX_HEIGHT = 540;
/** The longest GOP (frames from one keyframe to the next). */
export const EDIT_PROXY_GOP = 10;

export type EditProxyFacts = Pick<IngestResult, 'kind' | 'container' | 'colorTransfer' | 'width' | 'height'>;

/** The proxy's picture size: the displayed aspect at most EDIT_PROXY_MAX_HEIGHT high, both sides even (yuv420p). */
export function editProxySize(info: Pick<IngestResult, 'width' | 'height'>): { width: number; height: number } {
  if (!(info.width > 0 && info.height > 0)) throw new MediaProbeError(`an edit proxy needs a picture size, got ${info.width}x${info.height}`);
  const height = Math.max(2, 2 * Math.floor(Math.min(EDIT_PROXY_MAX_HEIGHT, info.height) / 2));
  const width = Math.max(2, 2 * Math.round((info.width * height) / info.height / 2));
  return { width, height };
}

/** ffmpeg arguments for the edit proxy of the video at `input` (its stored ingest facts), written to `output` as a fast-start MP4. */
export function editProxyArgs(info: EditProxyFacts, input: string, output: string): string[] {
  if (info.kind !== 'video') throw new MediaProbeError(`only videos get an edit proxy, not ${info.kind} files`);
  const { width, height } = editProxySize(info);
  const filters = [...toneMapFilters(info), `scale=${width}:${height}`, 'setsar=1', 'format=yuv420p'];
  return [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-stats',
    ...firstStreamsOf(info.container, input),
    '-vf',
    filters.join(','),
    '-fps_mode',
    'passthrough',
    '-enc_time_base:v',
    '-1',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '23',
    // Cheap to decode in software (no CABAC, no deblocking) and no B-frames: a seek decodes fewer, simpler frames.
    '-tune',
    'fastdecode',
    '-bf',
    '0',
    '-g',
    String(EDIT_PROXY_GOP),
    '-keyint_min',
    '1',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-map_metadata',
    '-1',
    // The edit list that starts the video after the container's start counts in this (mvhd's default, 1/1000 s, rounds it).
    '-movie_timescale',
    '90000',
    ...fastStartMp4(output),
  ];
}
