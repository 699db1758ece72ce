import { describe, expect, it } from 'vitest';
import { chooseTarget, firstErrorLine, parseCodecList, parseFfmpegVersion, parseHwaccels, type Capabilities } from './capabilities.ts';

const ENCODERS_OUT = `Encoders:
 V..... = Video
 ------
 V....D libx264              libx264 H.264 / AVC (codec h264)
 V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)
 A....D aac                  AAC (Advanced Audio Coding)
`;

function caps(over: Partial<Capabilities> = {}): Capabilities {
  const no = { listed: true, opened: false, error: 'OpenEncodeSessionEx failed: unsupported device (2): (no details)' };
  return {
    ffmpegPath: 'ffmpeg',
    ffmpegVersion: '5.1',
    hwaccels: ['cuda'],
    encoders: { libx264: { listed: true, opened: true, error: null }, libx265: { listed: true, opened: true, error: null }, h264_nvenc: no, hevc_nvenc: no },
    cudaDevice: true,
    cudaDeviceError: null,
    filters: { ass: true, subtitles: true, scale_cuda: true, overlay_cuda: true },
    targets: ['cpu'],
    gpus: [],
    probeMs: 1,
    ...over,
  };
}

describe('ffmpeg listing parsers', () => {
  it('reads version, hwaccels and encoder names', () => {
    expect(parseFfmpegVersion('ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026')).toBe('5.1.9-0+deb12u1');
    expect(parseHwaccels('Hardware acceleration methods:\nvdpau\ncuda\nvaapi\n\n')).toEqual(['vdpau', 'cuda', 'vaapi']);
    expect([...parseCodecList(ENCODERS_OUT)]).toEqual(['libx264', 'h264_nvenc', 'aac']);
    expect(firstErrorLine('[h264_nvenc @ 0x556ecb3ab380] Cannot load libcuda.so.1\nError initializing output stream 0:0\n')).toBe('Cannot load libcuda.so.1');
  });
});

describe('chooseTarget', () => {
  it('falls back to cpu when nvenc is listed but does not open (H100: CUDA without NVENC)', () => {
    const choice = chooseTarget(caps(), 'h264');
    expect(choice).toMatchObject({ target: 'cpu', videoEncoder: 'libx264' });
    expect(choice.reason).toMatch(/OpenEncodeSessionEx/);
  });
  it('takes cuda when the device and nvenc both opened', () => {
    const ok = { listed: true, opened: true, error: null };
    const c = caps({ targets: ['cuda', 'cpu'], encoders: { ...caps().encoders, h264_nvenc: ok, hevc_nvenc: ok } });
    expect(chooseTarget(c, 'hevc')).toMatchObject({ target: 'cuda', videoEncoder: 'hevc_nvenc' });
    expect(chooseTarget(c, 'h264', 'cpu')).toMatchObject({ target: 'cpu', videoEncoder: 'libx264' });
  });
  it('refuses an explicit target the machine cannot serve', () => {
    expect(() => chooseTarget(caps({ cudaDevice: false, cudaDeviceError: 'no CUDA-capable device is detected' }), 'h264', 'cuda')).toThrow(/no CUDA-capable device/);
  });
});
