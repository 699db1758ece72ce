import { describe, expect, it } from 'vitest';
import { editProxyArgs, editProxySize } from './edit-proxy.ts';
import { MediaProbeError } from './probe.ts';

const video = { kind: 'video', container: 'matroska', colorTransfer: null, width: 1920, height: 1080 } as const;
const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('edit proxy arguments', () => {
  it('is at most 540 px high at the displayed aspect, both sides even, never upscaled', () => {
    expect(editProxySize({ width: 1920, height: 1080 })).toEqual({ width: 960, height: 540 });
    // A portrait phone video (rotation already applied to the stored size).
    expect(editProxySize({ width: 1080, height: 1920 })).toEqual({ width: 304, height: 540 });
    expect(editProxySize({ width: 320, height: 240 })).toEqual({ width: 320, height: 240 });
    expect(editProxySize({ width: 161, height: 97 })).toEqual({ width: 160, height: 96 });
    expect(() => editProxySize({ width: 0, height: 0 })).toThrow(MediaProbeError);
  });

  it('opens the original with its demuxer forced and files only, and keeps every frame at its own time', () => {
    const args = editProxyArgs(video, '/data/in', '/data/out.mp4');
    expect(args.slice(args.indexOf('-f'), args.indexOf('-f') + 6)).toEqual(['-f', 'matroska', '-protocol_whitelist', 'file', '-format_whitelist', 'matroska']);
    expect(after(args, '-i')).toBe('file:/data/in');
    expect(args.at(-1)).toBe('file:/data/out.mp4');
    expect(args.join(' ')).toContain('-map 0:v:0 -map 0:a:0?');
    expect(after(args, '-vf')).toBe('scale=960:540,setsar=1,format=yuv420p');
    expect(after(args, '-fps_mode')).toBe('passthrough');
    expect(after(args, '-enc_time_base:v')).toBe('-1');
    expect(after(args, '-c:v')).toBe('libx264');
    expect(after(args, '-g')).toBe('10');
    expect(after(args, '-tune')).toBe('fastdecode');
    expect(after(args, '-bf')).toBe('0');
    expect(after(args, '-c:a')).toBe('aac');
    expect(after(args, '-movflags')).toBe('+faststart');
    // Progress lines for the farm's adapter.
    expect(args).toContain('-stats');
  });

  it('tone-maps HDR as the farm does, before scaling', () => {
    const vf = after(editProxyArgs({ ...video, colorTransfer: 'smpte2084' }, '/d/in', '/d/out.mp4'), '-vf')!;
    expect(vf).toMatch(/^zscale=tin=smpte2084:.*tonemap=tonemap=hable.*,scale=960:540,setsar=1,format=yuv420p$/);
  });

  it('refuses what is not a video, an unsafe container or path', () => {
    expect(() => editProxyArgs({ ...video, kind: 'audio' }, '/d/in', '/d/out.mp4')).toThrow(MediaProbeError);
    expect(() => editProxyArgs({ ...video, container: 'hls' as never }, '/d/in', '/d/out.mp4')).toThrow(MediaProbeError);
    expect(() => editProxyArgs(video, '/d/in\n-i http://x', '/d/out.mp4')).toThrow(MediaProbeError);
  });
});
