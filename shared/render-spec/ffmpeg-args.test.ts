import { describe, expect, it } from 'vitest';
import { buildFfmpegCommand, commandToArgs, escapeFilterValue, FfmpegBuildError, keyframeExpr, planSegments, type BuildCommandInput } from './ffmpeg-args.ts';
import { DEFAULT_SUBTITLE_STYLE, RenderSpec } from './schema.ts';
import { cropAt } from './crop.ts';
import { sourceFrameAt } from './time.ts';

const src = { id: 's1', key: 'a/src.mp4', kind: 'video', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 300, durationUs: 10_000_000, hasAudio: true, sha256: null } as const;
const logo = { id: 'logo', key: 'a/logo.png', kind: 'image', width: 200, height: 100, fps: null, durationFrames: null, durationUs: 0, hasAudio: false, sha256: null } as const;
const music = { id: 'm', key: 'a/m.mp3', kind: 'audio', width: 0, height: 0, fps: null, durationFrames: null, durationUs: 9_000_000, hasAudio: true, sha256: null } as const;
const OUTPUT = { width: 1080, height: 1920, fps: { num: 30, den: 1 }, durationFrames: 75, video: { codec: 'h264', crf: 20, preset: 'veryfast' }, audio: { codec: 'aac', bitrateKbps: 192, sampleRate: 48000 }, gop: 60 } as const;

function spec(over: Partial<Record<string, unknown>> = {}): RenderSpec {
  return RenderSpec.parse({
    version: 1,
    output: OUTPUT,
    sources: [src, logo, music],
    clips: [{ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90, volume: 1, crop: [] }],
    subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: [] },
    overlays: [],
    music: null,
    ...over,
  });
}

function args(s: RenderSpec, over: Partial<BuildCommandInput> = {}): string[] {
  return commandToArgs(buildFfmpegCommand({ spec: s, target: 'cpu', inputs: { s1: '/m/src.mp4', logo: '/m/logo.png', m: '/m/m.mp3' }, assPath: null, fontsDir: '/f', outputPath: '/o/out.mp4', ...over }));
}

const GLOBAL = ['-hide_banner', '-nostdin', '-y'];
const FMT = 'aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo';
const CENTRE_9x16 = 'crop=w=608:h=1080:x=656:y=0:exact=1';
const TO_OUTPUT = 'scale=1080:1920:flags=bicubic,setsar=1,format=yuv420p';
const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20'];
const VIDEO_OUT = ['-pix_fmt', 'yuv420p', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-r', '30/1'];
const AAC = ['-c:a', 'aac', '-b:a', '192k', '-ar', '48000', '-ac', '2'];
const AV_MAPS = ['-map', '[v]', '-map', '[a]'];

/** Evaluates one of our crop expressions the way ffmpeg's evaluator does (same double arithmetic). */
function evalExpr(expr: string, vars: Record<string, number>): number {
  const js = expr.replace(/\b(n|in)\b/g, (v) => `vars.${v}`);
  const fns = { lt: (a: number, b: number) => (a < b ? 1 : 0), gte: (a: number, b: number) => (a >= b ? 1 : 0), between: (x: number, a: number, b: number) => (x >= a && x <= b ? 1 : 0), floor: Math.floor };
  return new Function('vars', 'lt', 'gte', 'between', 'floor', `return ${js};`)(vars, fns.lt, fns.gte, fns.between, fns.floor) as number;
}

describe('buildFfmpegCommand (cpu): exact argument lists', () => {
  it('one clip over the whole timeline: no seek, centred 9:16 crop, concat into [v][a]', () => {
    const s = spec({ output: { ...OUTPUT, durationFrames: 90 }, clips: [{ id: 'c1', sourceId: 's1', start: 0, sourceIn: 0, sourceOut: 90, volume: 1, crop: [] }] });
    expect(args(s)).toEqual([
      ...GLOBAL,
      '-t', '3.1', '-i', '/m/src.mp4',
      '-filter_complex',
      [
        `[0:v]trim=end_frame=90,setpts=PTS-STARTPTS,${CENTRE_9x16},${TO_OUTPUT}[v0]`,
        `[0:a]aresample=48000,${FMT},apad,atrim=start_sample=0:end_sample=144000,asetpts=PTS-STARTPTS[a0]`,
        '[v0][a0]concat=n=1:v=1:a=1[v][a]',
      ].join(';'),
      ...AV_MAPS, ...X264, ...VIDEO_OUT, ...AAC, '-movflags', '+faststart', '/o/out.mp4',
    ]);
  });

  it('a trimmed clip (sourceIn 15): seeks to 14.5/30 s, cuts 75 frames and 120000 samples after half a frame', () => {
    expect(args(spec())).toEqual([
      ...GLOBAL,
      '-ss', '0.483333', '-t', '2.6', '-i', '/m/src.mp4',
      '-filter_complex',
      [
        `[0:v]trim=end_frame=75,setpts=PTS-STARTPTS,${CENTRE_9x16},${TO_OUTPUT}[v0]`,
        `[0:a]aresample=48000,${FMT},apad,atrim=start_sample=800:end_sample=120800,asetpts=PTS-STARTPTS[a0]`,
        '[v0][a0]concat=n=1:v=1:a=1[v][a]',
      ].join(';'),
      ...AV_MAPS, ...X264, ...VIDEO_OUT, ...AAC, '-movflags', '+faststart', '/o/out.mp4',
    ]);
  });

  it('two clips with a gap: black video and silence of the exact length in between', () => {
    const s = spec({
      output: { ...OUTPUT, durationFrames: 70 },
      clips: [
        { id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 45, volume: 1, crop: [] },
        { id: 'c2', sourceId: 's1', start: 40, sourceIn: 0, sourceOut: 30, volume: 0.5, crop: [] },
      ],
    });
    expect(args(s)).toEqual([
      ...GLOBAL,
      '-ss', '0.483333', '-t', '1.1', '-i', '/m/src.mp4',
      '-t', '1.1', '-i', '/m/src.mp4',
      '-filter_complex',
      [
        `[0:v]trim=end_frame=30,setpts=PTS-STARTPTS,${CENTRE_9x16},${TO_OUTPUT}[v0]`,
        `[0:a]aresample=48000,${FMT},apad,atrim=start_sample=800:end_sample=48800,asetpts=PTS-STARTPTS[a0]`,
        'color=c=black:s=1080x1920:r=30/1,trim=end_frame=10,setsar=1,format=yuv420p[v1]',
        `anullsrc=r=48000:cl=stereo,${FMT},atrim=end_sample=16000[a1]`,
        `[1:v]trim=end_frame=30,setpts=PTS-STARTPTS,${CENTRE_9x16},${TO_OUTPUT}[v2]`,
        `[1:a]aresample=48000,${FMT},apad,atrim=start_sample=0:end_sample=48000,asetpts=PTS-STARTPTS,volume=0.5[a2]`,
        '[v0][a0][v1][a1][v2][a2]concat=n=3:v=1:a=1[v][a]',
      ].join(';'),
      ...AV_MAPS, ...X264, ...VIDEO_OUT, ...AAC, '-movflags', '+faststart', '/o/out.mp4',
    ]);
  });

  it('pan keyframes: a per-frame crop x expression that reproduces cropAt on every frame', () => {
    const crop = [
      { frame: 0, x: 0, y: 0, w: 608, h: 1080 },
      { frame: 30, x: 1311, y: 0, w: 608, h: 1080 },
    ];
    const x = '2*floor((lt(n,0)*0+between(n,0,29)*(0+(1311)*(n-0)/30)+gte(n,30)*1311)/2)';
    expect(args(spec({ clips: [{ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90, volume: 1, crop }] }))).toEqual([
      ...GLOBAL,
      '-ss', '0.483333', '-t', '2.6', '-i', '/m/src.mp4',
      '-filter_complex',
      [
        `[0:v]trim=end_frame=75,setpts=PTS-STARTPTS,crop=w=608:h=1080:x='${x}':y='0':exact=1,${TO_OUTPUT}[v0]`,
        `[0:a]aresample=48000,${FMT},apad,atrim=start_sample=800:end_sample=120800,asetpts=PTS-STARTPTS[a0]`,
        '[v0][a0]concat=n=1:v=1:a=1[v][a]',
      ].join(';'),
      ...AV_MAPS, ...X264, ...VIDEO_OUT, ...AAC, '-movflags', '+faststart', '/o/out.mp4',
    ]);
    for (let n = 0; n < 75; n++) expect(evalExpr(x, { n })).toBe(cropAt(crop, n, 1920, 1080, 1080, 1920).x);
  });

  it('keyframes of changing size: perspective (1-based `in`) then scale, same interpolation as cropAt', () => {
    const crop = [
      { frame: 0, x: 0, y: 0, w: 608, h: 1080 },
      { frame: 10, x: 101, y: 100, w: 304, h: 540 },
    ];
    const lerp = (f: 'x' | 'y' | 'w' | 'h', a: number, b: number) =>
      `2*floor((lt((in-1),0)*${a}+between((in-1),0,9)*(${a}+(${b - a})*((in-1)-0)/10)+gte((in-1),10)*${b})/2)`;
    const [x, y, w, h] = [lerp('x', 0, 101), lerp('y', 0, 100), lerp('w', 608, 304), lerp('h', 1080, 540)];
    const perspective = `perspective=x0='${x}':y0='${y}':x1='${x}+${w}':y1='${y}':x2='${x}':y2='${y}+${h}':x3='${x}+${w}':y3='${y}+${h}':sense=source:eval=frame`;
    expect(args(spec({ clips: [{ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90, volume: 1, crop }] }))).toEqual([
      ...GLOBAL,
      '-ss', '0.483333', '-t', '2.6', '-i', '/m/src.mp4',
      '-filter_complex',
      [
        `[0:v]trim=end_frame=75,setpts=PTS-STARTPTS,${perspective},${TO_OUTPUT}[v0]`,
        `[0:a]aresample=48000,${FMT},apad,atrim=start_sample=800:end_sample=120800,asetpts=PTS-STARTPTS[a0]`,
        '[v0][a0]concat=n=1:v=1:a=1[v][a]',
      ].join(';'),
      ...AV_MAPS, ...X264, ...VIDEO_OUT, ...AAC, '-movflags', '+faststart', '/o/out.mp4',
    ]);
    for (let n = 0; n < 20; n++) {
      const r = cropAt(crop, n, 1920, 1080, 1080, 1920);
      expect([x, y, w, h].map((e) => evalExpr(e, { in: n + 1 }))).toEqual([r.x, r.y, r.w, r.h]);
    }
  });

  it('subtitles (escaped paths), a logo overlay and music', () => {
    const s = spec({
      overlays: [{ id: 'o', kind: 'image', sourceId: 'logo', start: 0, end: 30, x: 0.05, y: 0.05, w: 0.2, h: 0.05, opacity: 0.5 }],
      music: { sourceId: 'm', volume: 0.3, start: 15 },
      subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: [{ id: 'q', start: 0, end: 30, text: "it's [a];b" }] },
    });
    expect(args(s, { assPath: "/tmp/a b/it's:1.ass", fontsDir: '/f,o' })).toEqual([
      ...GLOBAL,
      '-ss', '0.483333', '-t', '2.6', '-i', '/m/src.mp4',
      '-i', '/m/logo.png',
      '-i', '/m/m.mp3',
      '-filter_complex',
      [
        `[0:v]trim=end_frame=75,setpts=PTS-STARTPTS,${CENTRE_9x16},${TO_OUTPUT}[v0]`,
        `[0:a]aresample=48000,${FMT},apad,atrim=start_sample=800:end_sample=120800,asetpts=PTS-STARTPTS[a0]`,
        '[v0][a0]concat=n=1:v=1:a=1[vcat][acat]',
        "[vcat]subtitles=filename=/tmp/a b/it\\\\\\'s\\\\:1.ass:fontsdir=/f\\,o[vsub]",
        '[1:v]format=rgba,scale=216:96,colorchannelmixer=aa=0.5[ov0]',
        "[vsub][ov0]overlay=x=54:y=96:eof_action=repeat:enable='between(n,0,29)',format=yuv420p[v]",
        `[2:a]aresample=48000,${FMT},volume=0.3,adelay=delays=24000S:all=1,apad,atrim=end_sample=120000[mus]`,
        '[acat][mus]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[a]',
      ].join(';'),
      ...AV_MAPS, ...X264, ...VIDEO_OUT, ...AAC, '-movflags', '+faststart', '/o/out.mp4',
    ]);
    // The cue text never reaches the command line: it lives in the ASS file only.
    expect(args(s, { assPath: '/w/s.ass' }).join(' ')).not.toContain("it's");
  });

  it('a chunk [45, 90): seeks into the clip, offsets crop expressions, shifts subtitle time, windows overlays', () => {
    const s = spec({
      output: { ...OUTPUT, durationFrames: 90 },
      clips: [{ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 75, volume: 1, crop: [{ frame: 0, x: 0, y: 0, w: 608, h: 1080 }, { frame: 60, x: 1200, y: 0, w: 608, h: 1080 }] }],
      subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: [{ id: 'q', start: 50, end: 70, text: 'x' }] },
      overlays: [{ id: 'o', kind: 'image', sourceId: 'logo', start: 40, end: 70, x: 0, y: 0, w: 0.2, h: 0.05, opacity: 1 }],
      music: { sourceId: 'm', volume: 1, start: 10 },
    });
    const x = '2*floor((lt((n+45),0)*0+between((n+45),0,59)*(0+(1200)*((n+45)-0)/60)+gte((n+45),60)*1200)/2)';
    expect(args(s, { range: { start: 45, end: 90 }, assPath: '/w/subs.ass', audio: 'none' })).toEqual([
      ...GLOBAL,
      '-ss', '1.983333', '-t', '0.6', '-i', '/m/src.mp4',
      '-i', '/m/logo.png',
      '-filter_complex',
      [
        `[0:v]trim=end_frame=15,setpts=PTS-STARTPTS,crop=w=608:h=1080:x='${x}':y='0':exact=1,${TO_OUTPUT}[v0]`,
        'color=c=black:s=1080x1920:r=30/1,trim=end_frame=30,setsar=1,format=yuv420p[v1]',
        '[v0][v1]concat=n=2:v=1:a=0[vcat]',
        '[vcat]setpts=PTS+45/30/TB,subtitles=filename=/w/subs.ass:fontsdir=/f,setpts=PTS-STARTPTS[vsub]',
        '[1:v]format=rgba,scale=216:96[ov0]',
        "[vsub][ov0]overlay=x=0:y=0:eof_action=repeat:enable='between(n,0,24)',format=yuv420p[v]",
      ].join(';'),
      '-map', '[v]', ...X264, ...VIDEO_OUT, '-frames:v', '45', '-movflags', '+faststart', '/o/out.mp4',
    ]);
    for (let n = 0; n < 15; n++) expect(evalExpr(x, { n })).toBe(cropAt(s.clips[0]!.crop, 45 + n, 1920, 1080, 1080, 1920).x);
  });

  it('a chunk with music starting before it seeks the music instead of delaying it', () => {
    const s = spec({ music: { sourceId: 'm', volume: 1, start: 10 } });
    const fc = buildFfmpegCommand({ spec: s, target: 'cpu', inputs: { s1: '/m/src.mp4', m: '/m/m.mp3' }, assPath: null, fontsDir: '/f', outputPath: '/o.mp4', range: { start: 40, end: 75 } });
    expect(fc.inputs[1]).toEqual({ options: ['-ss', '1'], path: '/m/m.mp3' });
    expect(fc.filterComplex.split(';').at(-2)).toBe(`[1:a]aresample=48000,${FMT},volume=1,apad,atrim=end_sample=56000[mus]`);
  });

  it('a 24 fps source in a 30 fps chunk: each source frame stamped with its first output frame, then fps', () => {
    const s = spec({ sources: [{ ...src, fps: { num: 24, den: 1 } }], clips: [{ id: 'c1', sourceId: 's1', start: 0, sourceIn: 10, sourceOut: 70, volume: 1, crop: [] }] });
    expect(args(s, { range: { start: 30, end: 75 } })).toEqual([
      ...GLOBAL,
      // first frame on screen: 10 + floor(30 * 24 / 30) = 34; seek to 33.5 / 24 s
      '-ss', '1.395833', '-t', '1.625', '-i', '/m/src.mp4',
      '-filter_complex',
      [
        `[0:v]setpts='max(0,floor(((N+24)*5+3)/4)-30)*1/30/TB',fps=30/1,trim=end_frame=45,setpts=PTS-STARTPTS,${CENTRE_9x16},${TO_OUTPUT}[v0]`,
        // audio of output frame 30 = source time 10/24 + 1 s, half a 24 fps frame (1000 samples) after the seek
        `[0:a]aresample=48000,${FMT},apad,atrim=start_sample=1000:end_sample=73000,asetpts=PTS-STARTPTS[a0]`,
        '[v0][a0]concat=n=1:v=1:a=1[v][a]',
      ].join(';'),
      ...AV_MAPS, ...X264, ...VIDEO_OUT, ...AAC, '-movflags', '+faststart', '/o/out.mp4',
    ]);
    // The stamp expression agrees with sourceFrameAt: output frame k shows the last source frame stamped <= k.
    const stamp = (j: number) => Math.max(0, Math.floor(((j + 24) * 5 + 3) / 4) - 30);
    for (let k = 0; k < 45; k++) {
      let shown = -1;
      for (let j = 0; stamp(j) <= k; j++) shown = j;
      expect(10 + 24 + shown).toBe(10 + sourceFrameAt(30 + k, { num: 24, den: 1 }, { num: 30, den: 1 }));
    }
  });

  it('wasm: the same graph with ultrafast and an explicit thread count', () => {
    const cmd = buildFfmpegCommand({ spec: spec(), target: 'wasm', threads: 4, inputs: { s1: 'in.mp4' }, assPath: null, fontsDir: '/f', outputPath: 'out.mp4' });
    expect(commandToArgs(cmd)).toEqual([
      ...GLOBAL,
      '-ss', '0.483333', '-t', '2.6', '-i', 'in.mp4',
      '-filter_complex',
      [
        `[0:v]trim=end_frame=75,setpts=PTS-STARTPTS,${CENTRE_9x16},${TO_OUTPUT}[v0]`,
        `[0:a]aresample=48000,${FMT},apad,atrim=start_sample=800:end_sample=120800,asetpts=PTS-STARTPTS[a0]`,
        '[v0][a0]concat=n=1:v=1:a=1[v][a]',
      ].join(';'),
      ...AV_MAPS, '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '20', ...VIDEO_OUT, ...AAC, '-threads', '4', '-movflags', '+faststart', 'out.mp4',
    ]);
    expect(() => buildFfmpegCommand({ spec: spec(), target: 'wasm', inputs: { s1: 'in.mp4' }, assPath: null, fontsDir: '/f', outputPath: 'o.mp4' })).toThrow(FfmpegBuildError);
  });

  it('cuda: GPU decode of clip inputs, download to nv12 before CPU filters, nvenc when asked', () => {
    expect(args(spec(), { target: 'cuda', videoEncoder: 'h264_nvenc' })).toEqual([
      ...GLOBAL,
      '-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda', '-ss', '0.483333', '-t', '2.6', '-i', '/m/src.mp4',
      '-filter_complex',
      [
        `[0:v]hwdownload,format=nv12,trim=end_frame=75,setpts=PTS-STARTPTS,${CENTRE_9x16},${TO_OUTPUT}[v0]`,
        `[0:a]aresample=48000,${FMT},apad,atrim=start_sample=800:end_sample=120800,asetpts=PTS-STARTPTS[a0]`,
        '[v0][a0]concat=n=1:v=1:a=1[v][a]',
      ].join(';'),
      ...AV_MAPS, '-c:v', 'h264_nvenc', '-preset', 'p4', '-rc', 'vbr', '-cq', '20', '-b:v', '0', '-no-scenecut', '1', ...VIDEO_OUT, ...AAC, '-movflags', '+faststart', '/o/out.mp4',
    ]);
    expect(args(spec(), { target: 'cuda' })).toEqual(expect.arrayContaining(['-c:v', 'libx264', '-crf', '20']));
  });

  it('video only caps the output with -frames:v; a source without audio gets exact silence', () => {
    const s = spec({ sources: [{ ...src, hasAudio: false }] });
    expect(args(s, { audio: 'none' }).slice(-6)).toEqual(['-r', '30/1', '-frames:v', '75', '-movflags', '+faststart', '/o/out.mp4'].slice(-6));
    expect(buildFfmpegCommand({ spec: s, target: 'cpu', inputs: { s1: '/m/src.mp4' }, assPath: null, fontsDir: '/f', outputPath: '/o.mp4' }).filterComplex.split(';')[1]).toBe(
      `anullsrc=r=48000:cl=stereo,${FMT},atrim=end_sample=120000[a0]`,
    );
  });

  it('refuses ranges outside the timeline and missing inputs; pins protocol-looking paths to file:', () => {
    expect(() => args(spec(), { range: { start: 70, end: 80 } })).toThrow(/invalid range 70..80 for 75 frames/);
    expect(() => args(spec(), { range: { start: 10, end: 10 } })).toThrow(FfmpegBuildError);
    expect(() => buildFfmpegCommand({ spec: spec(), target: 'cpu', inputs: {}, assPath: null, fontsDir: '/f', outputPath: 'o' })).toThrow(/no local file for source s1/);
    const cmd = buildFfmpegCommand({ spec: spec(), target: 'cpu', inputs: { s1: 'concat:a.mp4|b.mp4' }, assPath: null, fontsDir: '/f', outputPath: 'http:x.mp4' });
    expect([cmd.inputs[0]!.path, cmd.outputPath]).toEqual(['file:concat:a.mp4|b.mp4', 'file:http:x.mp4']);
  });
});

describe('planSegments', () => {
  it('covers a range exactly with clips and gaps', () => {
    const s = spec({
      output: { ...OUTPUT, durationFrames: 70 },
      clips: [
        { id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 45, volume: 1, crop: [] },
        { id: 'c2', sourceId: 's1', start: 40, sourceIn: 0, sourceOut: 30, volume: 1, crop: [] },
      ],
    });
    expect(planSegments(s, 20, 50).map((g) => (g.kind === 'gap' ? ['gap', g.length] : [g.clip.id, g.offset, g.length]))).toEqual([
      ['c1', 20, 10],
      ['gap', 10],
      ['c2', 0, 10],
    ]);
  });
});

describe('keyframeExpr', () => {
  it('is a constant when the field never changes, and handles negative offsets', () => {
    const kfs = [
      { frame: 0, x: 10, y: 0, w: 608, h: 1080 },
      { frame: 5, x: 11, y: 0, w: 608, h: 1080 },
    ];
    expect(keyframeExpr(kfs, 'x', 'n', 0)).toBe('10'); // 10 and 11 are both 10 once even
    expect(keyframeExpr([{ frame: 0, x: 0, y: 0, w: 2, h: 2 }, { frame: 2, x: 4, y: 0, w: 2, h: 2 }], 'x', 'in', -1)).toBe(
      '2*floor((lt((in-1),0)*0+between((in-1),0,1)*(0+(4)*((in-1)-0)/2)+gte((in-1),2)*4)/2)',
    );
  });
});

describe('escapeFilterValue', () => {
  it('escapes the option level, then the filtergraph level', () => {
    expect(escapeFilterValue('plain/path.ass')).toBe('plain/path.ass');
    expect(escapeFilterValue("a:b'c\\d[e],f;g")).toBe("a\\\\:b\\\\\\'c\\\\\\\\d\\[e\\]\\,f\\;g");
    // ffmpeg-filters' own example: this is the text "this is a 'string': may contain one, or more, special characters"
    expect(escapeFilterValue("this is a 'string': may contain one, or more, special characters")).toBe(
      "this is a \\\\\\'string\\\\\\'\\\\: may contain one\\, or more\\, special characters",
    );
  });
  it('keeps whitespace at the ends, which both levels would otherwise trim', () => {
    // option level: "\ a b\ "; graph level escapes those backslashes and the now-trailing space
    expect(escapeFilterValue(' a b ')).toBe('\\\\ a b\\\\\\ ');
  });
});
