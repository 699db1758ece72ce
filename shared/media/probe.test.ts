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
    expect(info).toMatchObject({ kind: 'video', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationUs: 4_000_000, durationFrames: 120, hasAudio: true, videoCodec: 'h264', formatName: 'mov,mp4,m4a,3gp,3g2,mj2' });
  });
  it('computes frames from duration when nb_frames is missing (NTSC rate)', () => {
    const info = interpretFfprobe({ streams: [{ codec_type: 'video', codec_name: 'h264', width: 640, height: 360, avg_frame_rate: '30000/1001' }], format: { format_name: 'matroska,webm', duration: '10.010000' } });
    expect(info.durationFrames).toBe(300);
    expect(info.hasAudio).toBe(false);
  });
  it('recognises images and audio', () => {
    expect(interpretFfprobe({ streams: [{ codec_type: 'video', codec_name: 'png', width: 10, height: 20 }], format: { format_name: 'png_pipe' } }).kind).toBe('image');
    expect(interpretFfprobe({ streams: [{ codec_type: 'audio', codec_name: 'mp3' }], format: { format_name: 'mp3', duration: '3.5' } }).kind).toBe('audio');
  });
  it('refuses non-media with a clear reason', () => {
    expect(() => interpretFfprobe({ streams: [], format: { format_name: 'tty' } })).toThrow(MediaProbeError);
    expect(() => interpretFfprobe('nonsense')).toThrow(/could not be read as media/);
  });
  it('refuses a stream ffmpeg demuxes but cannot decode, as undecodable, naming its tag', () => {
    const attempt = () => interpretFfprobe({ streams: [{ codec_type: 'video', codec_tag_string: 'ZZZZ', width: 64, height: 48, avg_frame_rate: '10/1' }], format: { format_name: 'avi', duration: '1' } });
    expect(attempt).toThrow(/video codec "ZZZZ" is not one ffmpeg can decode/);
    expect(() => attempt()).toThrow(expect.objectContaining({ reason: 'undecodable' }));
  });
  it('flags VFR from uneven packet spacing and counts it on its nominal rate; even spacing is CFR', () => {
    const video = { index: 0, codec_type: 'video', codec_name: 'h264', width: 64, height: 48, r_frame_rate: '450/1', avg_frame_rate: '13500/551' };
    // 30 fps with up to 2.2 ms of jitter, then frames held twice as long.
    const ticks = Array.from({ length: 48 }, (_, k) => k * 3000 + (k >= 30 ? (k - 30) * 3000 : 0) + ((k * 7) % 5) * 50);
    const packets = ticks.map((t) => ({ stream_index: 0, pts_time: String(t / 90000) }));
    const vfr = interpretFfprobe({ streams: [video], packets, format: { format_name: 'mov', duration: '3' } });
    expect(vfr).toMatchObject({ vfr: true, fps: { num: 30, den: 1 }, durationFrames: 90 });
    const even = Array.from({ length: 48 }, (_, k) => ({ stream_index: 0, pts_time: String(k / 30) }));
    expect(interpretFfprobe({ streams: [{ ...video, r_frame_rate: '30/1', avg_frame_rate: '30/1' }], packets: even, format: { format_name: 'mov', duration: '3' } }).vfr).toBe(false);
  });
});
