/**
 * Fixture media for integration tests, generated with ffmpeg lavfi into a temp folder, plus the
 * decoding helpers the frame-accuracy checks use. No binary fixtures are committed.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { VFR_TOLERANCE_US } from '../../../shared/render-spec/graph/inputs.ts';

const exec = promisify(execFile);

export const BANDS = 12;

export function tempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `cm-farm-${label}-`));
}

export async function ffmpeg(args: string[]): Promise<Buffer> {
  const { stdout } = await exec('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 });
  return stdout;
}

/**
 * On a 16 x BANDS `color` source: frame N shows N in binary, one row per bit (row 0 = bit 0, white =
 * 1); scaled up with flags=neighbor, the rows become the bands readFrameIndex reads.
 */
export const FRAME_BANDS_VF = "geq=lum='255*mod(floor(N/pow(2\\,Y))\\,2)':cb=128:cr=128";

/**
 * A video whose frame N shows N in binary as BANDS horizontal luma bands (band 0 = top = bit 0,
 * white = 1). Horizontal bands survive any centred crop to a narrower aspect. Lossless x264 with a
 * short GOP so a decoder reads back exactly what was written.
 */
export async function makeFrameIndexVideo(path: string, o: { width: number; height: number; fps: number; frames: number; audio: boolean }): Promise<void> {
  const seconds = o.frames / o.fps;
  const args = ['-f', 'lavfi', '-i', `color=c=black:s=16x${BANDS}:r=${o.fps}:d=${seconds}`];
  if (o.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`);
  args.push('-vf', `${FRAME_BANDS_VF},scale=${o.width}:${o.height}:flags=neighbor,format=yuv420p`);
  args.push('-frames:v', String(o.frames), '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-g', '10');
  if (o.audio) args.push('-c:a', 'aac', '-b:a', '96k', '-shortest');
  await mkdir(dirname(path), { recursive: true });
  await ffmpeg([...args, path]);
}

/** Every video frame of `path` as 8-bit gray, decoded without frame-rate conversion. */
export async function decodeGrayFrames(path: string, width: number, height: number): Promise<Uint8Array[]> {
  const raw = await ffmpeg(['-i', path, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
  const size = width * height;
  if (raw.length % size !== 0) throw new Error(`decoded ${raw.length} bytes, not a multiple of ${width}x${height}`);
  const frames: Uint8Array[] = [];
  for (let off = 0; off < raw.length; off += size) frames.push(raw.subarray(off, off + size));
  return frames;
}

/** Reads the frame index back: the mean of the middle third of each band's centre row. */
export function readFrameIndex(frame: Uint8Array, width: number, height: number): number {
  return readFrameIndexIn(frame, width, { x: 0, y: 0, w: width, h: height });
}

/** The frame index shown inside a rectangle of a gray frame `width` wide (a PiP, one side of a picture). */
export function readFrameIndexIn(frame: Uint8Array, width: number, r: { x: number; y: number; w: number; h: number }): number {
  let index = 0;
  for (let b = 0; b < BANDS; b++) {
    const row = r.y + Math.floor(((b + 0.5) * r.h) / BANDS);
    let sum = 0;
    const x0 = r.x + Math.floor(r.w / 3);
    const x1 = r.x + Math.floor((2 * r.w) / 3);
    for (let x = x0; x < x1; x++) sum += frame[row * width + x]!;
    if (sum / (x1 - x0) > 128) index |= 1 << b;
  }
  return index;
}

export interface StreamInfo {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  nb_read_frames?: string;
  r_frame_rate?: string;
}

/** ffprobe with frames counted by decoding (not the container's claim). */
export async function probeStreams(path: string): Promise<StreamInfo[]> {
  const { stdout } = await exec('ffprobe', ['-v', 'error', '-count_frames', '-print_format', 'json', '-show_streams', path]);
  return (JSON.parse(stdout) as { streams: StreamInfo[] }).streams;
}

/** The first video stream's pixel format and colour tags, as ffprobe reads them. */
export async function videoColour(path: string): Promise<{ pix_fmt?: string; color_space?: string; color_transfer?: string; color_primaries?: string }> {
  const { stdout } = await exec('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=pix_fmt,color_space,color_transfer,color_primaries', '-print_format', 'json', path]);
  return (JSON.parse(stdout) as { streams: Record<string, string>[] }).streams[0] ?? {};
}

// ---- a phone-style variable-frame-rate source (used by the farm's and the preview's container tests)

/** The VFR file's frame k: its timestamp in 90 kHz ticks (its number k is in the picture). */
export const VFR_FRAMES = 90;
export const vfrTicks = (k: number) => k * 3000 + (k >= 30 ? Math.min(k - 30, 20) * 3000 : 0) + ((k * 7) % 5) * 50;
export const VFR_TICKS_EXPR = `N*3000+if(gte(N\\,30)\\,min(N-30\\,20)*3000\\,0)+mod(N*7\\,5)*50`;
/** The frame displayed at n / 30 (timestamps within the builder's tolerance after it count as at it). */
export function vfrFrameAt(n: number): number {
  let shown = 0;
  for (let k = 0; k < VFR_FRAMES; k++) if (vfrTicks(k) <= n * 3000 + (VFR_TOLERANCE_US * 90) / 1000) shown = k;
  return shown;
}

