/**
 * Playing across a cut into a clip whose media is still loading (its <video> is made when the clip
 * first comes on screen; here its file answers 400 ms late), the realtime preview keeps showing the
 * last picture instead of drawing frames with the layer missing (black), then shows the new clip.
 * Counted by the stage itself (loadStats: held draws, frames drawn without a video layer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { makeLandscapeVideo } from '../support/media.ts';

type Editor = { op(name: string, ...args: unknown[]): unknown; timeline(): { assets: { id: string; name: string }[]; clips: unknown[] }; play(): void; pause(): void };
type Preview = { ready(): boolean; drawnFrame(): number; drawFrame(f: number): Promise<void>; loadStats(): { held: number; drawnWithout: number } };

describe('preview playback into media that is still loading', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-preview-hold-'));
    makeLandscapeVideo(path.join(work, 'first.mp4'), 2);
    makeLandscapeVideo(path.join(work, 'second.mp4'), 2);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('holds the last picture across the cut and never draws the frame without the clip', { timeout: 180_000 }, async () => {
    const page = await browser.newPage();
    try {
      await signUpWithProject(page, app.url, { name: 'Hold Frame', email: 'preview-hold@example.com' }, 'Hold');
      await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
      for (const f of ['first.mp4', 'second.mp4']) {
        const n = await page.locator('[data-testid=asset]').count();
        await uploadMedia(page, path.join(work, f));
        await expect.poll(() => page.locator('[data-testid=asset]').count(), { timeout: 30_000 }).toBe(n + 1);
      }
      // Both proxies ready, so the preview's URLs do not change while it plays.
      await expect.poll(() => page.locator('[data-testid=proxy-badge]').count(), { timeout: 120_000 }).toBe(2);
      const assets = await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.timeline().assets);
      const second = assets.find((a) => a.name === 'second.mp4')!.id;
      const first = assets.find((a) => a.name === 'first.mp4')!.id;
      await page.evaluate(([a, b]) => {
        const ed = (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor;
        ed.op('addClip', { assetId: a, trackId: 'v1', start: 0, sourceIn: 0, sourceOut: 30 });
        ed.op('addClip', { assetId: b, trackId: 'v1', start: 30, sourceIn: 0, sourceOut: 30 });
      }, [first, second] as const);
      await page.waitForFunction(() => (window as never as { __clipmakerPreview?: Preview }).__clipmakerPreview?.ready());
      await page.evaluate(() => (window as never as { __clipmakerPreview: Preview }).__clipmakerPreview.drawFrame(15));
      // The second clip's media answers late: its <video> has no picture for a while after the cut.
      let delayed = 0;
      await page.route(new RegExp(`/api/assets/${second}/file`), async (route) => {
        delayed++;
        await new Promise((r) => setTimeout(r, 400));
        await route.continue();
      });
      const before = await page.evaluate(() => (window as never as { __clipmakerPreview: Preview }).__clipmakerPreview.loadStats());
      await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.play());
      // Past the cut (frame 30) and well into the second clip.
      await page.waitForFunction(() => (window as never as { __clipmakerPreview: Preview }).__clipmakerPreview.drawnFrame() >= 45, undefined, { timeout: 30_000 });
      await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.pause());
      const after = await page.evaluate(() => (window as never as { __clipmakerPreview: Preview }).__clipmakerPreview.loadStats());
      expect(delayed).toBeGreaterThan(0);
      // The wait was bridged by holding the last picture...
      expect(after.held - before.held).toBeGreaterThan(0);
      // ...and no frame was drawn with the second clip missing.
      expect(after.drawnWithout - before.drawnWithout).toBe(0);
    } finally {
      await page.close();
    }
  });
});
