import { describe, expect, it } from 'vitest';
import { chooseTarget, probeCapabilities } from '../../src/capabilities.ts';

describe('probeCapabilities (this machine)', () => {
  it('opens encoders for real and always offers the cpu target', async () => {
    const caps = await probeCapabilities();
    expect(caps.ffmpegVersion).toMatch(/^\d/);
    expect(caps.encoders.libx264).toEqual({ listed: true, opened: true, error: null });
    expect(caps.filters.ass).toBe(true);
    expect(caps.targets.at(-1)).toBe('cpu');
    // Listing is not proof: cuda is offered only when a device opened AND nvenc encoded a frame.
    expect(caps.targets.includes('cuda')).toBe(caps.cudaDevice && caps.encoders.h264_nvenc.opened);
    for (const enc of Object.values(caps.encoders)) {
      if (enc.opened) expect(enc.listed).toBe(true);
      else expect(enc.error).toBeTruthy();
    }
    const choice = chooseTarget(caps, 'h264');
    expect(choice.videoEncoder).toBe(choice.target === 'cuda' ? 'h264_nvenc' : 'libx264');
  });
});
