/**
 * Fuzz: hostile user text (cue texts, text overlays, font names), hostile paths, file names, storage
 * keys and whole RenderSpecs full of ffmpeg/libass metacharacters (quotes, colons, commas, brackets,
 * backslashes, %, newlines, braces, RTL, emoji, NUL) never change the ffmpeg filter graph, never reach
 * an ffmpeg argument, never form an ASS override or a second event, and never make ffmpeg open a file
 * they name. Deterministic (seeded), so a failure reproduces.
 *  (a) pure checks over >= 1,000 generated cases of each kind;
 *  (b) 40 real ffmpeg renders (64x64, 3 frames, ~25 hostile cues each) under strace when available.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildFfmpegCommand, commandToArgs, DEFAULT_SUBTITLE_STYLE, DEFAULT_TEXT_STYLE, FfmpegBuildError, IDENTITY_TRANSFORM, RenderSpec, escapeFilterValue, type TextClip } from '../../shared/render-spec/index.ts';
import { textClip, track, videoClip } from '../../shared/render-spec/fixtures.ts';
import { buildAss } from '../../shared/subtitles/index.ts';
import { FONTS_DIR_FROM_SHARED } from '../../shared/fonts.ts';
import { cleanFileName } from '../../app/src/lib/server/services/assets.ts';
import { LocalStorage, StorageKeyError } from '../../app/src/lib/server/storage.ts';
import { keyToPath } from '../../render-farm/src/storage/keys.ts';
import { ffmpeg } from '../support/media.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FONTS_DIR = path.join(ROOT, 'shared', FONTS_DIR_FROM_SHARED);
const N = 1000;

/** mulberry32: small, fast, deterministic. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof rng>;

const CANARY_DIR = mkdtempSync(path.join(tmpdir(), 'cm-fuzz-canary-'));
const CANARY = path.join(CANARY_DIR, 'canary-secret.txt');

const PIECES = [
  "'", '"', ':', ',', ';', '[', ']', '\\', '%', '\n', '\r\n', '\r', '\t', '{', '}', '=', '@', '$', '`', '|', '&', '<', '>', '#', '~',
  '\\N', '\\n', '\\h', '{\\pos(0,0)}', '{\\fs400\\c&H0000FF&}', '{\\p1}m 0 0 l 100 0 100 100{\\p0}', '\\{', '\\}', '{\\r}',
  '[0:v]', '[v]', '[in][out]', 'null,', ';movie=', `movie=${CANARY}`, `subtitles=${CANARY}`, `subtitles=filename=${CANARY}`,
  `drawtext=textfile=${CANARY}`, `'; drawtext=textfile='${CANARY}`, `:fontsdir=${CANARY_DIR}`, `file:${CANARY}`, `../../..${CANARY}`,
  '/etc/passwd', '../../etc/passwd', 'concat:/etc/passwd|/etc/hosts', 'http://127.0.0.1:1/x', '%{pts}', '%{localtime}', '%s%n%x',
  '$(touch /tmp/pwned)', '`id`', '${PATH}', 'Dialogue: 0,0:00:00.00,9:00:00.00,Cue,,0,0,0,,pwned', '[Events]', '[V4+ Styles]',
  'Style: Evil,Arial,400', 'Format: Name', '\u0000', '\u0007', '\u001b[31m', '\u007f', '\u2028', '\u2029', '\u200f', '\u202e', '\u2066',
  'مرحبا', 'שלום', 'עברית123', '😀', '👨‍👩‍👧‍👦', '🇺🇳', 'e\u0301', '\ufeff', '\ud83d', 'Ω≈ç√', '漢字', ' ', '  ', 'plain', 'A', '0',
];

function hostile(r: Rng, marker: string, maxPieces = 12): string {
  const parts = [marker];
  const n = 1 + r.int(maxPieces);
  for (let i = 0; i < n; i++) parts.splice(r.int(parts.length + 1), 0, r.pick(PIECES));
  return parts.join('');
}

const SOURCE = { id: 'src', key: 'orgs/o/projects/p/assets/a/original.mp4', kind: 'video', width: 64, height: 64, fps: { num: 30, den: 1 }, durationFrames: 30, durationUs: 1_000_000, hasAudio: false, sha256: null, container: 'mov', videoStartUs: 0, audioStartUs: 0, sar: { num: 1, den: 1 }, vfr: false, colorTransfer: null } as const;

function baseSpec(): RenderSpec {
  return {
    version: 2,
    output: { width: 64, height: 64, fps: { num: 30, den: 1 }, durationFrames: 3, video: { codec: 'h264', crf: 30, preset: 'ultrafast' }, audio: { codec: 'aac', bitrateKbps: 64, sampleRate: 48000, loudness: null }, gop: 30 },
    sources: [{ ...SOURCE, fps: { ...SOURCE.fps } }],
    tracks: [track('v1'), track('v2')],
    clips: [videoClip({ id: 'c1', sourceId: 'src', start: 0, sourceIn: 0, sourceOut: 3 })],
    subtitles: { style: { ...DEFAULT_SUBTITLE_STYLE, fontSize: 12, marginV: 4 }, cues: [] },
  };
}

/** The text clips of a spec (the fuzz puts at most one on track v2). */
const texts = (spec: RenderSpec) => spec.clips.filter((c): c is TextClip => c.kind === 'text');

/** A spec with `cues` hostile cues, maybe a hostile text clip and a hostile font name; markers tag every user string. */
function hostileSpec(r: Rng, id: number, cues: number): { spec: RenderSpec; neutral: RenderSpec; markers: string[] } {
  const spec = baseSpec();
  const neutral = baseSpec();
  const markers: string[] = [];
  for (let k = 0; k < cues; k++) {
    const marker = `ZQX${id}K${k}Q`;
    markers.push(marker);
    const start = r.int(3);
    const cue = { id: `q${k}`, start, end: start + 1 + r.int(3 - start), text: hostile(r, marker) };
    spec.subtitles.cues.push(cue);
    neutral.subtitles.cues.push({ ...cue, text: 'x' });
  }
  if (r.next() < 0.5) {
    const marker = `ZQX${id}OVQ`;
    markers.push(marker);
    const t = textClip({ id: 'ov1', trackId: 'v2', start: 0, duration: 3, text: hostile(r, marker), style: { ...DEFAULT_TEXT_STYLE, fontSize: 10, color: '#FFCC00' }, box: { width: 0.5 + r.next() / 2, height: 0.2 + r.next() / 2 }, transform: [{ ...IDENTITY_TRANSFORM, frame: 0, easing: 'linear', x: r.next(), y: r.next(), opacity: r.next() }] });
    spec.clips.push(t);
    neutral.clips.push({ ...t, text: 'x' });
  }
  if (r.next() < 0.7) {
    const marker = `ZQX${id}FQ`;
    markers.push(marker);
    spec.subtitles.style.fontFamily = hostile(r, marker, 5).slice(0, 100);
  }
  return { spec, neutral, markers };
}

/** ffmpeg's av_get_token(): backslash escapes one character, '...' quotes, trailing blanks trimmed. */
function getToken(s: string, i: number, terms: string): [string, number] {
  while (i < s.length && /\s/.test(s[i]!)) i++;
  let out = '';
  let end = 0;
  while (i < s.length && !terms.includes(s[i]!)) {
    const c = s[i++]!;
    if (c === '\\' && i < s.length) {
      out += s[i++];
      end = out.length;
    } else if (c === "'") {
      while (i < s.length && s[i] !== "'") out += s[i++];
      if (i < s.length) {
        i++;
        end = out.length;
      }
    } else out += c;
  }
  while (out.length > end && /\s/.test(out[out.length - 1]!)) out = out.slice(0, -1);
  return [out, i];
}

interface ParsedFilter {
  inputs: string[];
  name: string;
  args: string;
  outputs: string[];
}

/** The filtergraph as avfilter_graph_parse2 reads it: labels, names and (graph-unescaped) args. */
function parseGraph(g: string): ParsedFilter[] {
  const filters: ParsedFilter[] = [];
  let i = 0;
  const labels = () => {
    const ls: string[] = [];
    while (g[i] === '[') {
      const close = g.indexOf(']', i);
      ls.push(g.slice(i + 1, close));
      i = close + 1;
    }
    return ls;
  };
  while (i < g.length) {
    const inputs = labels();
    let name: string;
    [name, i] = getToken(g, i, '=,;[');
    let args = '';
    if (g[i] === '=') [args, i] = getToken(g, i + 1, '[],;');
    const outputs = labels();
    filters.push({ inputs, name, args, outputs });
    if (g[i] === ',' || g[i] === ';') i++;
    else if (i < g.length) throw new Error(`unexpected ${g[i]} at ${i} in ${g}`);
  }
  return filters;
}

/** key=value options of one filter, as av_opt_set_from_string reads them. */
function parseOptions(args: string): Record<string, string> {
  const opts: Record<string, string> = {};
  let i = 0;
  while (i < args.length) {
    const eq = args.indexOf('=', i);
    const key = args.slice(i, eq);
    let value: string;
    [value, i] = getToken(args, eq + 1, ':');
    opts[key] = value;
    if (args[i] === ':') i++;
  }
  return opts;
}

function build(spec: RenderSpec, workDir: string, fontsDir = FONTS_DIR, outputPath = '/work/out.mp4') {
  return buildFfmpegCommand({ spec, target: 'cpu', inputs: { src: '/work/src.mp4' }, workDir, fontsDir, outputPath });
}

/** Undo escapeAssText: what libass will draw, as text. */
function unescapeAss(s: string): string {
  return s.replace(/\\([\u2060{}N])/g, (_, c: string) => (c === '\u2060' ? '\\' : c === 'N' ? '\n' : c));
}
function normalizedText(s: string): string {
  return s.replace(/\r\n?|[\u2028\u2029]/g, '\n').replace(/\t/g, ' ').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

describe('fuzz: user text never reaches the filter graph or escapes the ASS file', () => {
  it(`${N} hostile specs: same filter graph as a neutral spec, no user text in any argument, one ASS line per event, text round-trips`, () => {
    const r = rng(0xc11f);
    const workDir = '/work/job';
    let events = 0;
    for (let n = 0; n < N; n++) {
      const { spec, neutral, markers } = hostileSpec(r, n, 1 + r.int(6));
      expect(RenderSpec.safeParse(spec).success).toBe(true);
      const cmd = build(spec, workDir);
      // (1) the graph is byte-for-byte the neutral spec's graph: user text cannot add, remove or alter a filter.
      expect(cmd.filterComplex).toBe(build(neutral, workDir).filterComplex);
      // (2) no argument carries user text.
      for (const arg of commandToArgs(cmd)) expect(arg.includes('ZQX'), arg).toBe(false);
      // (3) the ASS files (cues; each text clip its own): exactly one line per event, nothing
      // injected into the header or styles.
      const ass = cmd.files!.find((f) => f.path.endsWith('/subtitles.ass'))?.contents ?? buildAss(spec);
      const lines = ass.split('\n');
      const wanted = spec.subtitles.cues.filter((c) => c.text.trim() !== '').length;
      expect(lines.length).toBe(buildAss(neutral).split('\n').length - neutral.subtitles.cues.length + wanted);
      const dialogue = lines.filter((l) => l.startsWith('Dialogue:'));
      expect(dialogue.length).toBe(wanted);
      expect(lines.filter((l) => l.startsWith('Style:')).length).toBe(1);
      for (const style of lines.filter((l) => l.startsWith('Style:'))) expect(style.split(',').length).toBe(23);
      expect(lines.filter((l) => /^\[.*\]$/.test(l))).toEqual(['[Script Info]', '[V4+ Styles]', '[Events]']);
      const textFiles = cmd.files!.filter((f) => /\/text-\d+\.ass$/.test(f.path));
      expect(textFiles).toHaveLength(texts(spec).length);
      for (const f of textFiles) {
        const tl = f.contents.split('\n');
        const ev = tl.filter((l) => l.startsWith('Dialogue:'));
        expect(ev.length).toBe(texts(spec)[0]!.text.trim() === '' ? 0 : 1);
        expect(tl.filter((l) => l.startsWith('Style:')).map((l) => l.split(',').length)).toEqual([23, 23]);
        expect(tl.filter((l) => /^\[.*\]$/.test(l))).toEqual(['[Script Info]', '[V4+ Styles]', '[Events]']);
        dialogue.push(...ev);
      }
      events += dialogue.length;
      // (4) each event's text field: no unescaped brace (no override block from the user), and it
      // decodes back to exactly the user's text.
      for (const line of dialogue) {
        const fields = line.split(',');
        const text = fields.slice(9).join(',');
        expect(/(^|[^\\])\{/.test(text.replace(/\\\\/g, '')), text).toBe(false);
        expect(/\\(?![{}N\u2060])/.test(text), text).toBe(false);
        const marker = /ZQX\d+(K\d+|OV)Q/.exec(text)![0];
        const original = [...spec.subtitles.cues.map((c) => c.text), ...texts(spec).map((t) => t.text)].find((t) => t.includes(marker))!;
        expect(unescapeAss(text)).toBe(normalizedText(original));
      }
      // (5) a hostile font name stays inside its one Style field.
      for (const m of markers.filter((x) => x.endsWith('FQ') && spec.subtitles.style.fontFamily.includes(x))) expect(lines.filter((l) => l.includes(m)).map((l) => l.split(',')[0])).toEqual(['Style: Cue']);
    }
    expect(events).toBeGreaterThan(N);
  });

  it(`${N} hostile temp paths: the subtitles filter reads back exactly the ASS path and fonts folder, nothing else changes`, () => {
    const r = rng(0xfa7);
    const spec = baseSpec();
    spec.subtitles.cues.push({ id: 'q', start: 0, end: 3, text: 'hi' });
    const reference = parseGraph(build(spec, '/work').filterComplex);
    for (let n = 0; n < N; n++) {
      const workDir = `/tmp/${hostile(r, `d${n}`, 6).replace(/[\u0000\n\r]/g, '')}`;
      const assPath = `${workDir.replace(/\/+$/, '')}/subtitles.ass`;
      const fontsDir = `/tmp/${hostile(r, `f${n}`, 4).replace(/[\u0000\n\r]/g, '')}`;
      const cmd = build(spec, workDir, fontsDir);
      const parsed = parseGraph(cmd.filterComplex);
      expect(parsed.map((f) => [f.name, f.inputs, f.outputs])).toEqual(reference.map((f) => [f.name, f.inputs, f.outputs]));
      const subs = parsed.find((f) => f.name === 'subtitles')!;
      expect(parseOptions(subs.args)).toEqual({ filename: assPath, fontsdir: fontsDir });
      expect(escapeFilterValue(assPath).length).toBeGreaterThanOrEqual(assPath.length);
    }
  });

  it(`${N} hostile file names and storage keys: display names are clean, keys never resolve outside their folder`, () => {
    const r = rng(0xf11e);
    const root = path.join(tmpdir(), 'cm-fuzz-storage-root');
    const app = new LocalStorage(root);
    let accepted = 0;
    for (let n = 0; n < N; n++) {
      const name = hostile(r, `n${n}`, 8) + (r.next() < 0.3 ? '/'.repeat(r.int(3)) + '.'.repeat(r.int(4)) : '') + (r.next() < 0.1 ? 'x'.repeat(300) : '');
      const clean = cleanFileName(name);
      expect(clean.length).toBeGreaterThan(0);
      expect(clean.length).toBeLessThanOrEqual(200);
      expect(/[/\\\u0000-\u001f\u007f]/.test(clean), JSON.stringify(clean)).toBe(false);
      for (const key of [name, `orgs/o/projects/p/assets/${name}`, `orgs/o/${name}/original.mp4`, name.toLowerCase().replace(/[^a-z0-9./_-]/g, ''), `a/${'../'.repeat(r.int(5))}${name}`]) {
        for (const resolveKey of [(k: string) => app.resolve(k), (k: string) => keyToPath(root, k)]) {
          let resolved: string | null = null;
          try {
            resolved = resolveKey(key);
          } catch (err) {
            expect((err as Error).name === 'StorageKeyError' || err instanceof StorageKeyError, String(err)).toBe(true);
          }
          if (resolved !== null) {
            accepted++;
            expect(resolved.startsWith(root + path.sep), `${JSON.stringify(key)} -> ${resolved}`).toBe(true);
          }
        }
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });

  it(`${N} mutated RenderSpecs: parse accepts or rejects with issues (never throws), and the builder only ever throws FfmpegBuildError`, () => {
    const r = rng(0x5bec);
    const values: unknown[] = [null, undefined, -1, 0, 1.5, 1e12, NaN, Infinity, -Infinity, '', 'x', "'; movie=/etc/passwd", '../../etc/passwd', '/etc/passwd', 'a\u0000b', '😀', 'مرحبا', '[v]', true, [], {}, [1, 2], { num: 0, den: 0 }, '#GGGGGG', 'ORGS/../x', 'a//b', '-ss'];
    const mutate = (obj: unknown, depth: number): unknown => {
      if (obj === null || typeof obj !== 'object' || depth > 6) return r.next() < 0.5 ? r.pick(values) : obj;
      const copy: Record<string, unknown> | unknown[] = Array.isArray(obj) ? [...obj] : { ...(obj as Record<string, unknown>) };
      const keys = Object.keys(copy);
      if (keys.length === 0) return copy;
      const k = r.pick(keys);
      (copy as Record<string, unknown>)[k] = r.next() < 0.7 ? mutate((copy as Record<string, unknown>)[k], depth + 1) : r.pick(values);
      if (r.next() < 0.05) delete (copy as Record<string, unknown>)[k];
      return copy;
    };
    let rejected = 0;
    let built = 0;
    for (let n = 0; n < N; n++) {
      const { spec } = hostileSpec(r, n, 2);
      let candidate: unknown = spec;
      for (let m = 0; m < 1 + r.int(3); m++) candidate = mutate(candidate, 0);
      const parsed = RenderSpec.safeParse(candidate);
      if (!parsed.success) {
        rejected++;
        expect(parsed.error.issues.length).toBeGreaterThan(0);
        for (const issue of parsed.error.issues) expect(typeof issue.message).toBe('string');
        continue;
      }
      try {
        const cmd = build(parsed.data, '/work/subs.ass');
        built++;
        for (const arg of commandToArgs(cmd)) expect(arg.includes('ZQX') || arg.includes('/etc/passwd'), arg).toBe(false);
      } catch (err) {
        expect(err).toBeInstanceOf(FfmpegBuildError);
      }
    }
    expect(rejected).toBeGreaterThan(N / 4);
    expect(built).toBeGreaterThan(0);
  });
});

function run(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('fuzz: real ffmpeg renders of hostile subtitles', () => {
  const RENDERS = 40;
  const haveStrace = spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
  let work: string;

  beforeAll(() => {
    writeFileSync(CANARY, 'if ffmpeg reads this, user text became a file name\n');
    // A directory name full of filter metacharacters: the real escaping of a real path is exercised too.
    work = path.join(mkdtempSync(path.join(tmpdir(), 'cm-fuzz-')), "dir 'q' [a],b;c:d %x");
    mkdirSync(work, { recursive: true });
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=30:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', path.join(work, 'src.mp4')]);
  });

  afterAll(() => {
    rmSync(path.dirname(work), { recursive: true, force: true });
    rmSync(CANARY_DIR, { recursive: true, force: true });
  });

  it(`${RENDERS} renders with ~25 hostile cues each succeed with 3 frames and never open a file the text names`, async () => {
    const r = rng(0x4e4d);
    const jobs = Array.from({ length: RENDERS }, (_, n) => hostileSpec(r, n, 20 + r.int(10)).spec);
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      for (let n = next++; n < jobs.length; n = next++) {
        const spec = jobs[n]!;
        const dir = path.join(work, `job ${n}`);
        mkdirSync(dir, { recursive: true });
        const out = path.join(dir, 'out.mp4');
        const cmd = buildFfmpegCommand({ spec, target: 'cpu', inputs: { src: path.join(work, 'src.mp4') }, workDir: dir, fontsDir: FONTS_DIR, outputPath: out });
        for (const f of cmd.files ?? []) writeFileSync(f.path, f.contents);
        const args = commandToArgs(cmd);
        const trace = path.join(dir, 'strace.txt');
        const res = haveStrace
          ? await run('strace', ['-f', '-qq', '-e', 'trace=open,openat,openat2,execve', '-o', trace, process.env.FFMPEG_PATH ?? 'ffmpeg', '-loglevel', 'error', ...args])
          : await run(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-loglevel', 'error', ...args]);
        if (res.code !== 0) {
          failures.push(`render ${n} failed (${res.code}): ${res.stderr}`);
          continue;
        }
        const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v', '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'csv=p=0', out], { encoding: 'utf8' });
        if (probe.stdout.trim() !== '64,64,3') failures.push(`render ${n}: ${probe.stdout.trim()} ${probe.stderr}`);
        if (haveStrace) {
          const opened = readFileSync(trace, 'utf8');
          if (opened.includes('canary-secret') || opened.includes('/etc/passwd') || opened.includes('/tmp/pwned')) failures.push(`render ${n} touched a file named by user text:\n${opened.split('\n').filter((l) => /canary|passwd|pwned/.test(l)).join('\n')}`);
          const execs = opened.split('\n').filter((l) => l.includes('execve(')).length;
          if (execs !== 1) failures.push(`render ${n}: ffmpeg started ${execs - 1} other programs`);
          if (!opened.includes('subtitles.ass')) failures.push(`render ${n}: the ASS file was never opened (is the trace working?)`);
        }
        rmSync(dir, { recursive: true, force: true });
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    expect(failures).toEqual([]);
    expect(existsSync(CANARY)).toBe(true);
  });
});
