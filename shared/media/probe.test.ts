import { describe, expect, it } from 'vitest';
import { interpretFfprobe, MediaProbeError } from './probe.ts';

describe('interpretFfprobe', () => {
  it('reads a video with audio, frame rate and frame count', () => {
    const info = interpretFfprobe({
      streams: [
        { codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080, r_frame_rate: '30/1', avg_frame_rate: '30/1', nb_frames: '120' },
        { codec_type: 'audio', codec_name: 'aac' },
      ],
      format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '4.000000' },
    });
    expect(info).toEqual({ kind: 'video', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationUs: 4_000_000, durationFrames: 120, hasAudio: true, videoCodec: 'h264', formatName: 'mov,mp4,m4a,3gp,3g2,mj2' });
  });
  it('computes frames from duration when nb_frames is missing (NTSC rate)', () => {
    const info = interpretFfprobe({ streams: [{ codec_type: 'video', width: 640, height: 360, avg_frame_rate: '30000/1001' }], format: { format_name: 'matroska,webm', duration: '10.010000' } });
    expect(info.durationFrames).toBe(300);
    expect(info.hasAudio).toBe(false);
  });
  it('recognises images and audio', () => {
    expect(interpretFfprobe({ streams: [{ codec_type: 'video', codec_name: 'png', width: 10, height: 20 }], format: { format_name: 'png_pipe' } }).kind).toBe('image');
    expect(interpretFfprobe({ streams: [{ codec_type: 'audio' }], format: { format_name: 'mp3', duration: '3.5' } }).kind).toBe('audio');
  });
  it('refuses non-media with a clear reason', () => {
    expect(() => interpretFfprobe({ streams: [], format: { format_name: 'tty' } })).toThrow(MediaProbeError);
    expect(() => interpretFfprobe('nonsense')).toThrow(/could not be read as media/);
  });
});
