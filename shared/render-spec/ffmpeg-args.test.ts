import { inputOptionsFor } from '../media/ingest.ts';
import { describe, expect, it } from 'vitest';
import { buildFfmpegCommand, commandToArgs, escapeFilterValue, FfmpegBuildError, keyframeExpr, type BuildCommandInput, type FfmpegCommand } from './ffmpeg-args.ts';
import { DEFAULT_TEXT_STYLE, IDENTITY_TRANSFORM, SOCIAL_LOUDNESS, type RenderSpec, type Transition } from './schema.ts';
import { audioClip, audioSource, imageClip, imageSource, specOf, textClip, track, videoClip, videoSource } from './fixtures.ts';
import { layerFrame, layerGeometry, overlayPosition, planLayers, visualLayers } from './layers.ts';
import { clipSourceFrame } from './time.ts';

const src = videoSource('s1', 'a/src.mp4', { width: 1920, height: 1080, frames: 300, hasAudio: true });
const film = videoSource('f24', 'a/film.mp4', { width: 1920, height: 1080, fps: 24, frames: 240, hasAudio: false });
const logo = imageSource('logo', 'a/logo.png', 200, 100);
const song = audioSource('m', 'a/m.mp3', 9);
const INPUTS = { s1: '/m/src.mp4', f24: '/m/film.mp4', logo: '/m/logo.png', m: '/m/m.mp3' };

function spec(o: Partial<Parameters<typeof specOf>[0]> = {}): RenderSpec {
  return specOf({ width: 1080, height: 1920, durationFrames: 75, sources: [src, film, logo, song], tracks: [track('v1'), track('v2'), track('a1', 'audio')], clips: [videoClip({ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90 })], crf: 20, gop: 60, ...o });
}

function build(s: RenderSpec, over: Partial<BuildCommandInput> = {}): FfmpegCommand {
  return buildFfmpegCommand({ spec: s, target: 'cpu', inputs: INPUTS, workDir: '/w', fontsDir: '/f', outputPath: '/o/out.mp4', ...over });
}

const chains = (c: FfmpegCommand) => c.filterComplex.split(';');
const FMT = 'aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo';

/** Evaluates one of our ffmpeg expressions the way ffmpeg's evaluator does (same double arithmetic). */
function evalExpr(expr: string, vars: Record<string, number>): number {
  const js = expr.replace(/\b(n|in|t)\b/g, (v) => `vars.${v}`);
  const fns = {
    lt: (a: number, b: number) => (a < b ? 1 : 0),
    gte: (a: number, b: number) => (a >= b ? 1 : 0),
    between: (x: number, a: number, b: number) => (x >= a && x <= b ? 1 : 0),
    floor: Math.floor,
    round: Math.round,
    cos: Math.cos,
    sin: Math.sin,
    max: Math.max,
  };
  return new Function('vars', ...Object.keys(fns), `return ${js};`)(vars, ...Object.values(fns)) as number;
}

/** What every input opens with when its container is not known yet: both whitelists (media/ingest.ts). */
const OPEN = inputOptionsFor(null);

describe('buildFfmpegCommand (cpu): exact argument lists', () => {
  it('one trimmed clip: seeks half a frame early, the canvas, one layer, exact samples', () => {
    const c = build(spec());
    expect(commandToArgs(c)).toEqual([
      '-hide_banner', '-nostdin', '-y',
      ...OPEN, '-ss', '0.483333', '-t', '2.6', '-i', '/m/src.mp4',
      ...OPEN, '-ss', '0.5', '-t', '2.7', '-i', '/m/src.mp4',
      '-filter_complex',
      [
        'color=c=black:s=1080x1920:r=30/1,trim=end_frame=75,setsar=1,format=yuv420p[canvas0]',
        '[0:v]tpad=stop_mode=clone:stop=75,trim=end_frame=75,crop=w=608:h=1080:x=656:y=0:exact=1,scale=1080:1920:flags=bicubic,setsar=1,format=yuv420p,settb=1/30,setpts=N[layer1]',
        '[canvas0][layer1]overlay=x=0:y=0:eof_action=pass:format=yuv420[comp2]',
        '[comp2]format=yuv420p[v]',
        `[1:a]aresample=48000,${FMT},asetpts=N/SR/TB,apad,atrim=end_sample=120000[aclip3]`,
        '[aclip3]apad,atrim=end_sample=120000[bus4]',
        '[bus4]anull[a]',
      ].join(';'),
      '-map', '[v]', '-map', '[a]',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '20', '-pix_fmt', 'yuv420p', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-r', '30/1',
      '-c:a', 'aac', '-b:a', '96k', '-ar', '48000', '-ac', '2', '-movflags', '+faststart', '/o/out.mp4',
    ]);
    expect(c.files).toEqual([]);
  });

  it('speed: each decoded frame is stamped with the first output frame showing it (2x, 0.5x, 24 fps at 30)', () => {
    const at2x = chains(build(spec({ clips: [videoClip({ id: 'c', sourceId: 's1', start: 0, sourceIn: 30, sourceOut: 180, speed: { num: 2, den: 1 } })] })));
    expect(at2x[1]).toBe("[0:v]setpts='if(eq(N,0),0,max(0,floor((N*1+1)/2)))*1/30/TB',fps=30/1,tpad=stop_mode=clone:stop=75,trim=end_frame=75,crop=w=608:h=1080:x=656:y=0:exact=1,scale=1080:1920:flags=bicubic,setsar=1,format=yuv420p,settb=1/30,setpts=N[layer1]");
    const half = chains(build(spec({ clips: [videoClip({ id: 'c', sourceId: 's1', start: 0, sourceIn: 30, sourceOut: 68, speed: { num: 1, den: 2 } })] })));
    expect(half[1]).toContain("setpts='if(eq(N,0),0,max(0,floor((N*2+0)/1)))*1/30/TB',fps=30/1");
    const film24 = chains(build(spec({ clips: [videoClip({ id: 'c', sourceId: 'f24', start: 0, sourceIn: 0, sourceOut: 60 })] }), { range: { start: 10, end: 75 } }));
    // output frame 10 shows source frame 8: stamp ceil((N+8)*5/4) - 10
    expect(film24[1]).toContain("setpts='if(eq(N,0),0,max(0,floor(((N+8)*5+3)/4)-10))*1/30/TB',fps=30/1");
    // audio follows at the clip's speed, pitch kept (atempo steps within 0.5..2)
    expect(at2x.find((x) => x.includes('[1:a]'))).toContain('atempo=2,apad,atrim=end_sample=120000');
  });

  it('freeze frame and reverse', () => {
    const freeze = chains(build(spec({ clips: [videoClip({ id: 'c', sourceId: 's1', start: 0, sourceIn: 40, sourceOut: 41, freeze: 75 })] })));
    expect(freeze[1]).toMatch(/^\[0:v\]trim=end_frame=1,setpts=0,tpad=stop_mode=clone:stop=75,trim=end_frame=75,/);
    const rev = build(spec({ clips: [videoClip({ id: 'c', sourceId: 's1', start: 0, sourceIn: 100, sourceOut: 175, reverse: true })] }));
    expect(rev.inputs[0]!.options).toEqual([...OPEN, '-ss', '3.316667', '-t', '2.6']);
    expect(chains(rev)[1]).toMatch(/^\[0:v\]trim=end_frame=75,reverse,setpts='if\(eq\(N,0\),0,max\(0,floor\(\(N\*1\+0\)\/1\)\)\)\*1\/30\/TB',fps=30\/1,tpad/);
    expect(chains(rev).find((x) => x.includes('[1:a]'))).toContain('areverse');
  });

  it('a chunk inside a clip: seeks into it, offsets crop expressions, stamps frames on the chunk', () => {
    const kf = [{ frame: 0, x: 0, y: 0, w: 608, h: 1080 }, { frame: 60, x: 1312, y: 0, w: 608, h: 1080 }];
    const c = build(spec({ clips: [videoClip({ id: 'c', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90, crop: kf })] }), { range: { start: 45, end: 75 }, audio: 'none' });
    expect(c.inputs[0]!.options).toEqual([...OPEN, '-ss', '1.983333', '-t', '1.1']);
    expect(chains(c)[1]).toContain(`crop=w=608:h=1080:x='${keyframeExpr(kf, 'x', 'n', 45)}':y='0':exact=1`);
    expect(c.outputOptions).toContain('-frames:v');
  });
});

describe('layers, transitions and effects', () => {
  const two = (t: Transition) =>
    spec({
      durationFrames: 90,
      clips: [videoClip({ id: 'a', sourceId: 's1', start: 0, sourceIn: 0, sourceOut: 50 }), videoClip({ id: 'b', sourceId: 's1', start: 50, sourceIn: 100, sourceOut: 140, transition: t })],
    });

  it('dissolve: both clips extend over the window; the incoming one fades in frame by frame (lutyuv driven by sendcmd)', () => {
    const c = build(two({ kind: 'dissolve', direction: 'left', duration: 10 }));
    // A: 55 frames from the start (5 past its out point); B: from source frame 95 (5 before its in point).
    expect(c.inputs.map((i) => i.options)).toEqual([
      [...OPEN, '-t', '1.933333'],
      [...OPEN, '-ss', '3.15', '-t', '1.6'],
      [...OPEN, '-t', '2.033333'],
      [...OPEN, '-ss', '3.166667', '-t', '1.7'],
    ]);
    const g = chains(c);
    expect(g[1]).toContain('tpad=stop_mode=clone:stop=55,trim=end_frame=55');
    expect(g[3]).toContain("sendcmd=filename=/w/layer-1.cmd,lutyuv@op1=y=val:u=val:v=val:a=val*0:enable='between(t,-0.016667,0.316667)'");
    const cmd = c.files!.find((f) => f.path === '/w/layer-1.cmd')!.contents.split('\n');
    expect(cmd[0]).toBe('0.016667-0.05 [enter] lutyuv@op1 y val, lutyuv@op1 u val, lutyuv@op1 v val, lutyuv@op1 a val*0.101961;');
    expect(cmd).toHaveLength(11); // frames 1..9 of the window, full opacity after it, the trailing newline
    // the audio crossfades over the same window, equal power
    expect(g.find((x) => x.startsWith('[2:a]'))).toContain('afade=t=out:ss=72000:ns=16000:curve=qsin');
    expect(g.find((x) => x.startsWith('[3:a]'))).toContain('afade=t=in:ss=0:ns=16000:curve=qsin');
  });

  it('wipe: the hidden part of the incoming clip is a transparent box, moved every frame', () => {
    const c = build(two({ kind: 'wipe', direction: 'right', duration: 10 }));
    expect(chains(c)[3]).toContain("drawbox@wipe1=x=0:y=0:w=1080:h=1920:color=black@0:t=fill:replace=1:enable='between(t,-0.016667,0.316667)'");
    expect(c.files![0]!.contents).toContain('drawbox@wipe1 x 108, drawbox@wipe1 y 0, drawbox@wipe1 w 972, drawbox@wipe1 h 1920;');
  });

  it('dips: no overlap; the outgoing clip fades to the colour before the cut, the incoming from it after', () => {
    const c = build(two({ kind: 'dip-black', direction: 'left', duration: 10 }));
    expect(c.inputs.map((i) => i.options).slice(0, 2)).toEqual([[...OPEN, '-t', '1.766667'], [...OPEN, '-ss', '3.316667', '-t', '1.433333']]);
    expect(c.files![0]!.contents.split('\n')[0]).toBe('1.483333-1.516667 [enter] lutyuv@op0 y val*0.831373+2.698039, lutyuv@op0 u val*0.831373+21.584314, lutyuv@op0 v val*0.831373+21.584314, lutyuv@op0 a val*1;');
  });

  it('slide: the incoming clip travels in by one frame width (overlay x per frame)', () => {
    const c = build(two({ kind: 'slide', direction: 'left', duration: 10 }));
    const x = /overlay=x='([^']+)'/.exec(chains(c).find((l) => l.startsWith('[comp2]'))!)![1]!;
    expect([0, 5, 9, 10].map((f) => evalExpr(x, { t: (45 + f) / 30 }))).toEqual([1080, 540, 108, 0]);
  });

  it('PiP on an upper track: scaled once, placed by its anchor; upper-track gaps stay transparent (no canvas of its own)', () => {
    const pip = videoClip({ id: 'p', sourceId: 's1', trackId: 'v2', start: 10, sourceIn: 0, sourceOut: 30, transform: [{ ...IDENTITY_TRANSFORM, frame: 0, easing: 'linear', x: 0.75, y: 0.25, scaleX: 0.3, scaleY: 0.3 }] });
    const g = chains(build(spec({ clips: [videoClip({ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90 }), pip] }), { audio: 'none' }));
    expect(g[3]).toContain('scale=324:576:flags=bicubic,setsar=1,format=yuv420p,settb=1/30,setpts=N+10[layer3]');
    expect(g[4]).toBe('[comp2][layer3]overlay=x=648:y=192:eof_action=pass:format=yuv420[comp4]');
  });

  it('the overlay position of an animated layer is the one the preview computes, on every frame', () => {
    const logoClip = imageClip({
      id: 'l',
      sourceId: 'logo',
      trackId: 'v2',
      start: 5,
      duration: 60,
      transform: [
        { ...IDENTITY_TRANSFORM, frame: 0, easing: 'linear', x: 0.2, y: 0.3, scaleX: 0.5, scaleY: 0.5 },
        { ...IDENTITY_TRANSFORM, frame: 40, easing: 'ease-in-out', x: 0.6, y: 0.5, scaleX: 0.5, scaleY: 0.5, rotation: 120, opacity: 0.5, anchorX: 0, anchorY: 1 },
      ],
      animIn: { kind: 'pop', duration: 8, direction: 'left' },
    });
    const s = spec({ clips: [videoClip({ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90 }), logoClip] });
    const g = chains(build(s, { range: { start: 20, end: 75 }, audio: 'none' }));
    const over = /overlay=x='([^']+)':y='([^']+)'/.exec(g.find((l) => l.includes('[layer3]overlay'))!)!;
    const layer = visualLayers(s, planLayers(s))[1]!;
    const geo = layerGeometry(layer, 1080, 1920);
    for (let f = 20; f < 65; f++) {
      const want = layerFrame(layer, geo, f, s);
      const t = (f - 20) / 30;
      expect([overlayPosition(evalExpr(over[1]!, { t })), overlayPosition(evalExpr(over[2]!, { t }))]).toEqual([want.left, want.top]);
    }
    const scale = /scale=w='([^']+)':h='([^']+)':eval=frame/.exec(g.find((l) => l.includes('[layer3]') && l.startsWith('[1:v]'))!)!;
    for (const u of [0, 3, 7, 30]) expect(evalExpr(scale[1]!, { t: u / 30 })).toBe(layerFrame(layer, geo, 5 + u, s).w);
  });

  it('text reaches ffmpeg only inside its ASS file; hidden tracks draw nothing', () => {
    const hostile = "it's [v];movie=/etc/passwd:x,'";
    const text = textClip({ id: 'tx', trackId: 'v2', start: 0, duration: 30, text: hostile, style: { ...DEFAULT_TEXT_STYLE, fontFamily: 'Lora', boxColor: '#000000AA' }, box: { width: 0.8, height: 0.2 } });
    const c = build(spec({ clips: [videoClip({ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90 }), text] }), { audio: 'none' });
    expect(c.filterComplex).not.toContain('passwd');
    // drawn over black twice: in colour and as a white matte that becomes the alpha
    expect(c.filterComplex).toContain('color=c=black:s=864x384:r=30/1,trim=end_frame=30,format=rgba,settb=1/30,setpts=N,split[tcanvas');
    expect(c.filterComplex).toMatch(/\[tcanvas\d+\]subtitles=filename=\/w\/text-1\.ass:fontsdir=\/f\[tpaint\d+\];\[tcover\d+\]subtitles=filename=\/w\/text-1-matte\.ass:fontsdir=\/f,format=gray\[talpha\d+\];\[tpaint\d+\]\[talpha\d+\]alphamerge,format=gbrap,unpremultiply=inplace=1/);
    expect(c.files!.find((f) => f.path === '/w/text-1-matte.ass')!.contents).toContain('Style: Text,Lora,72,&H00FFFFFF,&H00FFFFFF,&H00FFFFFF,&H7FFFFFFF');
    const ass = c.files!.find((f) => f.path === '/w/text-1.ass')!.contents;
    expect(ass).toContain('PlayResX: 864');
    expect(ass).toContain("Dialogue: 1,0:00:00.00,0:00:00.98,Text,,0,0,0,,it's [v];movie=/etc/passwd:x,'");
    expect(ass).toContain('Dialogue: 0,0:00:00.00,0:00:00.98,Box,');
    const hidden = build(spec({ tracks: [track('v1'), track('v2', 'video', { hidden: true })], clips: [videoClip({ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90 }), text] }), { audio: 'none' });
    expect(hidden.files).toEqual([]);
  });
});

describe('audio', () => {
  it('mute and solo decide what is heard; fades and the volume envelope shape a clip', () => {
    const c1 = videoClip({ id: 'c1', sourceId: 's1', start: 0, sourceIn: 15, sourceOut: 90, audio: { volume: 0.5, envelope: [{ frame: 0, gain: 1 }, { frame: 30, gain: 0 }], fadeIn: 6, fadeOut: 0 } });
    const m = audioClip({ id: 'm', sourceId: 'm', trackId: 'a1', start: 0, sourceIn: 0, sourceOut: 75 });
    const g = chains(build(spec({ clips: [c1, m] }), { audio: 'only' }));
    expect(g[0]).toContain("asetpts=(N+0)/SR/TB,asetnsamples=n=480:p=0,volume='0.5*if(lt((t*30/1-0),0),1,if(lt((t*30/1-0),30),1+(-1)*((t*30/1-0)-0)/30,0))':eval=frame,afade=t=in:ss=0:ns=9600:curve=tri,asetpts=N/SR/TB");
    expect(g.filter((x) => x.includes(':a]'))).toHaveLength(2);
    const muted = chains(build(spec({ tracks: [track('v1', 'video', { muted: true }), track('v2'), track('a1', 'audio')], clips: [c1, m] }), { audio: 'only' }));
    expect(muted.filter((x) => x.includes(':a]'))).toHaveLength(1);
    const solo = chains(build(spec({ tracks: [track('v1', 'video', { solo: true }), track('v2'), track('a1', 'audio')], clips: [c1, m] }), { audio: 'only' }));
    expect(solo.filter((x) => x.includes(':a]'))).toEqual([expect.stringContaining('[0:a]')]);
  });

  it('ducking: sidechain keyed by the voice track, or automation over its clips', () => {
    const voice = videoClip({ id: 'c1', sourceId: 's1', start: 15, sourceIn: 0, sourceOut: 30 });
    const m = audioClip({ id: 'm', sourceId: 'm', trackId: 'a1', start: 0, sourceIn: 0, sourceOut: 75 });
    const duck = (mode: 'sidechain' | 'automation') => chains(build(spec({ tracks: [track('v1'), track('v2'), track('a1', 'audio', { ducking: { mode, keyTrackIds: ['v1'], amountDb: 12, attackMs: 100, releaseMs: 500 } })], clips: [voice, m] }), { audio: 'only' }));
    const side = duck('sidechain');
    expect(side.some((x) => /^\[bus\d+\]asplit=2\[split\d+\]\[split\d+\]$/.test(x))).toBe(true);
    expect(side.some((x) => x.includes('sidechaincompress=threshold=0.02:ratio=7:attack=100:release=500:makeup=1:knee=2'))).toBe(true);
    const auto = duck('automation');
    // -12 dB (x0.25) from 0.1 s before the voice (0.5-1.5 s) to 0.5 s after it
    expect(auto.find((x) => x.includes('volume='))).toContain("volume='1-0.748811*clip(((t+0)-0.4)/0.1,0,1)*clip((2-(t+0))/0.5,0,1)':eval=frame");
  });

  it('loudness, two-pass: measure (audio only to null), then apply the measured values (linear)', () => {
    const s = spec({ loudness: SOCIAL_LOUDNESS });
    const measure = build(s, { loudness: { pass: 'measure' } });
    expect(measure.outputOptions).toEqual(['-map', '[a]', '-f', 'null']);
    expect(measure.outputPath).toBe('-');
    expect(measure.filterComplex).toContain('loudnorm=I=-14:TP=-1:LRA=11:print_format=json');
    expect(measure.filterComplex).not.toContain('[v]');
    const apply = build(s, { loudness: { pass: 'apply', measured: { input_i: '-23.5', input_tp: '-4.2', input_lra: '6.1', input_thresh: '-34.0', target_offset: '0.3' } } });
    expect(apply.filterComplex).toContain('loudnorm=I=-14:TP=-1:LRA=11:measured_I=-23.5:measured_TP=-4.2:measured_LRA=6.1:measured_thresh=-34:offset=0.3:linear=true:print_format=summary,aresample=48000');
  });
});

describe('targets and refusals', () => {
  it('wasm: the same graph with ultrafast and an explicit thread count; cuda: GPU decode, nv12 download, nvenc when asked', () => {
    const s = spec();
    const cpu = build(s);
    const wasm = build(s, { target: 'wasm', threads: 2 });
    expect(wasm.filterComplex).toBe(cpu.filterComplex);
    expect(wasm.outputOptions).toEqual(expect.arrayContaining(['-threads', '2']));
    expect(() => build(s, { target: 'wasm' })).toThrow(FfmpegBuildError);
    const cuda = build(s, { target: 'cuda', videoEncoder: 'h264_nvenc' });
    expect(cuda.inputs[0]!.options.slice(OPEN.length, OPEN.length + 4)).toEqual(['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda']);
    expect(cuda.inputs[1]!.options).not.toContain('-hwaccel');
    expect(chains(cuda)[1]).toMatch(/^\[0:v\]hwdownload,format=nv12,/);
    expect(cuda.outputOptions).toEqual(expect.arrayContaining(['-c:v', 'h264_nvenc']));
  });

  it('refuses ranges outside the timeline and missing inputs; pins protocol-looking paths to file:', () => {
    expect(() => build(spec(), { range: { start: 10, end: 76 } })).toThrow('invalid range 10..76 for 75 frames');
    expect(() => build(spec(), { inputs: {} })).toThrow('no local file for source s1');
    expect(build(spec(), { inputs: { s1: 'http:x.mp4' } }).inputs[0]!.path).toBe('file:http:x.mp4');
  });

  it('the frame rule: output frame k of a clip at speed s shows sourceIn + floor(k * s * srcFps / outFps)', () => {
    const f = (speed: { num: number; den: number }, k: number) => clipSourceFrame({ sourceIn: 10, sourceOut: 200, speed, reverse: false }, src, { num: 30, den: 1 }, k);
    expect([0, 1, 2, 3].map((k) => f({ num: 2, den: 1 }, k))).toEqual([10, 12, 14, 16]);
    expect([0, 1, 2, 3].map((k) => f({ num: 1, den: 2 }, k))).toEqual([10, 10, 11, 11]);
    expect([0, 1, 2, 3].map((k) => f({ num: 3, den: 4 }, k))).toEqual([10, 10, 11, 12]);
    expect(f({ num: 1, den: 1 }, -20)).toBe(0); // before the source: its first frame is held
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

describe('source normalisation: VFR grid and HDR tone mapping', () => {
  const graphWith = (over: Partial<typeof src>) => build(spec({ sources: [{ ...src, ...over }, film, logo, song] })).filterComplex;
  it('a VFR source goes onto its nominal grid by timestamp (fps round=up, from source frame sourceIn), a CFR one does not', () => {
    expect(graphWith({ vfr: true })).toMatch(/settb=1\/1000000,setpts=PTS-2000,fps=fps=30\/1:round=up,trim=start_pts=15,/);
    expect(graphWith({ vfr: false })).not.toMatch(/round=up/);
  });
  it('PQ and HLG sources are tone-mapped to BT.709 by zscale + tonemap; SDR ones are not', () => {
    expect(graphWith({ colorTransfer: 'smpte2084' })).toContain('zscale=tin=smpte2084:pin=bt2020:min=bt2020nc:rin=tv:t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0:peak=10,zscale=t=bt709:m=bt709:r=tv,format=yuv420p');
    expect(graphWith({ colorTransfer: 'arib-std-b67' })).toContain('zscale=tin=arib-std-b67:');
    expect(graphWith({ colorTransfer: 'bt709' })).not.toContain('zscale');
  });
});

describe('poster frame tap (issue 14: no decode after the encode)', () => {
  it('splits the final picture, selects the one frame and writes it as a PNG after the main output', () => {
    const c = build(spec(), { posterFrame: { frame: 30, path: '/w/poster-frame.png' } });
    expect(chains(c)).toContainEqual(expect.stringMatching(/format=yuv420p,split=2\[v\]\[poster\d+\]$/));
    expect(chains(c)).toContainEqual(expect.stringMatching(/^\[poster\d+\]select=eq\(n\\,30\)\[pv\]$/));
    const main = c.args!.indexOf('/o/out.mp4');
    expect(main).toBeGreaterThan(0);
    expect(c.args!.slice(main + 1)).toEqual(['-map', '[pv]', '-frames:v', '1', '-update', '1', '-c:v', 'png', '-f', 'image2', '/w/poster-frame.png']);
    expect(commandToArgs(c)).toEqual(c.args);
    // Without it the command is what it was.
    expect(build(spec()).args!.at(-1)).toBe('/o/out.mp4');
  });
  it('keeps the tap after the main output when the graph goes to a script file', () => {
    const many = spec({ durationFrames: 400, clips: Array.from({ length: 400 }, (_, k) => videoClip({ id: `c${k}`, sourceId: 's1', start: k, sourceIn: k % 299, sourceOut: (k % 299) + 1 })) });
    const c = build(many, { posterFrame: { frame: 10, path: '/w/p.png' } });
    expect(c.args).toContain('-filter_complex_script');
    const script = c.args!.indexOf('-filter_complex_script');
    expect(script).toBeLessThan(c.args!.indexOf('-map'));
    expect(c.args!.slice(-3)).toEqual(['-f', 'image2', '/w/p.png']);
  });
  it('refuses a frame outside the rendered range', () => {
    expect(() => build(spec(), { posterFrame: { frame: 75, path: '/w/p.png' } })).toThrow(FfmpegBuildError);
  });
});
