/**
 * What this machine's ffmpeg can really do. An encoder that `ffmpeg -encoders` lists is not proof:
 * every distro build lists h264_nvenc, and an H100/H200 has CUDA but no NVENC silicon. So each
 * encoder is OPENED by encoding one frame of lavfi colour to the null muxer.
 */
import type { z } from 'zod';
import type { GpuInfo, WorkerCapabilities } from '@clipmaker/shared/jobs';
import { ffmpegBinary, execTool } from './ffmpeg/adapter.ts';
import { queryGpus } from './gpu.ts';

export type RenderTarget = 'cpu' | 'cuda';
export type VideoCodec = 'h264' | 'hevc';

export const PROBED_ENCODERS = ['libx264', 'libx265', 'h264_nvenc', 'hevc_nvenc'] as const;
export type ProbedEncoder = (typeof PROBED_ENCODERS)[number];

export interface EncoderCapability {
  /** Listed by `ffmpeg -encoders`. */
  listed: boolean;
  /** Encoded a real frame. */
  opened: boolean;
  /** Why opening failed (last stderr line), null when it worked or was not tried. */
  error: string | null;
}

export interface Capabilities {
  ffmpegPath: string;
  /** e.g. "5.1.9-0+deb12u1"; null when the banner was unreadable. */
  ffmpegVersion: string | null;
  hwaccels: string[];
  encoders: Record<ProbedEncoder, EncoderCapability>;
  /** A CUDA device could be initialised (decode / cuda filters are possible). */
  cudaDevice: boolean;
  cudaDeviceError: string | null;
  /** Filters the builder may use, by name. */
  filters: { ass: boolean; subtitles: boolean; scale_cuda: boolean; overlay_cuda: boolean };
  /** Targets this worker can render with, best first; 'cpu' is always the fallback. */
  targets: RenderTarget[];
  /** GPUs nvidia-smi reports (model, driver, memory, utilisation at probe time); [] without one. */
  gpus: GpuInfo[];
  probeMs: number;
}
// The heartbeat's capabilities JSON is this object: it must satisfy the shared contract.
type _SatisfiesContract = Capabilities extends z.input<typeof WorkerCapabilities> ? true : never;
const _capabilitiesMatchContract: _SatisfiesContract = true;
void _capabilitiesMatchContract;

/** `ffmpeg -version` first line -> version string. */
export function parseFfmpegVersion(out: string): string | null {
  return /^ffmpeg version (\S+)/m.exec(out)?.[1] ?? null;
}

/** `ffmpeg -hwaccels` -> ["vdpau", "cuda", ...]. */
export function parseHwaccels(out: string): string[] {
  const lines = out.split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => /^Hardware acceleration methods:?$/.test(l));
  return start < 0 ? [] : lines.slice(start + 1).filter((l) => /^[a-z0-9_]+$/.test(l));
}

/** `ffmpeg -encoders` / `-filters` listing -> set of names (second column). */
export function parseCodecList(out: string): Set<string> {
  const names = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^\s*[A-Z.|]{3,6}\s+(\S+)\s/.exec(line);
    if (m && m[1] !== '=') names.add(m[1]!);
  }
  return names;
}

/** The first stderr line is the cause ("Cannot load libcuda.so.1"); later ones are generic fallout. */
export function firstErrorLine(stderr: string): string | null {
  const line = stderr.split('\n').map((l) => l.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, '').trim()).find(Boolean);
  return line ?? null;
}

const BASE = ['-hide_banner', '-nostdin', '-v', 'error'];

async function openEncoder(bin: string, encoder: ProbedEncoder): Promise<{ opened: boolean; error: string | null }> {
  // 256x256: above NVENC's minimum frame size; yuv420p: accepted by all four encoders.
  const args = [...BASE, '-f', 'lavfi', '-i', 'color=c=black:s=256x256:r=25:d=1', '-frames:v', '1', '-pix_fmt', 'yuv420p', '-c:v', encoder, '-f', 'null', '-'];
  const res = await execTool(bin, args, { timeoutMs: 20_000 });
  return res.code === 0 ? { opened: true, error: null } : { opened: false, error: firstErrorLine(res.stderr) ?? `exit ${res.code}` };
}

async function openCudaDevice(bin: string): Promise<{ ok: boolean; error: string | null }> {
  const args = [...BASE, '-init_hw_device', 'cuda=cu', '-f', 'lavfi', '-i', 'nullsrc=s=64x64:d=0.04', '-frames:v', '1', '-f', 'null', '-'];
  const res = await execTool(bin, args, { timeoutMs: 20_000 });
  return res.code === 0 ? { ok: true, error: null } : { ok: false, error: firstErrorLine(res.stderr) ?? `exit ${res.code}` };
}

export async function probeCapabilities(): Promise<Capabilities> {
  const started = performance.now();
  const bin = ffmpegBinary();
  const [version, hwaccels, encoders, filters, gpus] = await Promise.all([
    execTool(bin, ['-hide_banner', '-version']).then((r) => r.stdout),
    execTool(bin, ['-hide_banner', '-hwaccels']).then((r) => r.stdout),
    execTool(bin, ['-hide_banner', '-encoders']).then((r) => parseCodecList(r.stdout)),
    execTool(bin, ['-hide_banner', '-filters']).then((r) => parseCodecList(r.stdout)),
    queryGpus(),
  ]);
  const hw = parseHwaccels(hwaccels);

  const encoderCaps = {} as Record<ProbedEncoder, EncoderCapability>;
  await Promise.all(
    PROBED_ENCODERS.map(async (name) => {
      const listed = encoders.has(name);
      encoderCaps[name] = listed ? { listed, ...(await openEncoder(bin, name)) } : { listed, opened: false, error: 'not in this ffmpeg build' };
    }),
  );
  const cuda = hw.includes('cuda') ? await openCudaDevice(bin) : { ok: false, error: 'ffmpeg lists no cuda hwaccel' };

  const targets: RenderTarget[] = [];
  if (cuda.ok && encoderCaps.h264_nvenc.opened) targets.push('cuda');
  targets.push('cpu');

  return {
    ffmpegPath: bin,
    ffmpegVersion: parseFfmpegVersion(version),
    hwaccels: hw,
    encoders: encoderCaps,
    cudaDevice: cuda.ok,
    cudaDeviceError: cuda.error,
    filters: { ass: filters.has('ass'), subtitles: filters.has('subtitles'), scale_cuda: filters.has('scale_cuda'), overlay_cuda: filters.has('overlay_cuda') },
    targets,
    gpus,
    probeMs: Math.round(performance.now() - started),
  };
}

export interface TargetChoice {
  target: RenderTarget;
  videoEncoder: string;
  reason: string;
}

const ENCODERS: Record<RenderTarget, Record<VideoCodec, ProbedEncoder>> = {
  cpu: { h264: 'libx264', hevc: 'libx265' },
  cuda: { h264: 'h264_nvenc', hevc: 'hevc_nvenc' },
};

/**
 * Picks target and encoder for one job. `requested` 'auto' takes the best target that opened the
 * codec's encoder; an explicit target the machine cannot serve throws (callers decide whether to
 * fall back). CPU is the fallback for everything.
 */
export function chooseTarget(caps: Capabilities, codec: VideoCodec, requested: RenderTarget | 'auto' = 'auto'): TargetChoice {
  const usable = (t: RenderTarget) => caps.targets.includes(t) && caps.encoders[ENCODERS[t][codec]].opened;
  if (requested !== 'auto') {
    if (!usable(requested)) {
      const enc = caps.encoders[ENCODERS[requested][codec]];
      const why = requested === 'cuda' && !caps.cudaDevice ? (caps.cudaDeviceError ?? 'no CUDA device') : (enc.error ?? 'encoder did not open');
      throw new Error(`target ${requested} cannot encode ${codec} on this machine: ${why}`);
    }
    return { target: requested, videoEncoder: ENCODERS[requested][codec], reason: 'requested' };
  }
  if (usable('cuda')) return { target: 'cuda', videoEncoder: ENCODERS.cuda[codec], reason: 'cuda device and nvenc opened' };
  const cudaWhy = !caps.cudaDevice ? (caps.cudaDeviceError ?? 'no CUDA device') : (caps.encoders[ENCODERS.cuda[codec]].error ?? 'nvenc did not open');
  if (!caps.encoders[ENCODERS.cpu[codec]].opened) throw new Error(`no encoder for ${codec}: ${caps.encoders[ENCODERS.cpu[codec]].error ?? 'unknown'}`);
  return { target: 'cpu', videoEncoder: ENCODERS.cpu[codec], reason: `cpu fallback (${cudaWhy})` };
}
