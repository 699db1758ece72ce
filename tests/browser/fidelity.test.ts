/**
 * WYSIWYG: the same spec at the same frame drawn three ways must match — the PixiJS realtime
 * preview (browser video decoding + WebGL), the ffmpeg.wasm range preview in the page (shared
 * builder, wasm target) and the farm's render code (`pnpm render`, native ffmpeg). Pairwise SSIM
 * from ffmpeg's ssim filter ("All:") >= 0.97. The spec exercises a keyframed crop pan (interpolated
 * frame), a subtitle in the bundled font with outline, and a text overlay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';
import { ssim, within } from '../support/fidelity.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FRAME = 20;



function frameOf(video: string, n: number, out: string): void {
  ffmpeg(['-i', video, '-vf', `select=eq(n\\,${n})`, '-frames:v', '1', out]);
}

describe('preview fidelity: PixiJS vs ffmpeg.wasm vs farm', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-fidelity-'));
    // A half-transparent logo, larger than MAX_IMAGE_SIDE, so sharp's normalisation is exercised.
    ffmpeg(['-f', 'lavfi', '-i', 'color=c=0xFF8800@0.6:s=1600x800,format=rgba', '-frames:v', '1', path.join(work, 'logo.png')]);
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', path.join(work, 'src.mp4')]);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    // CM_KEEP_FIDELITY=1 keeps the three frames for a look.
    if (!process.env.CM_KEEP_FIDELITY) rmSync(work, { recursive: true, force: true });
    else console.log(`fidelity frames kept in ${work}`);
  });

  it('draws the same frame in all three (SSIM >= 0.97)', { timeout: 150_000 }, async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    const consoleLines: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    await page.addInitScript(() => localStorage.setItem('clipmakerFfmpegDebug', '1'));
    try {
      await page.goto(`${app.url}/signup`, { waitUntil: 'networkidle' });
      await page.fill('input[name=name]', 'Fi Delity');
      await page.fill('input[name=email]', 'fi@example.com');
      await page.fill('input[name=password]', 'correct horse battery');
      await page.click('button[type=submit]');
      await page.waitForURL((url) => url.pathname === '/projects');
      await page.fill('input[name=name]', 'Fidelity');
      await page.click('text=Create project');
      await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');

      // A small custom 9:16 output keeps all three renders quick.
      await page.selectOption('[data-testid=aspect]', 'custom');
      await page.fill('[data-testid=custom-width]', '360');
      await page.fill('[data-testid=custom-height]', '640');
      await page.click('[data-testid=custom-apply]');
      await expect.poll(() => page.textContent('[data-testid=output-size]')).toBe('360×640');

      await uploadMedia(page, path.join(work, 'logo.png'));
      await expect.poll(() => page.locator('[data-testid=asset]').count()).toBe(1);
      expect(await page.textContent('[data-testid=asset]')).toContain('1024×512');
      await uploadMedia(page, path.join(work, 'src.mp4'));
      await page.locator('[data-testid=asset]', { hasText: 'src.mp4' }).locator('[data-testid=add-to-timeline]').click();
      await page.waitForSelector('[data-testid=timeline-clip]');
      const clipId = (await page.getAttribute('[data-testid=timeline-clip]', 'data-clip-id'))!;

      // A pan from the left edge (frame 0) to the right edge (frame 40): frame 20 is interpolated.
      await page.evaluate((id) => {
        const ed = (window as never as { __clipmakerEditor: { setCrop(c: string, f: number, r: object): void } }).__clipmakerEditor;
        ed.setCrop(id, 0, { x: 0, y: 0, w: 202, h: 360 });
        ed.setCrop(id, 40, { x: 438, y: 0, w: 202, h: 360 });
      }, clipId);
      await expect.poll(() => page.locator('[data-testid=keyframe]').count()).toBe(2);

      await page.fill('[data-testid=cue-start]', '0');
      await page.fill('[data-testid=cue-end]', '1.9');
      await page.fill('[data-testid=cue-text]', 'Same frame everywhere');
      await page.click('[data-testid=add-cue]');
      await page.waitForSelector('[data-testid=cue]');
      await page.fill('[data-testid=style-size]', '28');
      await page.press('[data-testid=style-size]', 'Enter');
      // A text layer and the logo as an image layer (v1's overlays are clips on upper tracks now).
      await page.selectOption('[data-testid=target-video-track]', 'v2');
      await page.fill('[data-testid=text-draft]', 'LOGO');
      await page.click('[data-testid=add-text]');
      await expect.poll(() => page.locator('[data-testid=timeline-clip][data-clip-kind=text]').count()).toBe(1);
      await page.click('[data-testid=add-video-track]');
      await expect.poll(() => page.locator('[data-testid=target-video-track] option').count()).toBe(3);
      await page.selectOption('[data-testid=target-video-track]', { label: 'Video 3' });
      await page.locator('[data-testid=asset]', { hasText: 'logo.png' }).locator('[data-testid=add-to-timeline]').click();
      await expect.poll(() => page.locator('[data-testid=timeline-clip][data-clip-kind=image]').count()).toBe(1);
      expect(await page.locator('[data-testid=edit-error]').count()).toBe(0);

      const threeWay = async (tag: string) => {
        // 1) PixiJS: the preview canvas at the frame, once drawn (with the logo decoded).
        await page.waitForFunction(() => (window as never as { __clipmakerPreview?: { ready(): boolean } }).__clipmakerPreview?.ready());
        await page.evaluate(() => (window as never as { __clipmakerPreview: { drawFrame(f: number): Promise<void> } }).__clipmakerPreview.drawFrame(1));
        await page.waitForFunction(() => (window as never as { __clipmakerPreview: { imagesLoading(): number } }).__clipmakerPreview.imagesLoading() === 0);
        const png = await within(30_000, 'PixiJS frame', page.evaluate(async (f) => {
          const p = (window as never as { __clipmakerPreview: { drawFrame(f: number, full: boolean): Promise<void>; png(): string } }).__clipmakerPreview;
          await p.drawFrame(f, true);
          return p.png();
        }, FRAME));
        const pixi = path.join(work, `pixi-${tag}.png`);
        writeFileSync(pixi, Buffer.from(png.replace(/^data:image\/png;base64,/, ''), 'base64'));

        // 2) ffmpeg.wasm: the one-frame range [FRAME, FRAME + 1) rendered in the page.
        const wasmB64 = await within(60_000, 'ffmpeg.wasm range', page.evaluate((f) => (window as never as { __clipmakerEditor: { renderRangeBase64(s: number, e: number): Promise<string> } }).__clipmakerEditor.renderRangeBase64(f, f + 1), FRAME));
        const wasmMp4 = path.join(work, `wasm-${tag}.mp4`);
        writeFileSync(wasmMp4, Buffer.from(wasmB64, 'base64'));
        const wasm = path.join(work, `wasm-${tag}.png`);
        frameOf(wasmMp4, 0, wasm);

        // 3) The farm's code on the same spec (compiled in the page from the live doc).
        const spec = await page.evaluate(() => (window as never as { __clipmakerEditor: { spec(): unknown } }).__clipmakerEditor.spec());
        const specPath = path.join(work, `spec-${tag}.json`);
        writeFileSync(specPath, JSON.stringify(spec));
        const farmMp4 = path.join(work, `farm-${tag}.mp4`);
        const r = spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), ['render-farm/src/cli.ts', specPath, farmMp4, '--media-root', path.join(app.dataDir, 'storage'), '--target', 'cpu'], { cwd: ROOT, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`pnpm render failed: ${r.stderr.slice(-2000)}`);
        const farm = path.join(work, `farm-${tag}.png`);
        frameOf(farmMp4, FRAME, farm);

        const scores = { pixiVsFarm: ssim(pixi, farm), wasmVsFarm: ssim(wasm, farm), pixiVsWasm: ssim(pixi, wasm) };
        console.log(`fidelity SSIM (${tag})`, JSON.stringify(scores));
        expect(scores.wasmVsFarm).toBeGreaterThanOrEqual(0.97);
        expect(scores.pixiVsFarm).toBeGreaterThanOrEqual(0.97);
        expect(scores.pixiVsWasm).toBeGreaterThanOrEqual(0.97);
      };

      await threeWay('outline');
      // The same with the subtitle in a box at the top (libass BorderStyle 3).
      await page.check('[data-testid=style-box]');
      await page.selectOption('[data-testid=style-position]', 'top');
      await expect.poll(() => page.evaluate(() => (window as never as { __clipmakerEditor: { spec(): { subtitles: { style: { box: boolean; position: string } } } } }).__clipmakerEditor.spec().subtitles.style)).toMatchObject({ box: true, position: 'top' });
      await threeWay('box');
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await page.screenshot({ path: path.join(tmpdir(), 'cm-fidelity-failure.png'), fullPage: true }).catch(() => {});
      throw new Error(`${(err as Error).message}\n--- page errors ---\n${pageErrors.join('\n')}\n--- console ---\n${consoleLines.slice(-40).join('\n')}\n--- server ---\n${app.logs().slice(-3000)}`);
    } finally {
      await page.close();
    }
  });
});
