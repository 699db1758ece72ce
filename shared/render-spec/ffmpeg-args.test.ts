import { describe, expect, it } from 'vitest';
import { buildFfmpegCommand, commandToArgs, escapeFilterValue, keyframeExpr, FfmpegBuildError } from './ffmpeg-args.ts';
import { RenderSpec, DEFAULT_SUBTITLE_STYLE } from './schema.ts';
import { cropAt } from './crop.ts';

const src = { id: 's1', key: 'a/src.mp4', kind: 'video', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 300, durationUs: 10_000_000, hasAudio: true, sha256: null } as const;

function spec(over: Partial<Record<string, unknown>> = {}) {
  return RenderSpec.parse({
    version: 1,
    output: { width: 1080, height: 1920, fps: { num: 30, den: 1 }, durationFrames: 75, video: { codec: 'h264', crf: 20, preset: 'veryfast' }, audio: { codec: 'aac', bitrateKbps: 192, sampleRate: 48000 }, gop: 60 },
    sources: [src],
    clips: [{ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90, volume: 1, crop: [] }],
    subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: [] },
    overlays: [],
    music: null,
    ...over,
  });
}

const OUT_TAIL = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-r', '30/1', '-c:a', 'aac', '-b:a', '192k', '-ar', '48000', '-ac', '2', '-movflags', '+faststart'];
const FMT = 'aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo';

describe('buildFfmpegCommand (cpu)', () => {
  it('a trimmed clip: seeks half a frame early, cuts by frame and sample count, centre-crops to 9:16', () => {
    const args = commandToArgs(buildFfmpegCommand({ spec: spec(), target: 'cpu', inputs: { s1: '/m/src.mp4' }, assPath: null, fontsDir: '/f', outputPath: '/o/out.mp4' }));
    expect(args).toEqual([
      '-hide_banner', '-nostdin', '-y',
      '-ss', '0.483333', '-t', '2.6', '-i', '/m/src.mp4',
      '-filter_complex',
      [
        '[0:v]trim=end_frame=75,setpts=PTS-STARTPTS,crop=608:1080:656:0,scale=1080:1920:flags=bicubic,setsar=1,format=yuv420p[v0]',
        `[0:a]aresample=48000,${FMT},atrim=start_sample=800:end_sample=120800,asetpts=PTS-STARTPTS[a0]`,
        '[v0][a0]concat=n=1:v=1:a=1[vcat][acat]',
      ].join(';'),
      '-map', '[vcat]', '-map', '[acat]', ...OUT_TAIL, '/o/out.mp4',
    ]);
  });

  it('a clip from frame 0 has no seek; gaps are black and silent for their exact length', () => {
    const s = spec({ output: { ...spec().output, durationFrames: 40 }, clips: [{ id: 'c1', sourceId: 's1', start: 10, sourceIn: 0, sourceOut: 30, volume: 0.5, crop: [] }] });
    const cmd = buildFfmpegCommand({ spec: s, target: 'cpu', inputs: { s1: '/m/src.mp4' }, assPath: null, fontsDir: '/f', outputPath: '/o.mp4' });
    expect(cmd.inputs).toEqual([{ options: ['-t', '1.1'], path: '/m/src.mp4' }]);
    expect(cmd.filterComplex.split(';')).toEqual([
      'color=c=black:s=1080x1920:r=30/1,trim=end_frame=10,setsar=1,format=yuv420p[v0]',
      `anullsrc=r=48000:cl=stereo,${FMT},atrim=end_sample=16000[a0]`,
      '[0:v]trim=end_frame=30,setpts=PTS-STARTPTS,crop=608:1080:656:0,scale=1080:1920:flags=bicubic,setsar=1,format=yuv420p[v1]',
      `[0:a]aresample=48000,${FMT},atrim=start_sample=0:end_sample=48000,asetpts=PTS-STARTPTS,volume=0.5[a1]`,
      '[v0][a0][v1][a1]concat=n=2:v=1:a=1[vcat][acat]',
    ]);
  });

  it('pan keyframes become a per-frame crop expression that matches cropAt exactly', () => {
    const crop = [
      { frame: 0, x: 0, y: 0, w: 608, h: 1080 },
      { frame: 30, x: 1311, y: 0, w: 608, h: 1080 },
    ];
    const s = spec({ clips: [{ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90, volume: 1, crop }] });
    const cmd = buildFfmpegCommand({ spec: s, target: 'cpu', inputs: { s1: '/m/src.mp4' }, assPath: null, fontsDir: '/f', outputPath: '/o.mp4' });
    const expr = keyframeExpr(crop, 'x', 'n', 0);
    expect(expr).toBe('2*floor((lt(n,0)*0+between(n,0,29)*(0+(1311)*(n-0)/30)+gte(n,30)*1311)/2)');
    expect(cmd.filterComplex).toContain(`crop=w=608:h=1080:x='${expr}':y='0':exact=1`);
    // Evaluate the expression as ffmpeg would and compare with cropAt for every frame.
    for (let n = 0; n < 40; n++) {
      const evaluated = 2 * Math.floor(((n < 0 ? 1 : 0) * 0 + (n >= 0 && n <= 29 ? 1 : 0) * (0 + (1311 * (n - 0)) / 30) + (n >= 30 ? 1 : 0) * 1311) / 2);
      expect(evaluated).toBe(cropAt(crop, n, 1920, 1080, 1080, 1920).x);
    }
  });

  it('a chunk range offsets keyframe expressions and seeks into the clip', () => {
    const crop = [
      { frame: 0, x: 0, y: 0, w: 608, h: 1080 },
      { frame: 60, x: 1200, y: 0, w: 608, h: 1080 },
    ];
    const s = spec({ clips: [{ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90, volume: 1, crop }] });
    const cmd = buildFfmpegCommand({ spec: s, target: 'cpu', inputs: { s1: '/m/src.mp4' }, assPath: null, fontsDir: '/f', outputPath: '/o.mp4', range: { start: 60, end: 75 }, audio: 'none' });
    expect(cmd.inputs[0]!.options).toEqual(['-ss', '2.483333', '-t', '0.6']);
    expect(cmd.filterComplex).toContain("x='2*floor((lt((n+60),0)*0+between((n+60),0,59)*(0+(1200)*((n+60)-0)/60)+gte((n+60),60)*1200)/2)'");
    expect(cmd.filterComplex.endsWith('[v0]concat=n=1:v=1:a=0[vcat]')).toBe(true);
    expect(cmd.outputOptions.slice(0, 2)).toEqual(['-map', '[vcat]']);
    expect(cmd.outputOptions).not.toContain('-c:a');
  });

  it('changing crop size uses perspective with the same interpolation', () => {
    const crop = [
      { frame: 0, x: 0, y: 0, w: 608, h: 1080 },
      { frame: 10, x: 100, y: 100, w: 304, h: 540 },
    ];
    const s = spec({ clips: [{ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90, volume: 1, crop }] });
    const fc = buildFfmpegCommand({ spec: s, target: 'cpu', inputs: { s1: '/m/src.mp4' }, assPath: null, fontsDir: '/f', outputPath: '/o.mp4' }).filterComplex;
    expect(fc).toMatch(/perspective=x0='2\*floor\(.*\)':y0='.*':sense=source:eval=frame,scale=1080:1920/);
    expect(fc).toContain('between(in,0,9)*(608+(-304)*(in-0)/10)');
  });

  it('subtitles (escaped paths), a logo overlay and music', () => {
    const s = spec({
      sources: [src, { id: 'logo', key: 'a/logo.png', kind: 'image', width: 200, height: 100, fps: null, durationFrames: null, durationUs: 0, hasAudio: false, sha256: null }, { id: 'm', key: 'a/m.mp3', kind: 'audio', width: 0, height: 0, fps: null, durationFrames: null, durationUs: 9e6, hasAudio: true, sha256: null }],
      overlays: [{ id: 'o', kind: 'image', sourceId: 'logo', start: 0, end: 30, x: 0.05, y: 0.05, w: 0.2, h: 0.05, opacity: 0.5 }],
      music: { sourceId: 'm', volume: 0.3, start: 15 },
      subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: [{ id: 'q', start: 0, end: 30, text: 'x' }] },
    });
    const cmd = buildFfmpegCommand({ spec: s, target: 'cpu', inputs: { s1: '/m/src.mp4', logo: '/m/logo.png', m: '/m/m.mp3' }, assPath: "/tmp/a b/it's:1.ass", fontsDir: '/f,o', outputPath: '/o.mp4' });
    const parts = cmd.filterComplex.split(';');
    expect(parts.slice(3)).toEqual([
      "[vcat]subtitles=filename=/tmp/a b/it\\\\\\'s\\\\:1.ass:fontsdir=/f\\,o[vsub]",
      '[1:v]format=rgba,scale=216:96,colorchannelmixer=aa=0.5[ov0]',
      "[vsub][ov0]overlay=x=54:y=96:enable='between(n,0,29)':eof_action=repeat,format=yuv420p[vo0]",
      `[2:a]aresample=48000,${FMT},volume=0.3,adelay=500|500,apad,atrim=end_sample=120000[mus]`,
      '[acat][mus]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[amix]',
    ]);
    expect(cmd.inputs.map((i) => i.path)).toEqual(['/m/src.mp4', '/m/logo.png', '/m/m.mp3']);
    expect(cmd.outputOptions.slice(0, 4)).toEqual(['-map', '[vo0]', '-map', '[amix]']);
  });

  it('wasm needs threads and uses ultrafast; cuda decodes on the GPU and may use nvenc', () => {
    expect(() => buildFfmpegCommand({ spec: spec(), target: 'wasm', inputs: { s1: 'in.mp4' }, assPath: null, fontsDir: '/f', outputPath: 'o.mp4' })).toThrow(FfmpegBuildError);
    const wasm = buildFfmpegCommand({ spec: spec(), target: 'wasm', threads: 4, inputs: { s1: 'in.mp4' }, assPath: null, fontsDir: '/f', outputPath: 'o.mp4' });
    expect(wasm.outputOptions).toEqual(expect.arrayContaining(['-preset', 'ultrafast', '-threads', '4']));
    const cuda = buildFfmpegCommand({ spec: spec(), target: 'cuda', videoEncoder: 'h264_nvenc', inputs: { s1: 'in.mp4' }, assPath: null, fontsDir: '/f', outputPath: 'o.mp4' });
    expect(cuda.inputs[0]!.options.slice(0, 4)).toEqual(['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda']);
    expect(cuda.filterComplex.startsWith('[0:v]hwdownload,format=nv12,trim=end_frame=75')).toBe(true);
    expect(cuda.outputOptions).toEqual(expect.arrayContaining(['-c:v', 'h264_nvenc', '-preset', 'p4', '-cq', '20']));
  });

  it('refuses ranges outside the timeline and missing inputs', () => {
    expect(() => buildFfmpegCommand({ spec: spec(), target: 'cpu', inputs: { s1: 'x' }, assPath: null, fontsDir: '/f', outputPath: 'o', range: { start: 70, end: 80 } })).toThrow(/invalid range/);
    expect(() => buildFfmpegCommand({ spec: spec(), target: 'cpu', inputs: {}, assPath: null, fontsDir: '/f', outputPath: 'o' })).toThrow(/no local file/);
  });
});

describe('escapeFilterValue', () => {
  it('escapes both levels', () => {
    expect(escapeFilterValue('plain/path.ass')).toBe('plain/path.ass');
    expect(escapeFilterValue("a:b'c\\d[e],f;g")).toBe("a\\\\:b\\\\\\'c\\\\\\\\d\\[e\\]\\,f\\;g");
  });
});
