/**
 * The PixiJS preview shows "source frame N" as the farm does (docs/MEDIA-FORMATS.md, SOURCE TIME)
 * for sources whose video stream does not start at the container's 0: one frame-numbered,
 * B-framed reference clip remuxed as MKV, MPEG-TS (container start 1.4 s; Chromium cannot open it,
 * the preview plays the upload's rendition), MP4 without edit list (frame grid 21 ms in), MP4 with
 * video delayed 0.2 s, an MKV cut keeping its timestamps (container starts at 2 s) and an MP4
 * whose edit list trims the first 12 frames, and a phone-style VFR MP4. Each is uploaded through the editor, placed with
 * sourceIn = 45, and at four playhead frames the preview canvas and the farm's render (`pnpm
 * render`, native ffmpeg) must both decode to the source frame the rule gives. The same holds for
 * codecs Chromium cannot decode (10-bit HEVC with HLG and PQ tags, ProRes, MPEG-2 in MPEG-PS): the
 * preview plays the upload's H.264 transcode, tone-mapped as the farm tone-maps. Then sources with
 * display metadata (portrait phone video stored landscape with 90° and 270° rotation, 180°,
 * anamorphic 2:1 pixels) must show upright and filling the frame (their bands read back) in the
 * preview, as in the farm. The preview reads every source through its edit proxy (made by the
 * farm on upload; the test waits for all of them), so each check covers the proxy's timing too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';
import { grayFrame, previewGray, renderWithFarm, setCustomOutput, within } from '../support/fidelity.ts';
import { FRAME_BANDS_VF, readFrameIndexIn, VFR_FRAMES, vfrFrameAt, VFR_TICKS_EXPR } from '../../render-farm/test/support/media.ts';

const W = 160;
const H = 96;
const FPS = 30;
const FRAMES = 120;
const IN = 45;
const LEN = 12;
/** Playhead offsets into each clip that the test looks at. */
const AT = [0, 1, 6, 11];

interface Variant {
  file: string;
  /** Reference frame this file shows as its source frame 0 (an edit list that trims the start). */
  shift: number;
  /** Reference frame shown as this file's source frame n, where it is not n + shift (VFR). */
  frameAt?: (n: number) => number;
  args: (ref: string, out: string) => string[];
}

const VARIANTS: Variant[] = [
  { file: 'ref.mp4', shift: 0, args: () => [] },
  { file: 'remux.mkv', shift: 0, args: (r, o) => ['-i', r, '-c', 'copy', o] },
  { file: 'remux.ts', shift: 0, args: (r, o) => ['-i', r, '-c', 'copy', '-f', 'mpegts', o] },
  { file: 'noedit.mp4', shift: 0, args: (r, o) => ['-i', r, '-c', 'copy', '-use_editlist', '0', o] },
  { file: 'vdelay.mp4', shift: 0, args: (r, o) => ['-itsoffset', '0.2', '-i', r, '-i', r, '-map', '0:v', '-map', '1:a', '-c', 'copy', o] },
  { file: 'late.mkv', shift: 0, args: (r, o) => ['-itsoffset', '2', '-i', r, '-c', 'copy', o] },
  { file: 'trimmed.mp4', shift: 12, args: (r, o) => ['-ss', String(12 / FPS), '-i', r, '-c', 'copy', o] },
  // Codecs Chromium cannot decode: the preview plays the upload's H.264 transcode (HDR tone-mapped).
  {
    file: 'hevc-hlg.mkv',
    shift: 0,
    args: (r, o) => ['-i', r, '-map', '0', '-c:v', 'libx265', '-x265-params', 'lossless=1:log-level=error', '-pix_fmt', 'yuv420p10le', '-color_primaries', 'bt2020', '-color_trc', 'arib-std-b67', '-colorspace', 'bt2020nc', '-c:a', 'copy', o],
  },
  {
    file: 'hevc-pq.mp4',
    shift: 0,
    args: (r, o) => ['-i', r, '-map', '0', '-c:v', 'libx265', '-x265-params', 'lossless=1:log-level=error', '-pix_fmt', 'yuv420p10le', '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', '-tag:v', 'hvc1', '-c:a', 'copy', o],
  },
  { file: 'prores.mov', shift: 0, args: (r, o) => ['-i', r, '-map', '0', '-c:v', 'prores_ks', '-profile:v', '3', '-c:a', 'pcm_s16le', o] },
  // Phone-style VFR (30 fps, jittered timestamps, a stretch at 15 fps): written in beforeAll.
  { file: 'vfr.mp4', shift: 0, frameAt: vfrFrameAt, args: () => [] },
  { file: 'mpeg2.mpg', shift: 0, args: (r, o) => ['-i', r, '-map', '0', '-c:v', 'mpeg2video', '-q:v', '1', '-bf', '2', '-g', '15', '-c:a', 'mp2', '-f', 'mpeg', o] },
];

/** Sources with display metadata: stored turned or with non-square pixels, shown upright and at their displayed size. */
interface Oriented {
  file: string;
  /** The displayed picture is portrait (H x W) or landscape (W x H). */
  portrait: boolean;
  /** Filters from the upright W x H (or H x W) band picture to what the file stores. */
  stored: string;
  /** rotate tag written by a stream copy (ffmpeg 5.1 writes the display matrix from it). */
  rotate?: number;
}
const ORIENTED: Oriented[] = [
  // A phone's portrait video: stored landscape (the picture turned clockwise) plus a display matrix.
  { file: 'rot90.mp4', portrait: true, stored: `scale=${H}:${W}:flags=neighbor,setsar=1,transpose=clock`, rotate: 90 },
  { file: 'rot270.mp4', portrait: true, stored: `scale=${H}:${W}:flags=neighbor,setsar=1,transpose=cclock`, rotate: 270 },
  { file: 'rot180.mp4', portrait: false, stored: `scale=${W}:${H}:flags=neighbor,setsar=1,hflip,vflip`, rotate: 180 },
  // Anamorphic: half the width stored, pixels twice as wide as tall.
  { file: 'anamorphic.mp4', portrait: false, stored: `scale=${W / 2}:${H}:flags=neighbor,setsar=2/1` },
];

type Editor = { op(name: string, ...args: unknown[]): unknown; spec(): unknown; timeline(): { assets: { id: string; name: string }[] } };

async function op(page: Page, name: string, ...args: unknown[]): Promise<unknown> {
  return page.evaluate(([n, a]) => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.op(n as string, ...(a as unknown[])), [name, args] as const);
}

describe('preview shows the farm\'s source frame for sources that do not start at 0', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-preview-containers-'));
    const ref = path.join(work, 'ref.mp4');
    ffmpeg([
      '-f', 'lavfi', '-i', `color=c=black:s=16x12:r=${FPS}:d=${FRAMES / FPS}`, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${FRAMES / FPS}`,
      '-vf', `${FRAME_BANDS_VF},scale=${W}:${H}:flags=neighbor,setsar=1,format=yuv420p`,
      '-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '0', '-bf', '2', '-g', '15', '-c:a', 'aac', ref,
    ]);
    for (const v of VARIANTS) if (v.file !== 'ref.mp4' && v.file !== 'vfr.mp4') ffmpeg(v.args(ref, path.join(work, v.file)));
    // Frame k stamped at its VFR tick (90 kHz) as written, no frame-rate conversion.
    ffmpeg([
      '-f', 'lavfi', '-i', `color=c=black:s=16x12:r=${FPS}:d=${VFR_FRAMES / FPS}`, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${VFR_FRAMES / FPS}`,
      '-vf', `${FRAME_BANDS_VF},scale=${W}:${H}:flags=neighbor,setsar=1,format=yuv420p,settb=1/90000,setpts='${VFR_TICKS_EXPR}'`,
      '-frames:v', String(VFR_FRAMES), '-fps_mode', 'passthrough', '-enc_time_base:v', '1/90000', '-video_track_timescale', '90000',
      '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '0', '-bf', '2', '-g', '15', '-c:a', 'aac', '-shortest', path.join(work, 'vfr.mp4'),
    ]);
    for (const o of ORIENTED) {
      const coded = path.join(work, `coded-${o.file}`);
      ffmpeg(['-f', 'lavfi', '-i', `color=c=black:s=16x12:r=${FPS}:d=${FRAMES / FPS}`, '-vf', `${FRAME_BANDS_VF},${o.stored},format=yuv420p`, '-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '0', '-g', '15', coded]);
      // ffmpeg 5.1 writes the display matrix from the rotate tag on a stream copy only.
      ffmpeg(['-i', coded, '-c', 'copy', ...(o.rotate === undefined ? [] : ['-metadata:s:v:0', `rotate=${o.rotate}`]), path.join(work, o.file)]);
    }
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (!process.env.CM_KEEP_FIDELITY) rmSync(work, { recursive: true, force: true });
    else console.log(`preview frames kept in ${work}`);
  });

  it('decodes the same source frame from the preview canvas and the farm at every checked playhead', { timeout: 300_000 }, async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    const consoleLines: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    try {
      await signUpWithProject(page, app.url, { name: 'Pre View', email: 'preview-containers@example.com' }, 'Containers');
      await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
      const setOutput = (w: number, h: number) => setCustomOutput(page, w, h);
      await setOutput(W, H);
      for (const f of [...VARIANTS.map((v) => v.file), ...ORIENTED.map((o) => o.file)]) {
        const n = await page.locator('[data-testid=asset]').count();
        await uploadMedia(page, path.join(work, f));
        await expect.poll(() => page.locator('[data-testid=asset]').count(), { timeout: 30_000 }).toBe(n + 1);
      }
      expect(await page.locator('[data-testid=upload-error]').count()).toBe(0);
      // The preview plays each video's edit proxy (docs/MEDIA-FORMATS.md "Edit proxies") once the farm made it: wait for all.
      const videoCount = VARIANTS.length + ORIENTED.length;
      await expect.poll(() => page.locator('[data-testid=proxy-badge]').count(), { timeout: 180_000, interval: 1000 }).toBe(videoCount);
      const assets = await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.timeline().assets);
      const idOf = (name: string) => assets.find((a) => a.name === name)!.id;

      // One clip per file, source frames [IN, IN + LEN), back to back on V1.
      const checks: { file: string; frame: number; want: number }[] = [];
      for (const [i, v] of VARIANTS.entries()) {
        await op(page, 'addClip', { assetId: idOf(v.file), trackId: 'v1', start: i * LEN, sourceIn: IN, sourceOut: IN + LEN });
        for (const k of AT) checks.push({ file: v.file, frame: i * LEN + k, want: v.frameAt ? v.frameAt(IN + k) : IN + k + v.shift });
      }
      expect(await page.locator('[data-testid=timeline-clip]').count()).toBe(VARIANTS.length);

      const farmRender = (tag: string): string => renderWithFarm(spec, work, tag, path.join(app.dataDir, 'storage'));
      const previewPixels = (f: number): Promise<Uint8Array> => previewGray(page, f, work);

      let spec = await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.spec());
      const farm = farmRender('containers');
      await page.waitForFunction(() => (window as never as { __clipmakerPreview?: { ready(): boolean } }).__clipmakerPreview?.ready());
      const results = [];
      for (const c of checks) {
        const preview = readFrameIndexIn(await previewPixels(c.frame), W, { x: 0, y: 0, w: W, h: H });
        const rendered = readFrameIndexIn(grayFrame(farm, c.frame), W, { x: 0, y: 0, w: W, h: H });
        results.push({ ...c, preview, farm: rendered });
      }
      console.log('preview vs farm', JSON.stringify(results));
      console.log('preview videos', JSON.stringify(await page.evaluate(() => (window as never as { __clipmakerPreview: { videos(): unknown } }).__clipmakerPreview.videos())));
      // Through the proxies: every decoder the preview made reads ?rendition=proxy.
      const srcs = await page.evaluate(() => [...document.querySelectorAll('video[data-clip-id]')].map((v) => (v as HTMLVideoElement).dataset.src ?? ''));
      expect(srcs.length).toBeGreaterThan(0);
      expect(srcs.filter((s) => !s.endsWith('?rendition=proxy'))).toEqual([]);
      for (const r of results) {
        expect(r.farm, `${r.file} at timeline frame ${r.frame}: farm`).toBe(r.want);
        expect(r.preview, `${r.file} at timeline frame ${r.frame}: preview`).toBe(r.want);
      }

      // Rotation and pixel aspect: each source on V2 above the rest must fill its output upright,
      // bands across the whole width (the picture, its left and right thirds).
      for (const portrait of [true, false]) {
        const [w, h] = portrait ? [H, W] : [W, H];
        await setOutput(w, h);
        const placed: { file: string; start: number }[] = [];
        for (const o of ORIENTED.filter((x) => x.portrait === portrait)) {
          const start = (VARIANTS.length + ORIENTED.indexOf(o)) * LEN;
          const before = await page.locator('[data-testid=timeline-clip]').count();
          await op(page, 'addClip', { assetId: idOf(o.file), trackId: 'v2', start, sourceIn: IN, sourceOut: IN + LEN });
          await expect.poll(() => page.locator('[data-testid=timeline-clip]').count()).toBe(before + 1);
          placed.push({ file: o.file, start });
        }
        spec = await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.spec());
        const farmOut = farmRender(portrait ? 'portrait' : 'landscape');
        const third = Math.floor(w / 3);
        for (const { file, start } of placed) {
          for (const k of AT) {
            const px = await previewPixels(start + k);
            const farmPx = grayFrame(farmOut, start + k);
            if (k === AT[1]) {
              // The ffmpeg.wasm range preview (the farm's graph, wasm target) of the same frame.
              const b64 = await within(90_000, `ffmpeg.wasm range ${file}`, page.evaluate((f) => (window as never as { __clipmakerEditor: { renderRangeBase64(s: number, e: number): Promise<string> } }).__clipmakerEditor.renderRangeBase64(f, f + 1), start + k));
              const wasmMp4 = path.join(work, `wasm-${file}.mp4`);
              writeFileSync(wasmMp4, Buffer.from(b64, 'base64'));
              expect(readFrameIndexIn(grayFrame(wasmMp4, 0), w, { x: 0, y: 0, w, h }), `${file} at timeline frame ${start + k}: ffmpeg.wasm`).toBe(IN + k);
            }
            for (const region of [{ x: 0, y: 0, w, h }, { x: 0, y: 0, w: third, h }, { x: w - third, y: 0, w: third, h }]) {
              expect(readFrameIndexIn(px, w, region), `${file} at timeline frame ${start + k}: preview ${JSON.stringify(region)}`).toBe(IN + k);
              expect(readFrameIndexIn(farmPx, w, region), `${file} at timeline frame ${start + k}: farm ${JSON.stringify(region)}`).toBe(IN + k);
            }
          }
        }
      }
      // Filmstrips and waveforms were made for every source, rotated and transcoded ones included.
      expect(consoleLines.filter((l) => l.includes('filmstrip/waveform failed'))).toEqual([]);
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await page.screenshot({ path: path.join(tmpdir(), 'cm-preview-containers-failure.png'), fullPage: true }).catch(() => {});
      throw new Error(`${(err as Error).message}\n--- page errors ---\n${pageErrors.join('\n')}\n--- console ---\n${consoleLines.slice(-40).join('\n')}\n--- server ---\n${app.logs().slice(-3000)}`);
    } finally {
      await page.close();
    }
  });
});
