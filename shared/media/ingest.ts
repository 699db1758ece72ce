/**
 * Ingest: the one place that decides how a media file is opened by ffprobe and ffmpeg.
 *
 * A media file must be ONE self-contained file. Several ffmpeg demuxers and protocols read other
 * resources named inside the file (hls playlists, concat/ffconcat lists, image2 patterns, tee, sdp/
 * rtp, data:, subfile, ...): an uploaded playlist would make the upload probe and every later render
 * read another organisation's asset, a server file or a URL. So:
 *
 *  - the upload probe runs with `-protocol_whitelist file` and `-format_whitelist <INGEST_DEMUXERS>`
 *    and refuses anything else, naming the container it found (ingestProbeArgs, interpretIngestProbe);
 *    it also refuses a file whose probe opened anything but itself (ffmpeg logs every further
 *    "Opening '...' for reading" at info level);
 *  - the detected demuxer is stored on the asset (assets.container) and travels in the RenderSpec
 *    (Source.container);
 *  - every later ffprobe/ffmpeg run on the file (renders, chunks, posters, filmstrips, waveforms,
 *    previews) opens it with inputOptionsFor(container): `-f <demuxer> -protocol_whitelist file
 *    -format_whitelist <demuxer>`, so even a file swapped in storage cannot be read as a playlist.
 *
 * Pure: spawning is the caller's job (app upload, farm worker, ffmpeg.wasm).
 */
import { interpretFfprobe, MediaProbeError, type MediaInfo } from './probe.ts';

/**
 * Demuxers that read nothing but the file they are given. Names are ffmpeg's short demuxer names
 * (what `-f` takes); ffprobe reports e.g. "mov,mp4,m4a,3gp,3g2,mj2", whose first name is used.
 * Single images are stored as PNG (sharp normalises them), but every image pipe demuxer is safe.
 */
export const INGEST_DEMUXERS = [
  'mov',
  'matroska',
  'mpegts',
  'mpeg',
  'avi',
  'flv',
  'asf',
  'dv',
  'ogg',
  'wav',
  'w64',
  'aiff',
  'caf',
  'mp3',
  'flac',
  'aac',
  'png_pipe',
  'jpeg_pipe',
  'webp_pipe',
  'bmp_pipe',
  'tiff_pipe',
  'gif',
] as const;
export type IngestDemuxer = (typeof INGEST_DEMUXERS)[number];

/** The only protocol ingest ever allows: local files (pipe only where a caller streams stdin). */
export const PROTOCOL_WHITELIST = 'file';

/** Known indirection formats: named in the refusal so the user learns why. */
const REFUSED_DEMUXERS: Record<string, string> = {
  hls: 'an HLS playlist (it points at other files)',
  applehttp: 'an HLS playlist (it points at other files)',
  dash: 'a DASH manifest (it points at other files)',
  concat: 'a concat/ffconcat list (it points at other files)',
  image2: 'an image sequence or file pattern',
  tee: 'a tee pseudo-file',
  sdp: 'an SDP session description (it opens network streams)',
  rtp: 'an RTP stream description',
  rtsp: 'an RTSP stream description',
  data: 'a data: URL',
  subfile: 'a subfile reference',
  mpjpeg: 'a multipart stream',
  ffmetadata: 'an ffmetadata text file',
  lavfi: 'a filter graph description',
  libmodplug: 'a tracker module',
  libopenmpt: 'a tracker module',
  tty: 'a text file',
};

export function isIngestDemuxer(name: string): name is IngestDemuxer {
  return (INGEST_DEMUXERS as readonly string[]).includes(name);
}

/**
 * The ffmpeg/ffprobe input options that open a stored file: its detected demuxer forced, nothing
 * but the file protocol, nothing but that demuxer. A source whose container is unknown (an asset
 * uploaded before detection was stored) still gets both whitelists, over the whole allowlist.
 */
export function inputOptionsFor(container: string | null | undefined): string[] {
  if (container && isIngestDemuxer(container)) return ['-f', container, '-protocol_whitelist', PROTOCOL_WHITELIST, '-format_whitelist', container];
  if (container) throw new MediaProbeError(`the container "${container}" is not an accepted media format`);
  return ['-protocol_whitelist', PROTOCOL_WHITELIST, '-format_whitelist', INGEST_DEMUXERS.join(',')];
}

/** A local path as an ffmpeg/ffprobe input: always through the file protocol, never a URL. */
export function fileUrl(path: string): string {
  if (path.length === 0 || /[\0\n\r]/.test(path)) throw new MediaProbeError('file paths must be non-empty, on one line');
  return path.startsWith('file:') ? path : `file:${path}`;
}

/** ffprobe arguments for the upload probe (and the farm's check of a stored file). */
export function ingestProbeArgs(path: string, container?: string | null): string[] {
  return [
    '-hide_banner',
    '-v',
    'info',
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    // The first packets: where the video's frame grid starts (probe.ts gridStartUs).
    '-show_packets',
    '-read_intervals',
    '%+#48',
    ...inputOptionsFor(container),
    fileUrl(path),
  ];
}

/**
 * Cheap content sniffing of the first bytes for text indirection formats, so the refusal can name
 * them even before ffprobe runs (ffprobe's whitelist is the enforcement; this is the message).
 */
export function sniffIndirection(head: Uint8Array): string | null {
  const text = new TextDecoder('latin1').decode(head.subarray(0, 4096)).replace(/^\uFEFF/, '').replace(/^\xEF\xBB\xBF/, '');
  const start = text.trimStart();
  if (/^#EXTM3U/i.test(start)) return REFUSED_DEMUXERS.hls!;
  if (/^ffconcat\s+version/i.test(start)) return REFUSED_DEMUXERS.concat!;
  if (/^<\?xml[\s\S]{0,400}<MPD/i.test(start) || /^<MPD/i.test(start)) return REFUSED_DEMUXERS.dash!;
  if (/^v=0\s*[\r\n]/.test(start) && /^(o|s|c|m)=/m.test(start)) return REFUSED_DEMUXERS.sdp!;
  if (/^;FFMETADATA/.test(start)) return REFUSED_DEMUXERS.ffmetadata!;
  if (/^(file|data|http|https|concat|subfile|tee|pipe|ftp|rtmp|rtsp|udp|tcp|crypto|cache|async):/i.test(start)) return 'a reference to another resource';
  return null;
}

export interface IngestResult extends MediaInfo {
  /** The demuxer every later run forces with -f. */
  container: IngestDemuxer;
}

/** Lines in which ffmpeg says it opened another resource than the probed file. */
function foreignOpens(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => /Opening '([^']*)' for reading/.exec(l)?.[1])
    .filter((u): u is string => u !== undefined);
}

/**
 * Interprets one ingest probe (exit code, stdout JSON, stderr at -v info). Throws MediaProbeError
 * with a user-facing reason for anything refused.
 */
export function interpretIngestProbe(code: number | null, stdout: string, stderr: string): IngestResult {
  const notOnList = /\[([A-Za-z0-9_]+) @ 0x[0-9a-f]+\] Format not on whitelist/.exec(stderr);
  if (notOnList) {
    const name = notOnList[1]!;
    throw new MediaProbeError(`the file is ${REFUSED_DEMUXERS[name] ?? `in the "${name}" format, which is not accepted`}; upload a single self-contained video, audio or image file`);
  }
  if (/Protocol '[^']*' not on whitelist/.test(stderr)) throw new MediaProbeError('the file refers to other resources (a URL or another file); upload a single self-contained media file');
  const opened = foreignOpens(stderr);
  if (opened.length > 0) throw new MediaProbeError('the file refers to other files; upload a single self-contained media file');
  if (code !== 0) {
    // ffprobe's own last words, without the path it names ("file:/…: Invalid data found …").
    const last = stderr.trim().split('\n').pop()?.replace(/^.*?: (?=[A-Z])/, '').slice(0, 200);
    throw new MediaProbeError(`the file is not a video, audio or image file ffmpeg can read${last ? ` (${last})` : ''}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    throw new MediaProbeError('the file could not be read as media');
  }
  const info = interpretFfprobe(json);
  const first = info.formatName.split(',')[0] ?? '';
  if (!isIngestDemuxer(first)) throw new MediaProbeError(`the file is ${REFUSED_DEMUXERS[first] ?? `in the "${first}" format, which is not accepted`}`);
  return { ...info, container: first };
}

