/**
 * Hostile media, attacked the way a signed-up user would: files that make ffprobe/ffmpeg read other
 * files (another organisation's asset, /etc/passwd) or connect somewhere (http://127.0.0.1, RTP).
 * Every ffprobe and ffmpeg runs under `strace -f -e trace=open,openat,connect` (wrappers set as
 * FFPROBE_PATH / FFMPEG_PATH); the test asserts the upload probe refuses each file with a reason
 * and that neither the probe nor the render opens any file but the input (plus the render's own
 * work files, fonts and system libraries) or makes any connection.
 *
 * The corpus is built here: HLS playlists (victim asset, /etc/passwd, http, nested, data:, concat:,
 * subfile:, disguised as .mp4/.mkv/.mov), ffconcat lists, SDP, and containers (MKV attachment, MP4
 * metadata) carrying embedded playlists.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFfmpegCommand, type RenderSpec } from '../../shared/render-spec/index.ts';
import { specOf, track, videoClip, videoSource, audioSource, audioClip } from '../../shared/render-spec/fixtures.ts';
import { MediaProbeError } from '../../shared/media/index.ts';
import { probeFile } from '../../app/src/lib/server/media.ts';
import { probe as farmProbe, run as runFfmpeg } from '../../render-farm/src/ffmpeg/adapter.ts';
import { renderSpecToFile } from '../../render-farm/src/render.ts';

const HAS_STRACE = (() => {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const dir = mkdtempSync(path.join(tmpdir(), 'cm-hostile-'));
const traces = path.join(dir, 'traces');
const corpusDir = path.join(dir, 'corpus');
const work = path.join(dir, 'work');
/** Another organisation's uploaded audio, and a server file nobody uploaded. */
const victim = path.join(dir, 'storage', 'orgs', 'victim-org', 'assets', 'secret', 'original.m4a');
const serverFile = path.join(dir, 'server-only', 'secret.ts');
let tcp: net.Server;
let tcpPort = 0;
let connections = 0;
let httpServer: http.Server;
let httpPort = 0;
let httpHits = 0;

const which = (bin: string) => execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim();

function wrapper(name: string, real: string): string {
  const p = path.join(dir, `${name}-traced`);
  writeFileSync(p, `#!/bin/sh\nexec strace -f -qq -e trace=open,openat,connect -o "${traces}/${name}.$$.$(date +%s%N)" "${real}" "$@"\n`);
  chmodSync(p, 0o755);
  return p;
}

interface Access {
  call: 'open' | 'connect';
  target: string;
  line: string;
}

function readTraces(): Access[] {
  const out: Access[] = [];
  for (const f of readdirSync(traces)) {
    for (const line of readFileSync(path.join(traces, f), 'utf8').split('\n')) {
      const open = /\bopen(?:at)?\((?:AT_FDCWD|\d+), "((?:[^"\\]|\\.)*)"/.exec(line) ?? /\bopen\("((?:[^"\\]|\\.)*)"/.exec(line);
      if (open) out.push({ call: 'open', target: open[1]!, line });
      else if (/\bconnect\(/.test(line)) out.push({ call: 'connect', target: line, line });
    }
  }
  return out;
}

function clearTraces(): void {
  rmSync(traces, { recursive: true, force: true });
  mkdirSync(traces, { recursive: true });
}

/** Libraries, locale, fontconfig, the process's own /proc and /dev: what any ffmpeg run opens. */
const SYSTEM = [/^\/etc\/ld\.so/, /^\/(usr\/)?lib(32|64|x32)?\//, /^\/usr\/share\//, /^\/etc\/fonts\//, /^\/proc\//, /^\/sys\//, /^\/dev\//, /^\/etc\/localtime$/, /^\/var\/cache\/fontconfig\//, /\/\.cache\/fontconfig\//, /\/\.fontconfig\//, /\/\.config\/fontconfig\//, /^\/etc\/(gnutls|ssl|gcrypt)\//, /^\/usr\/local\/share\/fonts(\/|$)/, /^\/usr\/lib\/locale/, /^\/usr\/local\/lib\//, /^\/etc\/(nsswitch\.conf|host\.conf|resolv\.conf|gai\.conf)$/];

/** Every access that is not the input itself, the allowed folders or the system's. */
function foreign(accesses: Access[], allowed: { files: string[]; dirs: string[] }): Access[] {
  return accesses.filter((a) => {
    if (a.call === 'connect') return true;
    const t = path.resolve(a.target.replace(/^file:/, ''));
    if (allowed.files.includes(t)) return false;
    if (allowed.dirs.some((d) => t === d || t.startsWith(`${d}/`))) return false;
    if (SYSTEM.some((r) => r.test(t))) return false;
    return true;
  });
}

interface Hostile {
  name: string;
  /** What the refusal must name (the probe names the container it refused). */
  reason: RegExp;
  write(p: string): void;
}

const hls = (entries: string[]) => `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n${entries.map((e) => `#EXTINF:10.0,\n${e}\n`).join('')}#EXT-X-ENDLIST\n`;
const PLAYLIST = /HLS playlist|refers to other|not accepted|self-contained/;

function corpus(): Hostile[] {
  const nestedInner = path.join(corpusDir, 'inner.m3u8');
  writeFileSync(nestedInner, hls([victim]));
  const list: Hostile[] = [
    { name: 'hls → another org asset', reason: PLAYLIST, write: (p) => writeFileSync(p, hls([victim])) },
    { name: 'hls → /etc/passwd', reason: PLAYLIST, write: (p) => writeFileSync(p, hls(['/etc/passwd'])) },
    { name: 'hls → server file (relative)', reason: PLAYLIST, write: (p) => writeFileSync(p, hls([path.relative(corpusDir, serverFile)])) },
    { name: 'hls → http://127.0.0.1', reason: PLAYLIST, write: (p) => writeFileSync(p, hls([`http://127.0.0.1:${httpPort}/seg.ts`])) },
    { name: 'hls → tcp / data: / concat: / subfile:', reason: PLAYLIST, write: (p) => writeFileSync(p, hls([`tcp://127.0.0.1:${tcpPort}`, 'data:video/mp2t;base64,AAAA', `concat:${victim}|/etc/passwd`, `subfile,,start,0,end,0,,:${victim}`])) },
    { name: 'nested hls (master → media playlist → victim)', reason: PLAYLIST, write: (p) => writeFileSync(p, `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n${nestedInner}\n`) },
    { name: 'hls with a BOM and CRLF', reason: /./, write: (p) => writeFileSync(p, `\uFEFF${hls([victim]).replace(/\n/g, '\r\n')}`) },
    { name: 'ffconcat → victim', reason: /concat|not accepted|self-contained|not a video/, write: (p) => writeFileSync(p, `ffconcat version 1.0\nfile '${victim}'\nfile '/etc/passwd'\n`) },
    { name: 'SDP → RTP on 127.0.0.1', reason: /SDP|not accepted|self-contained|not a video/, write: (p) => writeFileSync(p, `v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video ${tcpPort} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n`) },
    { name: 'ffmetadata', reason: /./, write: (p) => writeFileSync(p, `;FFMETADATA1\ntitle=${victim}\n`) },
  ];
  return list;
}

/** A disguised playlist keeps the same body under a media file name. */
const DISGUISES = ['clip.mp4', 'clip.mkv', 'clip.mov', 'clip.m3u8', 'clip'];

let ffprobeTraced = '';
let ffmpegTraced = '';
let legit = '';
let embeddedMkv = '';
let embeddedMp4 = '';
const savedEnv = { FFPROBE_PATH: process.env.FFPROBE_PATH, FFMPEG_PATH: process.env.FFMPEG_PATH };

beforeAll(async () => {
  mkdirSync(corpusDir, { recursive: true });
  mkdirSync(work, { recursive: true });
  mkdirSync(path.dirname(victim), { recursive: true });
  mkdirSync(path.dirname(serverFile), { recursive: true });
  const ff = (args: string[]) => execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args]);
  // The victim: real media (so a successful attack would render it).
  ff(['-f', 'lavfi', '-i', 'sine=frequency=1000:duration=2', '-c:a', 'aac', victim]);
  ff(['-f', 'lavfi', '-i', 'testsrc=s=64x64:r=30:d=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mpegts', serverFile]);
  legit = path.join(corpusDir, 'legit.mp4');
  ff(['-f', 'lavfi', '-i', 'testsrc=s=64x64:r=30:d=1', '-f', 'lavfi', '-i', 'sine=duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', legit]);
  // Real containers carrying a playlist inside: an MKV attachment, an MP4 metadata tag.
  const pl = path.join(corpusDir, 'payload.m3u8');
  writeFileSync(pl, hls([victim, '/etc/passwd']));
  embeddedMkv = path.join(corpusDir, 'embedded.mkv');
  ff(['-i', legit, '-attach', pl, '-metadata:s:t', 'mimetype=application/x-mpegurl', '-c', 'copy', embeddedMkv]);
  embeddedMp4 = path.join(corpusDir, 'embedded.mp4');
  ff(['-i', legit, '-metadata', `comment=${hls([victim])}`, '-metadata', `title=file:${victim}`, '-c', 'copy', embeddedMp4]);

  tcp = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  tcpPort = (tcp.address() as net.AddressInfo).port;
  httpServer = http.createServer((_req, res) => {
    httpHits++;
    res.end('');
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', () => r()));
  httpPort = (httpServer.address() as net.AddressInfo).port;

  ffprobeTraced = wrapper('ffprobe', which('ffprobe'));
  ffmpegTraced = wrapper('ffmpeg', which('ffmpeg'));
  process.env.FFPROBE_PATH = ffprobeTraced;
  process.env.FFMPEG_PATH = ffmpegTraced;
  clearTraces();
});

afterAll(async () => {
  process.env.FFPROBE_PATH = savedEnv.FFPROBE_PATH;
  process.env.FFMPEG_PATH = savedEnv.FFMPEG_PATH;
  if (savedEnv.FFPROBE_PATH === undefined) delete process.env.FFPROBE_PATH;
  if (savedEnv.FFMPEG_PATH === undefined) delete process.env.FFMPEG_PATH;
  tcp?.close();
  httpServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

function hostileFiles(): { label: string; file: string; reason: RegExp }[] {
  const files: { label: string; file: string; reason: RegExp }[] = [];
  corpus().forEach((h, i) => {
    for (const name of DISGUISES) {
      const d = path.join(corpusDir, `h${i}`);
      mkdirSync(d, { recursive: true });
      const file = path.join(d, name);
      h.write(file);
      files.push({ label: `${h.name} as ${name}`, file, reason: h.reason });
    }
  });
  return files;
}

function expectNoForeignAccess(input: string, extra: { files?: string[]; dirs?: string[] } = {}): void {
  const seen = readTraces();
  // The tracer works: the input itself was opened (a silent tracer would pass everything).
  expect(seen.some((a) => a.call === 'open' && path.resolve(a.target.replace(/^file:/, '')) === path.resolve(input)), `no trace of ${input} opening`).toBe(true);
  const bad = foreign(seen, { files: [path.resolve(input), ...(extra.files ?? [])], dirs: extra.dirs ?? [] });
  expect(bad.map((b) => b.line), `foreign accesses for ${input}`).toEqual([]);
}

describe.skipIf(!HAS_STRACE)('hostile media under strace', () => {
  it('positive control: a real MP4 probes (upload and farm) opening only itself', async () => {
    clearTraces();
    const info = await probeFile(ffprobeTraced, legit);
    expect(info.container).toBe('mov');
    expectNoForeignAccess(legit);
    clearTraces();
    expect((await farmProbe(legit)).container).toBe('mov');
    expectNoForeignAccess(legit);
  });

  it('upload probe: every playlist, list, session description and disguise is refused with a reason, opening nothing else', async () => {
    for (const h of hostileFiles()) {
      clearTraces();
      const err = await probeFile(ffprobeTraced, h.file).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, h.label).toBeInstanceOf(MediaProbeError);
      expect((err as Error).message, h.label).toMatch(h.reason);
      // The app sniffs text indirection before ffprobe; when it did not spawn ffprobe at all there is nothing to trace.
      if (readdirSync(traces).length > 0) expect(foreign(readTraces(), { files: [path.resolve(h.file)], dirs: [] }).map((b) => b.line), h.label).toEqual([]);
    }
    expect(connections).toBe(0);
    expect(httpHits).toBe(0);
  });

  it('farm probe (no sniffing: ffprobe whitelists alone) refuses them too and reads nothing else', async () => {
    for (const h of hostileFiles().filter((f) => /clip\.(mp4|m3u8|mkv)$/.test(f.file))) {
      clearTraces();
      await expect(farmProbe(h.file), h.label).rejects.toBeInstanceOf(MediaProbeError);
      expectNoForeignAccess(h.file);
    }
    expect(connections).toBe(0);
    expect(httpHits).toBe(0);
  });

  it('containers carrying a playlist inside are plain media: accepted, and nothing inside is followed', async () => {
    for (const f of [embeddedMkv, embeddedMp4]) {
      clearTraces();
      const info = await probeFile(ffprobeTraced, f);
      expect(['matroska', 'mov']).toContain(info.container);
      expectNoForeignAccess(f);
    }
  });

  function renderSpec(file: string, kind: 'video' | 'audio', container: RenderSpec['sources'][number]['container']): RenderSpec {
    const src = kind === 'video' ? { ...videoSource('src', 'media/x', { width: 64, height: 64, frames: 30, hasAudio: true }), container } : { ...audioSource('src', 'media/x', 1), container };
    void file;
    return specOf({
      width: 64,
      height: 64,
      durationFrames: 15,
      sources: [src],
      tracks: [track('v1'), track('a1', 'audio')],
      clips: kind === 'video' ? [videoClip({ id: 'c', sourceId: 'src', start: 0, sourceIn: 3, sourceOut: 18 })] : [audioClip({ id: 'c', sourceId: 'src', start: 0, sourceIn: 3, sourceOut: 18, trackId: 'a1' })],
      cues: [{ id: 'q', start: 0, end: 10, text: 'hello' }],
    });
  }

  it('render: the farm refuses a hostile source whatever container the spec claims, reading nothing else', async () => {
    const picks = hostileFiles().filter((f) => f.file.endsWith('clip.mp4'));
    for (const h of picks) {
      for (const container of [null, 'mov'] as const) {
        for (const kind of container === null ? (['video', 'audio'] as const) : (['video'] as const)) {
          clearTraces();
          const out = path.join(work, 'out.mp4');
          await expect(
            renderSpecToFile(renderSpec(h.file, kind, container), { resolveInput: async () => ({ path: h.file, release: async () => {} }), outPath: out, target: 'cpu', workDir: work }),
            `${h.label} (${kind}, container ${container})`,
          ).rejects.toThrow(/PERMANENT/);
          expect(existsSync(out)).toBe(false);
          expectNoForeignAccess(h.file, { dirs: [work] });
        }
      }
    }
    expect(connections).toBe(0);
    expect(httpHits).toBe(0);
  });

  it('render: even bypassing the probe, the built ffmpeg command opens nothing but its input', async () => {
    const fontsDir = path.join(dir, 'fonts');
    mkdirSync(fontsDir, { recursive: true });
    for (const h of hostileFiles().filter((f) => f.file.endsWith('clip.mov'))) {
      for (const container of [null, 'mov'] as const) {
        clearTraces();
        const w = path.join(work, `direct-${Math.random().toString(36).slice(2)}`);
        mkdirSync(w, { recursive: true });
        const cmd = buildFfmpegCommand({ spec: renderSpec(h.file, 'video', container), target: 'cpu', inputs: { src: h.file }, workDir: w, fontsDir, outputPath: path.join(w, 'out.mp4') });
        await expect(runFfmpeg(cmd, { workDir: w }), `${h.label} (container ${container})`).rejects.toThrow();
        expectNoForeignAccess(h.file, { dirs: [w, fontsDir] });
      }
    }
    expect(connections).toBe(0);
    expect(httpHits).toBe(0);
  });

  it('positive control: a real render opens the input, its own work files and fonts only', async () => {
    clearTraces();
    const w = path.join(work, 'legit');
    mkdirSync(w, { recursive: true });
    const out = path.join(w, 'out.mp4');
    const outcome = await renderSpecToFile(renderSpec(legit, 'video', 'mov'), { resolveInput: async () => ({ path: legit, release: async () => {} }), outPath: out, target: 'cpu', workDir: w });
    expect(outcome.output.durationFrames).toBe(15);
    expect(outcome.ffmpegArgs.join(' ')).toMatch(/-f mov -protocol_whitelist file -format_whitelist mov/);
    const seen = readTraces();
    const fonts = seen.filter((a) => a.call === 'open' && /\.(ttf|otf|woff2?)$/.test(a.target)).map((a) => path.dirname(path.resolve(a.target)));
    // The bundled fonts the farm copies to one folder for libass (render.ts bundledFontsDir).
    const fontDirs = [...new Set(fonts)].filter((d) => /\/clipmaker-fonts-[^/]*$/.test(d));
    expect(fontDirs.length).toBe(1);
    expectNoForeignAccess(legit, { dirs: [w, ...fontDirs] });
  });
});
