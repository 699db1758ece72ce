import { describe, expect, it } from 'vitest';
import { inputOptionsFor, ingestProbeArgs, interpretIngestProbe, INGEST_DEMUXERS, sniffIndirection } from './ingest.ts';
import { previewRenditionArgs, previewRenditionReason } from './preview-rendition.ts';
import { MediaProbeError } from './probe.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const VIDEO_JSON = JSON.stringify({
  streams: [{ index: 0, codec_type: 'video', codec_name: 'h264', width: 64, height: 48, avg_frame_rate: '30/1', r_frame_rate: '30/1', start_time: '0.066667', sample_aspect_ratio: '1:1', color_transfer: 'arib-std-b67' }],
  format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '1.0', start_time: '0.000000' },
});

describe('ingest rules', () => {
  it('opens every stored file with its demuxer forced and the file protocol only', () => {
    expect(inputOptionsFor('matroska')).toEqual(['-f', 'matroska', '-protocol_whitelist', 'file', '-format_whitelist', 'matroska']);
    expect(inputOptionsFor(null)).toEqual(['-protocol_whitelist', 'file', '-format_whitelist', INGEST_DEMUXERS.join(',')]);
    for (const bad of ['hls', 'concat', 'image2', 'tee', 'sdp', 'lavfi']) expect(() => inputOptionsFor(bad)).toThrow(MediaProbeError);
    expect(INGEST_DEMUXERS).not.toContain('image2');
    const args = ingestProbeArgs('/data/tmp/upload-1');
    expect(args.at(-1)).toBe('file:/data/tmp/upload-1');
    expect(args).toContain('-protocol_whitelist');
    expect(() => ingestProbeArgs('/x\n-i http://evil')).toThrow(MediaProbeError);
  });

  it('names text indirection formats before ffprobe runs', () => {
    expect(sniffIndirection(enc('#EXTM3U\n#EXTINF:1,\n/etc/passwd\n'))).toMatch(/HLS/);
    expect(sniffIndirection(enc('  ffconcat version 1.0\nfile a.mp4'))).toMatch(/concat/);
    expect(sniffIndirection(enc('v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\nm=video 5004 RTP/AVP 96\r\n'))).toMatch(/SDP/);
    expect(sniffIndirection(enc('http://127.0.0.1/x.ts'))).toMatch(/another resource/);
    expect(sniffIndirection(new Uint8Array([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70]))).toBeNull();
  });

  it('refuses what ffprobe refused or what opened other files, with a reason', () => {
    expect(() => interpretIngestProbe(1, '', "[hls @ 0x55d1] Format not on whitelist 'mov,matroska'\n")).toThrow(/HLS playlist/);
    expect(() => interpretIngestProbe(1, '', "[concat @ 0x55d1] Format not on whitelist 'mov'\n")).toThrow(/concat/);
    expect(() => interpretIngestProbe(0, VIDEO_JSON, "[mov,mp4 @ 0x1] Opening '/srv/other.m4a' for reading\n")).toThrow(/refers to other files/);
    expect(() => interpretIngestProbe(1, '', "Protocol 'http' not on whitelist 'file'!\n")).toThrow(/other resources/);
    expect(() => interpretIngestProbe(1, '', 'file:/tmp/x: Invalid data found when processing input\n')).toThrow(/can read \(Invalid data found when processing input\)/);
  });

  it('records the container and the facts the farm and the editor need', () => {
    const info = interpretIngestProbe(0, VIDEO_JSON, '');
    expect(info).toMatchObject({ container: 'mov', kind: 'video', videoStartUs: 66_667, rotation: 0, sar: { num: 1, den: 1 }, colorTransfer: 'arib-std-b67', vfr: false });
  });

  it('records where the container starts on the file timeline (what a browser counts from)', () => {
    expect(interpretIngestProbe(0, VIDEO_JSON, '').containerStartUs).toBe(0);
    const ts = JSON.stringify({
      streams: [
        { index: 0, codec_type: 'video', codec_name: 'h264', width: 64, height: 48, avg_frame_rate: '30/1', r_frame_rate: '30/1', start_time: '1.421333' },
        { index: 1, codec_type: 'audio', codec_name: 'aac', start_time: '1.400000' },
      ],
      format: { format_name: 'mpegts', duration: '3.0', start_time: '1.400000' },
    });
    expect(interpretIngestProbe(0, ts, '')).toMatchObject({ container: 'mpegts', containerStartUs: 1_400_000, videoStartUs: 21_333, audioStartUs: 0 });
  });

  it('gives the preview a remux where browsers cannot open the container or count from a later start, a transcode where they cannot decode', () => {
    const h264 = { kind: 'video', videoCodec: 'h264', colorTransfer: null, sar: { num: 1, den: 1 }, width: 64, height: 48 } as const;
    expect(previewRenditionReason({ ...h264, container: 'mov', containerStartUs: 0 })).toBeNull();
    expect(previewRenditionReason({ ...h264, container: 'matroska', containerStartUs: 0 })).toBeNull();
    // Chromium shifts a negative start to 0 itself; ffmpeg's container start is that 0 too.
    expect(previewRenditionReason({ ...h264, container: 'mov', containerStartUs: -33_333 })).toBeNull();
    expect(previewRenditionReason({ ...h264, container: 'mpegts', containerStartUs: 1_400_000 })).toBe('container');
    expect(previewRenditionReason({ ...h264, container: 'avi', containerStartUs: 0 })).toBe('container');
    expect(previewRenditionReason({ ...h264, container: 'matroska', containerStartUs: 2_000_000 })).toBe('start-offset');
    expect(previewRenditionReason({ ...h264, videoCodec: 'hevc', colorTransfer: 'arib-std-b67', container: 'mov', containerStartUs: 0 })).toBe('codec');
    expect(previewRenditionReason({ ...h264, sar: { num: 2, den: 1 }, container: 'mov', containerStartUs: 0 })).toBe('pixel-aspect');
    expect(previewRenditionReason({ ...h264, kind: 'audio', videoCodec: null, container: 'mp3', containerStartUs: 25_057 })).toBeNull();
    const args = previewRenditionArgs({ ...h264, container: 'mpegts', containerStartUs: 1_400_000 }, '/data/tmp/upload-1', '/data/tmp/upload-1.preview.mp4');
    // The stored demuxer forced, files only; the picture copied, not re-encoded.
    expect(args.slice(3, 9)).toEqual(['-f', 'mpegts', '-protocol_whitelist', 'file', '-format_whitelist', 'mpegts']);
    expect(args.slice(9, 11)).toEqual(['-i', 'file:/data/tmp/upload-1']);
    expect(args.join(' ')).toContain('-c:v copy');
    expect(args.at(-1)).toBe('file:/data/tmp/upload-1.preview.mp4');
    // HDR HEVC: H.264 with the farm's tone mapping, timestamps passed through.
    const hdr = previewRenditionArgs({ ...h264, videoCodec: 'hevc', colorTransfer: 'arib-std-b67', container: 'mov', containerStartUs: 0 }, '/d/in', '/d/out.mp4').join(' ');
    expect(hdr).toMatch(/-vf zscale=tin=arib-std-b67:.*tonemap=tonemap=hable.*,format=yuv420p -c:v libx264 .*-fps_mode passthrough/);
    expect(hdr).not.toContain('-c:v copy');
    // Anamorphic: square pixels at the displayed size.
    const dv = previewRenditionArgs({ ...h264, sar: { num: 2, den: 1 }, width: 160, height: 96, container: 'mov', containerStartUs: 0 }, '/d/in', '/d/out.mp4').join(' ');
    expect(dv).toMatch(/-vf scale=160:96,setsar=1,format=yuv420p -c:v libx264/);
  });
});
