/**
 * The preview's source view in Chromium, driven with real mouse and keyboard events and checked
 * against the Y.Doc: the full source frame is drawn beside the output with the crop rectangle over
 * it; dragging inside the rectangle moves the crop, a corner handle resizes it with the aspect
 * locked to the output, the arrow keys nudge it when focused, and each gesture is one undo step.
 * The default layout gives the preview a usable height at 1280x720 and the bin never scrolls sideways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshotBothSizes, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';

const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 15_000 });

interface Kf { frame: number; x: number; y: number; w: number; h: number }
const crops = (page: Page) => page.evaluate(() => ((window as never as { __clipmakerEditor: { timeline(): { clips: Array<{ kind: string; crop?: Kf[] }> } | null } }).__clipmakerEditor.timeline()?.clips ?? []).find((c) => c.kind === 'video')?.crop ?? []);

describe('the preview source view and its crop rectangle', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-crop-'));
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '10', path.join(work, 'a-very-long-file-name-that-would-push-the-media-bin-sideways-landscape.mp4')]);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('lays out at 1280x720 with a usable preview; the crop rectangle follows mouse drags, corner resizes and keys', { timeout: 150_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await signUpWithProject(page, app.url, { name: 'Cora Pike', email: 'cora@example.com' }, 'Crop');
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
      await uploadMedia(page, path.join(work, 'a-very-long-file-name-that-would-push-the-media-bin-sideways-landscape.mp4'));
      await poll(() => page.locator('[data-testid=asset]').count()).toBe(1);
      await page.click('[data-testid=add-to-timeline]');
      await poll(async () => (await page.evaluate(() => (window as never as { __clipmakerEditor: { timeline(): { clips: unknown[] } | null } }).__clipmakerEditor.timeline()?.clips.length)) ?? 0).toBe(1);
      const inViewport = async (sel: string) => {
        const vp = page.viewportSize()!;
        const box = await page.locator(sel).first().boundingBox();
        return !!box && box.width > 0 && box.height > 0 && box.x >= 0 && box.y >= 0 && box.x + box.width <= vp.width + 0.5 && box.y + box.height <= vp.height + 0.5;
      };

      // Layout at 1280x720 (no remembered layout): the preview picture is a usable size, preview,
      // timeline and inspector are all on screen, the page never scrolls, the bin never sideways.
      await page.waitForSelector('[data-testid=source-crop]');
      for (const sel of ['[data-testid=preview-canvas]', '[data-testid=source-view]', '[data-testid=timeline-panel]', '[data-testid=inspector-column]', '[data-testid=bin-column]']) expect(await inViewport(sel), sel).toBe(true);
      expect((await page.locator('[data-testid=preview-canvas]').boundingBox())!.height).toBeGreaterThanOrEqual(295);
      // Nothing overlaps: bin | preview | inspector side by side, the timeline below them, and the
      // selected clip's rotation knob stays on the output picture (not over the preview's toolbar).
      const boxOf = async (sel: string) => (await page.locator(sel).first().boundingBox())!;
      const binB = await boxOf('[data-testid=bin-column]');
      const prevB = await boxOf('[data-testid=preview-panel]');
      const inspB = await boxOf('[data-testid=inspector-column]');
      const tlB = await boxOf('[data-testid=timeline-panel]');
      expect(binB.x + binB.width).toBeLessThanOrEqual(prevB.x + 0.5);
      expect(prevB.x + prevB.width).toBeLessThanOrEqual(inspB.x + 0.5);
      for (const b of [binB, prevB, inspB]) expect(b.y + b.height).toBeLessThanOrEqual(tlB.y + 0.5);
      await page.waitForSelector('[data-testid=handle-rotate]');
      const knobB = await boxOf('[data-testid=handle-rotate]');
      const canvasB = await boxOf('[data-testid=preview-canvas]');
      expect(knobB.y >= canvasB.y - 0.5 && knobB.y + knobB.height <= canvasB.y + canvasB.height + 0.5 && knobB.x >= canvasB.x - 0.5 && knobB.x + knobB.width <= canvasB.x + canvasB.width + 0.5, JSON.stringify({ knobB, canvasB })).toBe(true);
      expect(await page.evaluate(() => document.scrollingElement!.scrollHeight <= window.innerHeight + 1 && document.scrollingElement!.scrollWidth <= window.innerWidth + 1)).toBe(true);
      const bin = await page.evaluate(() => {
        const col = document.querySelector('[data-testid=bin-column]')!;
        const name = document.querySelector('[data-testid=asset] .aname') as HTMLElement;
        const cr = col.getBoundingClientRect();
        const wide = [...col.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().right > cr.right + 0.5).map((el) => `${el.tagName}.${el.className} ${el.getAttribute('data-testid')}`).slice(0, 6);
        return { sw: col.scrollWidth, cw: col.clientWidth, wide, nameClipped: name.scrollWidth > name.clientWidth, title: name.title };
      });
      expect(bin.sw, `the bin column scrolls sideways: ${bin.wide.join(', ')}`).toBeLessThanOrEqual(bin.cw + 1);
      expect(bin.nameClipped).toBe(true);
      expect(bin.title).toBe('a-very-long-file-name-that-would-push-the-media-bin-sideways-landscape.mp4');
      // The main track's row is on screen in the timeline without scrolling the page.
      expect(await inViewport('[data-testid=track-row][data-track-id=v1] [data-testid=track-lane]')).toBe(true);

      // The source view draws the full source frame (the preview's own decoded picture) with the
      // default 9:16 crop of 640x360 over it.
      const rect = () => page.evaluate(() => {
        const el = document.querySelector('[data-testid=source-crop]') as HTMLElement;
        return { x: Number(el.dataset.x), y: Number(el.dataset.y), w: Number(el.dataset.w), h: Number(el.dataset.h) };
      });
      await poll(rect).toEqual({ x: 218, y: 0, w: 202, h: 360 });
      expect(await page.getAttribute('[data-testid=source-crop]', 'aria-label')).toMatch(/^Crop rectangle on the source frame of a-very-long.*x 218, y 0, 202×360 of 640×360/);
      await poll(() => page.evaluate(() => {
        const c = document.querySelector('[data-testid=source-canvas]') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let lit = 0;
        for (let i = 0; i < d.length; i += 4 * 97) if (d[i]! + d[i + 1]! + d[i + 2]! > 60) lit++;
        return lit > 50;
      })).toBe(true);

      const frame = (await page.locator('[data-testid=source-frame]').boundingBox())!;
      const scale = 640 / frame.width; // source pixels per screen pixel
      const aspectOk = (k: Kf) => Math.abs(k.h - (k.w * 16) / 9) <= 4;

      // Drag inside the rectangle: it moves; a pause longer than the undo capture time mid-drag
      // still makes one undo step.
      const r0 = (await page.locator('[data-testid=crop-rect]').boundingBox())!;
      await page.mouse.move(r0.x + r0.width / 2, r0.y + r0.height / 2);
      await page.mouse.down();
      await page.mouse.move(r0.x + r0.width / 2 + 20, r0.y + r0.height / 2 + 5, { steps: 4 });
      await page.waitForTimeout(700);
      await page.mouse.move(r0.x + r0.width / 2 + 50, r0.y + r0.height / 2 + 10, { steps: 4 });
      await page.mouse.up();
      const movedX = 218 + 50 * scale;
      await poll(async () => (await crops(page)).length).toBe(1);
      const m = (await crops(page))[0]!;
      expect(m.frame).toBe(0);
      expect(Math.abs(m.x - movedX)).toBeLessThanOrEqual(4);
      expect([m.y, m.w, m.h]).toEqual([0, 202, 360]); // full height: y stays 0
      await poll(rect).toEqual({ x: m.x, y: 0, w: 202, h: 360 });

      // A corner handle resizes about the opposite corner with the aspect locked to 9:16.
      const nw = (await page.locator('[data-testid=crop-handle][data-corner=nw]').boundingBox())!;
      await page.mouse.move(nw.x + nw.width / 2, nw.y + nw.height / 2);
      await page.mouse.down();
      await page.mouse.move(nw.x + nw.width / 2 + 25, nw.y + nw.height / 2 + 70, { steps: 5 });
      await page.mouse.up();
      await poll(async () => (await crops(page))[0]!.w).toBeLessThan(202);
      const z = (await crops(page))[0]!;
      expect(z.w).toBeGreaterThan(100);
      expect(aspectOk(z), JSON.stringify(z)).toBe(true);
      expect(Math.abs(z.x + z.w - (m.x + m.w))).toBeLessThanOrEqual(2);
      expect(Math.abs(z.y + z.h - 360)).toBeLessThanOrEqual(2);
      // The output preview shows the new crop too (the compiled spec the farm renders).
      const specCrop = await page.evaluate(() => (window as never as { __clipmakerEditor: { spec(): { clips: Array<{ crop: Kf[] }> } } }).__clipmakerEditor.spec().clips[0]!.crop[0]);
      expect(specCrop).toMatchObject({ x: z.x, y: z.y, w: z.w, h: z.h });

      // Each gesture is one undo step: Ctrl+Z undoes the resize, then the whole move.
      await page.click('h1');
      await page.keyboard.press('Control+z');
      await poll(async () => (await crops(page))[0]).toEqual(m);
      await page.keyboard.press('Control+z');
      await poll(async () => (await crops(page)).length).toBe(0);
      await poll(rect).toEqual({ x: 218, y: 0, w: 202, h: 360 });

      // Keyboard: focused, the arrows nudge the rectangle (Shift: 10x), - widens it with the aspect
      // kept; the editor's own arrow keys (seek) stay out of it.
      await page.locator('[data-testid=source-crop]').focus();
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('ArrowLeft');
      await poll(async () => (await crops(page))[0]?.x).toBe(214);
      await page.keyboard.press('Shift+ArrowRight');
      await poll(async () => (await crops(page))[0]?.x).toBe(234);
      expect(await page.inputValue('[data-testid=playhead]')).toBe('0');
      // + narrows it about its centre (already full height, - cannot widen it further), - widens it again.
      await page.keyboard.press('+');
      await poll(async () => (await crops(page))[0]!.w).toBeLessThan(202);
      const k0 = (await crops(page))[0]!;
      expect(aspectOk(k0), JSON.stringify(k0)).toBe(true);
      await page.keyboard.press('-');
      await poll(async () => (await crops(page))[0]!.w).toBeGreaterThan(k0.w);
      const k = (await crops(page))[0]!;
      expect(aspectOk(k), JSON.stringify(k)).toBe(true);
      expect(k.x + k.w <= 640 && k.y + k.h <= 360 && k.x >= 0 && k.y >= 0).toBe(true);

      // The toggle hides the source view and the output keeps its size.
      await page.click('[data-testid=source-toggle]');
      await poll(() => page.locator('[data-testid=source-view]').count()).toBe(0);
      expect((await page.locator('[data-testid=preview-canvas]').boundingBox())!.height).toBeGreaterThanOrEqual(295);
      await page.click('[data-testid=source-toggle]');
      await page.waitForSelector('[data-testid=source-crop]');

      // At 1920x1080 too the panels stay on screen, and the source view follows the new size.
      await page.setViewportSize({ width: 1920, height: 1080 });
      for (const sel of ['[data-testid=preview-canvas]', '[data-testid=source-view]', '[data-testid=timeline-panel]', '[data-testid=inspector-column]', '[data-testid=bin-column]']) expect(await inViewport(sel), sel).toBe(true);
      await poll(async () => (await page.locator('[data-testid=source-frame]').boundingBox())!.width).toBeGreaterThan(frame.width);
      await screenshotBothSizes(page, 'editor-crop');
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
