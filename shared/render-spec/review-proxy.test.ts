import { describe, expect, it } from 'vitest';
import { buildWatermarkAss, reviewProxyCommand, watermarkLines } from './review-proxy.ts';

const viewer = { name: `Eve' "q" %{pts} {\\pos(0,0)} a\\N\nb:c,[x];y`, email: 'eve@example.com', issuedAt: '2026-12-02T08:15:42.000Z' };

describe('review-proxy command', () => {
  it('is one fixed subtitles filter over the worker-written ASS file; no viewer text in the argv', () => {
    const c = reviewProxyCommand({ inputPath: '/w/in.mp4', outputPath: '/w/out.mp4', workDir: '/w/job', fontsDir: '/f', width: 640, height: 360, viewer, hasAudio: true });
    expect(c.args).toEqual([
      '-hide_banner', '-nostdin', '-y', '-protocol_whitelist', 'file', '-f', 'mov', '-i', '/w/in.mp4',
      '-filter_complex', '[0:v:0]subtitles=filename=/w/job/watermark.ass:fontsdir=/f,format=yuv420p[wm]',
      '-map', '[wm]', '-map', '0:a:0', '-c:a', 'copy', '-fps_mode', 'passthrough', '-enc_time_base', '-1',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-map_metadata', '-1', '-movflags', '+faststart', '/w/out.mp4',
    ]);
    expect(c.files).toEqual([{ path: '/w/job/watermark.ass', contents: buildWatermarkAss(viewer, 640, 360) }]);
    // Worker paths with filter syntax are escaped too.
    const odd = reviewProxyCommand({ inputPath: 'a:b.mp4', outputPath: '/o.mp4', workDir: "/w/it's,[x]", fontsDir: '/f:1', width: 2, height: 2, viewer, hasAudio: false });
    expect(odd.args).toContain("[0:v:0]subtitles=filename=/w/it\\\\\\'s\\,\\[x\\]/watermark.ass:fontsdir=/f\\\\:1,format=yuv420p[wm]");
    expect(odd.args).toContain('file:a:b.mp4');
  });

  it('writes the text escaped: no override block, line break or tag can open from the name', () => {
    expect(watermarkLines(viewer)).toEqual([`Eve' "q" %{pts} {\\pos(0,0)} a\\N b:c,[x];y`, 'eve@example.com', '2026-12-02 08:15 UTC']);
    const ass = buildWatermarkAss(viewer, 640, 360);
    const dialogues = ass.split('\n').filter((l) => l.startsWith('Dialogue:'));
    expect(dialogues).toHaveLength(4);
    for (const d of dialogues) {
      // After our own leading override block, every brace is escaped and every backslash is followed
      // by a word joiner (so \N, \pos cannot form).
      const text = d.slice(d.indexOf('}') + 1);
      expect(text.replace(/\\[{}]/g, '')).not.toMatch(/[{}]/);
      expect(text.replace(/\\N(?=eve@)/, '')).not.toMatch(/\\(?![{}\u2060])/);
    }
    expect(() => buildWatermarkAss({ ...viewer, issuedAt: 'not a date' }, 640, 360)).toThrow();
  });
});
