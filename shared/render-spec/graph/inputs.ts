/**
 * How the builder opens a source: every input of every layer goes through openSource(), and every
 * video chain starts with videoNormalisation(). This is the seam the ingest module plugs into
 * (forced demuxer, -protocol_whitelist, start offsets, rotation, SAR, VFR): the builder never
 * writes input options itself.
 */
import { formatSeconds } from '../time.ts';
import type { Source } from '../schema.ts';
import type { RenderTarget } from './common.ts';

export interface SourceOpening {
  /** Decode from here (seconds of the source's own timeline); null from the start. */
  seekSeconds: number | null;
  /** Stop reading after this many seconds (decoding margin included). */
  durationSeconds: number | null;
  /** The chain decodes video from this input (hardware decoding applies). */
  video: boolean;
}

/** Input options for one opening of `source`. */
export function openSource(source: Source, o: SourceOpening, target: RenderTarget): string[] {
  const options: string[] = [];
  if (target === 'cuda' && o.video && source.kind === 'video') options.push('-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda');
  if (o.seekSeconds !== null && o.seekSeconds > 0) options.push('-ss', formatSeconds(o.seekSeconds));
  if (o.durationSeconds !== null) options.push('-t', formatSeconds(o.durationSeconds));
  return options;
}

/** Filters that bring a decoded source frame to the builder's assumptions (system memory, square pixels). */
export function videoNormalisation(source: Source, target: RenderTarget): string[] {
  return target === 'cuda' && source.kind === 'video' ? ['hwdownload', 'format=nv12'] : [];
}
