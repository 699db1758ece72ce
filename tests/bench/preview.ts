/**
 * `pnpm bench:preview`: the editor's client-side preview in headless Chromium (software WebGL here)
 * against the real product (built app, fresh database). Needs the app built (`pnpm build`).
 *
 *  - playback: 5 s of 1x playback of a 9:16 1080x1920 timeline with 4 layers (the 1280x720 30 fps
 *    source full frame, the same source as a picture-in-picture, a boxed text layer and a rotating
 *    logo) and a subtitle, drawn at the displayed size; per drawn frame the CPU-side draw time
 *    (texture uploads + render submit) and the interval between drawn frames, p50/p95.
 *  - seek: 30 random frames, time from "show frame N" to N drawn on the canvas (video seek + draw), p95.
 *  - filmstrip: ffmpeg.wasm thumbnails strip of the 60 s clip (media already in the wasm FS).
 * BENCH_BUILDS=app/build-baseline,app/build runs everything once per build (APP_BUILD_DIR), in that
 * order, in one process, for before/after figures side by side. BENCH_PROFILE=1 also records a CPU
 * profile of the page during playback and prints its top self-time functions on stderr. With
 * SCREENSHOT_DIR set, the preview canvas is kept mid-playback as bench-preview-playing-<build>.png.
 * Prints one JSON object on stdout; progress goes to stderr.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { startApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';

const log = (m: string) => process.stderr.write(`[bench:preview] ${m}\n`);

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100;
}

type Hooks = {
  __clipmakerPreview: { ready(): boolean; drawFrame(f: number): Promise<void>; drawTimes(): number[]; frameIntervals(): number[]; resetStats(): void };
  __clipmakerEditor: {
    spec(): { sources: Array<{ id: string }>; output: { durationFrames: number } };
    play(): void;
    pause(): void;
    filmstripMs(id: string): Promise<number>;
    op(name: string, ...args: unknown[]): unknown;
    timeline(): { assets: Array<{ id: string; name: string }> };
  };
};

const work = mkdtempSync(path.join(tmpdir(), 'cm-bench-preview-'));
const clip = path.join(work, 'clip60.mp4');
const logo = path.join(work, 'logo.png');
ffmpeg(['-f', 'lavfi', '-i', 'color=c=0xFF8800@0.8:s=256x256,format=rgba', '-frames:v', '1', logo]);
log('making a 60 s 1280x720 clip');
ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=60', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=60', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '60', '-c:a', 'aac', '-shortest', clip]);
async function measure(browser: Browser, buildDir: string) {
  const app = await startApp({ APP_BUILD_DIR: buildDir });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await signUpWithProject(page, app.url, { name: 'Bench', email: 'bench@example.com' }, 'Bench');
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
    log('uploading');
    await uploadMedia(page, clip);
    await page.click('[data-testid=add-to-timeline]', { timeout: 120_000 });
    await page.waitForSelector('[data-testid=timeline-clip]');
    await page.fill('[data-testid=cue-start]', '0');
    await page.fill('[data-testid=cue-end]', '60');
    await page.fill('[data-testid=cue-text]', 'A subtitle on every frame');
    await page.click('[data-testid=add-cue]');
    await uploadMedia(page, logo);
    await page.waitForFunction(() => (window as unknown as Hooks).__clipmakerEditor.timeline().assets.length === 2);
    // The 4 layers: main (V1), PiP (V2), text (V3), logo (V4).
    await page.evaluate(() => {
      const ed = (window as unknown as Hooks).__clipmakerEditor;
      const assets = ed.timeline().assets;
      const video = assets.find((a) => a.name === 'clip60.mp4')!.id;
      const image = assets.find((a) => a.name === 'logo.png')!.id;
      const v3 = ed.op('addTrack', { kind: 'video' }) as string;
      const v4 = ed.op('addTrack', { kind: 'video' }) as string;
      const pip = ed.op('addClip', { assetId: video, trackId: 'v2', start: 0, sourceIn: 300, sourceOut: 1800 }) as string;
      ed.op('setTransform', pip, { x: 0.7, y: 0.25, scaleX: 0.4, scaleY: 0.4 }, 0);
      ed.op('addTextClip', { trackId: v3, start: 0, duration: 1800, text: 'LIVE from the bench', style: { boxColor: '#00000099', strokeWidth: 3 } });
      const lg = ed.op('addImageClip', { assetId: image, trackId: v4, start: 0, duration: 1800 }) as string;
      ed.op('setTransformKeyframe', lg, { frame: 0, easing: 'linear', x: 0.15, y: 0.1, scaleX: 0.2, scaleY: 0.2, rotation: 0, opacity: 0.9, anchorX: 0.5, anchorY: 0.5 });
      ed.op('setTransformKeyframe', lg, { frame: 1799, easing: 'linear', x: 0.15, y: 0.1, scaleX: 0.2, scaleY: 0.2, rotation: 720, opacity: 0.9, anchorX: 0.5, anchorY: 0.5 });
    });
    await page.waitForFunction(() => (window as unknown as Hooks).__clipmakerPreview?.ready());
    // Let the automatic filmstrip + waveform finish so they do not compete with playback.
    await page.waitForSelector('[data-testid=waveform]', { timeout: 120_000 });
    // The farm's edit proxy (540p, a key frame every 10 frames): the preview switches to it.
    await page.waitForSelector('[data-testid=proxy-badge]', { timeout: 300_000 });
    await page.waitForFunction(() => (window as unknown as Hooks).__clipmakerPreview?.ready());

    log('playback 5 s');
    await page.evaluate(() => (window as unknown as Hooks).__clipmakerPreview.drawFrame(0));
    await page.evaluate(() => {
      const w = window as unknown as Hooks;
      w.__clipmakerPreview.resetStats();
      w.__clipmakerEditor.play();
    });
    const cdp = process.env.BENCH_PROFILE ? await page.context().newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    if (process.env.SCREENSHOT_DIR) {
      // What playback shows (the realtime upload paths), to look at: mid-playback, the canvas only.
      await page.waitForTimeout(2500);
      await page.locator('[data-testid=preview-canvas]').screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `bench-preview-playing-${path.basename(buildDir)}.png`) });
      await page.waitForTimeout(2500);
    } else await page.waitForTimeout(5000);
    if (cdp) logProfile(buildDir, ((await cdp.send('Profiler.stop')) as { profile: CpuProfile }).profile);
    const playback = await page.evaluate(() => {
      const w = window as unknown as Hooks;
      w.__clipmakerEditor.pause();
      return { draw: w.__clipmakerPreview.drawTimes(), intervals: w.__clipmakerPreview.frameIntervals() };
    });

    log('seeks');
    const seeks = await page.evaluate(async () => {
      const w = window as unknown as Hooks;
      const total = w.__clipmakerEditor.spec().output.durationFrames;
      const out: number[] = [];
      let seed = 7;
      for (let i = 0; i < 30; i++) {
        seed = (seed * 48271) % 2147483647;
        const f = seed % total;
        const t0 = performance.now();
        await w.__clipmakerPreview.drawFrame(f);
        out.push(performance.now() - t0);
      }
      return out;
    });

    log('filmstrip');
    const filmstripMs = await page.evaluate(async () => {
      const w = window as unknown as Hooks;
      return w.__clipmakerEditor.filmstripMs(w.__clipmakerEditor.spec().sources[0]!.id);
    });

    const result = {
      build: buildDir,
      environment: { chromium: browser.version(), webgl: 'SwiftShader (software)', output: '1080x1920', source: '1280x720 30fps h264, played through its edit proxy (540p, a key frame every 10 frames)', layers: 'main + PiP + text + rotating logo, and a subtitle' },
      playback: {
        frames: playback.draw.length,
        drawMsP50: pct(playback.draw, 50),
        drawMsP95: pct(playback.draw, 95),
        frameIntervalMsP50: pct(playback.intervals, 50),
        frameIntervalMsP95: pct(playback.intervals, 95),
        fps: Math.round((playback.intervals.length / (playback.intervals.reduce((a, b) => a + b, 0) / 1000)) * 10) / 10,
      },
      seekToFrameMsP50: pct(seeks, 50),
      seekToFrameMsP95: pct(seeks, 95),
      filmstrip60sMs: Math.round(filmstripMs),
    };
    await page.close();
    return result;
  } finally {
    await app.stop();
  }
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  samples: number[];
  timeDeltas: number[];
}

/** Top self-time functions of a CDP CPU profile, on stderr. */
function logProfile(build: string, p: CpuProfile): void {
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000));
  const byFn = new Map<string, number>();
  for (const n of p.nodes) {
    const file = n.callFrame.url.split('/').pop() || '(native)';
    const key = `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber}`;
    byFn.set(key, (byFn.get(key) ?? 0) + (self.get(n.id) ?? 0));
  }
  const total = [...byFn.values()].reduce((a, b) => a + b, 0);
  log(`profile ${build}: ${Math.round(total)} ms sampled in 5 s`);
  for (const [k, ms] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 25)) log(`  ${ms.toFixed(1).padStart(7)} ms  ${k}`);
}

const browser = await launchChromium();
try {
  const runs = [];
  for (const dir of (process.env.BENCH_BUILDS ?? 'app/build').split(',')) {
    log(`build ${dir}`);
    runs.push(await measure(browser, dir));
  }
  const result = { bench: 'preview', runs };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await browser.close();
  rmSync(work, { recursive: true, force: true });
}
