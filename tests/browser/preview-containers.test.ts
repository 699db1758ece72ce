/**
 * The PixiJS preview shows "source frame N" as the farm does (docs/MEDIA-FORMATS.md, SOURCE TIME)
 * for sources whose video stream does not start at the container's 0: one frame-numbered,
 * B-framed reference clip remuxed as MKV, MPEG-TS (container start 1.4 s; Chromium cannot open it,
 * the preview plays the upload's rendition), MP4 without edit list (frame grid 21 ms in), MP4 with
 * video delayed 0.2 s, an MKV cut keeping its timestamps (container starts at 2 s) and an MP4
 * whose edit list trims the first 12 frames. Each is uploaded through the editor, placed with
 * sourceIn = 45, and at four playhead frames the preview canvas and the farm's render (`pnpm
 * render`, native ffmpeg) must both decode to the source frame the rule gives. Then a portrait
 * phone video stored landscape with a 90° display rotation must show upright and filling a
 * portrait frame (its bands read back) in the preview, as in the farm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';
import { within } from '../support/fidelity.ts';
import { readFrameIndexIn } from '../../render-farm/test/support/media.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const W = 160;
const H = 96;
const FPS = 30;
const FRAMES = 120;
const IN = 45;
const LEN = 12;
/** Playhead offsets into each clip that the test looks at. */
const AT = [0, 1, 6, 11];
/** Frame N shows N in binary: 12 horizontal bands (band 0 = top = bit 0). */
const BANDS_VF = "geq=lum='255*mod(floor(N/pow(2\\,Y))\\,2)':cb=128:cr=128";

interface Variant {
  file: string;
  /** Reference frame this file shows as its source frame 0 (an edit list that trims the start). */
  shift: number;
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
];

type Editor = { op(name: string, ...args: unknown[]): unknown; spec(): unknown; timeline(): { assets: { id: string; name: string }[] } };

async function op(page: Page, name: string, ...args: unknown[]): Promise<unknown> {
  return page.evaluate(([n, a]) => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.op(n as string, ...(a as unknown[])), [name, args] as const);
}

/** 8-bit gray pixels of a picture file, or of frame `n` of a video. */
function gray(file: string, n?: number): Uint8Array {
  const select = n === undefined ? [] : ['-vf', `select=eq(n\\,${n})`];
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, ...select, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return new Uint8Array(r.stdout);
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
      '-vf', `${BANDS_VF},scale=${W}:${H}:flags=neighbor,setsar=1,format=yuv420p`,
      '-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '0', '-bf', '2', '-g', '15', '-c:a', 'aac', ref,
    ]);
    for (const v of VARIANTS) if (v.file !== 'ref.mp4') ffmpeg(v.args(ref, path.join(work, v.file)));
    // A phone's portrait video: stored landscape (the picture turned clockwise) plus a display matrix.
    const coded = path.join(work, 'rot-coded.mp4');
    ffmpeg(['-f', 'lavfi', '-i', `color=c=black:s=16x12:r=${FPS}:d=${FRAMES / FPS}`, '-vf', `${BANDS_VF},scale=${H}:${W}:flags=neighbor,setsar=1,transpose=clock,format=yuv420p`, '-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '0', '-g', '15', coded]);
    // ffmpeg 5.1 writes the display matrix from the rotate tag on a stream copy only.
    ffmpeg(['-i', coded, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', path.join(work, 'rot90.mp4')]);
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
      const setOutput = async (w: number, h: number) => {
        await page.selectOption('[data-testid=aspect]', 'custom');
        await page.fill('[data-testid=custom-width]', String(w));
        await page.fill('[data-testid=custom-height]', String(h));
        await page.click('[data-testid=custom-apply]');
        await expect.poll(() => page.textContent('[data-testid=output-size]')).toBe(`${w}×${h}`);
      };
      await setOutput(W, H);
      for (const f of [...VARIANTS.map((v) => v.file), 'rot90.mp4']) {
        const n = await page.locator('[data-testid=asset]').count();
        await uploadMedia(page, path.join(work, f));
        await expect.poll(() => page.locator('[data-testid=asset]').count(), { timeout: 30_000 }).toBe(n + 1);
      }
      expect(await page.locator('[data-testid=upload-error]').count()).toBe(0);
      const assets = await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.timeline().assets);
      const idOf = (name: string) => assets.find((a) => a.name === name)!.id;

      // One clip per file, source frames [IN, IN + LEN), back to back on V1.
      const checks: { file: string; frame: number; want: number }[] = [];
      for (const [i, v] of VARIANTS.entries()) {
        await op(page, 'addClip', { assetId: idOf(v.file), trackId: 'v1', start: i * LEN, sourceIn: IN, sourceOut: IN + LEN });
        for (const k of AT) checks.push({ file: v.file, frame: i * LEN + k, want: IN + k + v.shift });
      }
      expect(await page.locator('[data-testid=timeline-clip]').count()).toBe(VARIANTS.length);

      const farmRender = (tag: string): string => {
        const specPath = path.join(work, `spec-${tag}.json`);
        writeFileSync(specPath, JSON.stringify(spec));
        const out = path.join(work, `farm-${tag}.mp4`);
        const r = spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), ['render-farm/src/cli.ts', specPath, out, '--media-root', path.join(app.dataDir, 'storage'), '--target', 'cpu'], { cwd: ROOT, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`pnpm render failed: ${r.stderr.slice(-2000)}`);
        return out;
      };
      const previewPixels = async (f: number): Promise<Uint8Array> => {
        const png = await within(30_000, `preview frame ${f}`, page.evaluate(async (n) => {
          const p = (window as never as { __clipmakerPreview: { drawFrame(f: number, full: boolean): Promise<void>; png(): string } }).__clipmakerPreview;
          await p.drawFrame(n, true);
          return p.png();
        }, f));
        const file = path.join(work, `pixi-${f}.png`);
        writeFileSync(file, Buffer.from(png.replace(/^data:image\/png;base64,/, ''), 'base64'));
        return gray(file);
      };

      let spec = await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.spec());
      const farm = farmRender('containers');
      await page.waitForFunction(() => (window as never as { __clipmakerPreview?: { ready(): boolean } }).__clipmakerPreview?.ready());
      const results = [];
      for (const c of checks) {
        const preview = readFrameIndexIn(await previewPixels(c.frame), W, { x: 0, y: 0, w: W, h: H });
        const rendered = readFrameIndexIn(gray(farm, c.frame), W, { x: 0, y: 0, w: W, h: H });
        results.push({ ...c, preview, farm: rendered });
      }
      console.log('preview vs farm', JSON.stringify(results));
      console.log('preview videos', JSON.stringify(await page.evaluate(() => (window as never as { __clipmakerPreview: { videos(): unknown } }).__clipmakerPreview.videos())));
      for (const r of results) {
        expect(r.farm, `${r.file} at timeline frame ${r.frame}: farm`).toBe(r.want);
        expect(r.preview, `${r.file} at timeline frame ${r.frame}: preview`).toBe(r.want);
      }

      // Rotation: a portrait timeline; the 90° source on V2 above the rest must fill it upright.
      await setOutput(H, W);
      const start = VARIANTS.length * LEN;
      await op(page, 'addClip', { assetId: idOf('rot90.mp4'), trackId: 'v2', start, sourceIn: IN, sourceOut: IN + LEN });
      await expect.poll(() => page.locator('[data-testid=timeline-clip]').count()).toBe(VARIANTS.length + 1);
      spec = await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.spec());
      const farmRot = farmRender('rot90');
      for (const k of AT) {
        const px = await previewPixels(start + k);
        // The whole picture, and its left and right thirds: upright bands across the full width.
        for (const region of [{ x: 0, y: 0, w: H, h: W }, { x: 0, y: 0, w: 32, h: W }, { x: 64, y: 0, w: 32, h: W }]) {
          expect(readFrameIndexIn(px, H, region), `rot90 at timeline frame ${start + k}: preview ${JSON.stringify(region)}`).toBe(IN + k);
        }
        expect(readFrameIndexIn(gray(farmRot, start + k), H, { x: 0, y: 0, w: H, h: W }), `rot90 at timeline frame ${start + k}: farm`).toBe(IN + k);
      }
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await page.screenshot({ path: path.join(tmpdir(), 'cm-preview-containers-failure.png'), fullPage: true }).catch(() => {});
      throw new Error(`${(err as Error).message}\n--- page errors ---\n${pageErrors.join('\n')}\n--- console ---\n${consoleLines.slice(-40).join('\n')}\n--- server ---\n${app.logs().slice(-3000)}`);
    } finally {
      await page.close();
    }
  });
});
