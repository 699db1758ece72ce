/**
 * The timeline and preview interactions in a real browser against the real product: keyboard
 * (arrows, S split, Delete / Shift+Delete ripple, Ctrl+Z, J/K/L shuttle, I/O), drag-move with
 * snapping to a cut, trim handle, zoom, multi-select, and a crop keyframe from dragging the picture.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';

const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 10_000 });
const starts = (page: Page) => page.$$eval('[data-testid=clip-start]', (els) => els.map((e) => Number((e as HTMLInputElement).value)));
const outs = (page: Page) => page.$$eval('[data-testid=clip-out]', (els) => els.map((e) => Number((e as HTMLInputElement).value)));

async function drag(page: Page, selector: string, index: number, dx: number, dy = 0): Promise<void> {
  await page.locator(selector).nth(index).scrollIntoViewIfNeeded();
  const box = (await page.locator(selector).nth(index).boundingBox())!;
  const x = box.x + Math.min(box.width / 2, 30);
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx / 2, y + dy / 2, { steps: 3 });
  await page.mouse.move(x + dx, y + dy, { steps: 3 });
  await page.mouse.up();
}

describe('timeline and preview interactions in Chromium', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-timeline-'));
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', path.join(work, 'src.mp4')]);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('edits with keys, drags, snapping, trim handles, shuttle and crop drag', { timeout: 120_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await page.goto(`${app.url}/signup`, { waitUntil: 'networkidle' });
      await page.fill('input[name=name]', 'Tim Line');
      await page.fill('input[name=email]', 'tim@example.com');
      await page.fill('input[name=password]', 'correct horse battery');
      await page.click('button[type=submit]');
      await page.waitForURL((url) => url.pathname === '/projects');
      await page.fill('input[name=name]', 'Timeline');
      await page.click('text=Create project');
      await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
      await uploadMedia(page, path.join(work, 'src.mp4'));
      await page.click('[data-testid=add-to-timeline]');
      await page.waitForSelector('[data-testid=timeline-clip]');
      expect(await starts(page)).toEqual([0]);

      // Arrows step frames; S splits at the playhead.
      await page.click('h1');
      for (let i = 0; i < 30; i++) await page.keyboard.press('ArrowRight');
      await poll(() => page.inputValue('[data-testid=playhead]')).toBe('30');
      await page.keyboard.press('s');
      await poll(() => starts(page)).toEqual([0, 30]);

      // Delete leaves a gap, Ctrl+Z brings the clip back; Shift+Delete ripples (nothing after it here).
      await page.locator('[data-testid=timeline-clip]').nth(1).click();
      await page.keyboard.press('Delete');
      await poll(() => starts(page)).toEqual([0]);
      await page.keyboard.press('Control+z');
      await poll(() => starts(page)).toEqual([0, 30]);

      // Free placement (magnetic main track off): drag the second clip 40 frames right (4 px per
      // frame), then back to 2 frames short of the cut: it snaps onto the cut.
      await page.click('[data-testid=magnetic-toggle]');
      await drag(page, '[data-testid=timeline-clip]', 1, 160);
      await poll(() => starts(page)).toEqual([0, 70]);
      await drag(page, '[data-testid=timeline-clip]', 1, -152);
      await poll(() => starts(page)).toEqual([0, 30]);

      // Multi-select both and Shift+Delete removes both.
      await page.locator('[data-testid=timeline-clip]').nth(0).click();
      await page.locator('[data-testid=timeline-clip]').nth(1).click({ modifiers: ['Shift'] });
      await page.keyboard.press('Shift+Delete');
      await poll(() => starts(page)).toEqual([]);
      await page.keyboard.press('Control+z');
      await poll(() => starts(page)).toEqual([0, 30]);

      // The tail handle of the second clip: 10 frames shorter.
      const before = await outs(page);
      const tail = (await page.locator('[data-testid=trim-tail]').nth(1).boundingBox())!;
      await page.mouse.move(tail.x + tail.width / 2, tail.y + tail.height / 2);
      await page.mouse.down();
      await page.mouse.move(tail.x + tail.width / 2 - 40, tail.y + tail.height / 2, { steps: 4 });
      await page.mouse.up();
      await poll(() => outs(page)).toEqual([before[0], before[1]! - 10]);

      // Zoom.
      const zoomText = () => page.textContent('.tools .muted');
      const z0 = await zoomText();
      await page.click('[data-testid=zoom-in]');
      await poll(zoomText).not.toBe(z0);

      // J/K/L shuttle and I/O marks.
      await page.click('h1');
      await page.keyboard.press('Home');
      await page.keyboard.press('l');
      await poll(() => page.textContent('[data-testid=rate]')).toBe('1×');
      await page.keyboard.press('l');
      await poll(() => page.textContent('[data-testid=rate]')).toBe('2×');
      await page.keyboard.press('k');
      await poll(() => page.textContent('[data-testid=rate]')).toBe('paused');
      await page.keyboard.press('Home');
      await page.keyboard.press('i');
      for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
      await page.keyboard.press('o');
      await poll(() => page.textContent('.range-tools .muted')).toBe('In 0 · Out 10');

      // Dragging the picture pans the crop and sets a keyframe at the playhead (clip frame 10).
      await page.waitForFunction(() => (window as never as { __clipmakerPreview?: { ready(): boolean } }).__clipmakerPreview?.ready());
      await drag(page, '[data-testid=preview-canvas]', 0, 60);
      await poll(() => page.getAttribute('[data-testid=keyframe]', 'data-frame')).toBe('10');
      // Subtitle import: a broken SRT shows its skipped cue's line in the dialog; a good WebVTT adds cues.
      writeFileSync(path.join(work, 'bad.srt'), '1\n00:00:01,000 --> 00:00:0x,000\nHello\n');
      await page.setInputFiles('[data-testid=import-subtitles]', path.join(work, 'bad.srt'));
      await poll(() => page.textContent('[data-testid=subtitle-warning]')).toMatch(/line 2/);
      await page.keyboard.press('Escape');
      writeFileSync(path.join(work, 'good.vtt'), 'WEBVTT\n\n00:00.000 --> 00:00.500\nFirst\n\n00:00.500 --> 00:01.000\nSecond\n');
      await page.setInputFiles('[data-testid=import-subtitles]', path.join(work, 'good.vtt'));
      await page.click('[data-testid=subtitle-import-confirm]');
      await poll(() => page.locator('[data-testid=timeline-cue]').count()).toBe(2);

      // The wheel zooms the crop window (smaller rectangle, same keyframe).
      const cropW = () => page.evaluate(() => (window as never as { __clipmakerEditor: { spec(): { clips: Array<{ crop: Array<{ frame: number; w: number }> }> } } }).__clipmakerEditor.spec().clips[0]!.crop.find((k) => k.frame === 10)!.w);
      const w0 = await cropW();
      await page.locator('[data-testid=preview-canvas]').hover();
      await page.mouse.wheel(0, -100);
      await poll(cropW).toBeLessThan(w0);
      // A keyframe marker: drag it 5 frames later, then select it and Delete removes it.
      await drag(page, '[data-testid=keyframe]', 0, 25); // 5 px per frame after one zoom-in
      await poll(() => page.getAttribute('[data-testid=keyframe]', 'data-frame')).toBe('15');
      await page.locator('[data-testid=keyframe]').click();
      await page.keyboard.press('Delete');
      await poll(() => page.locator('[data-testid=keyframe]').count()).toBe(0);
      expect(await page.locator('[data-testid=edit-error]').count()).toBe(0);
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await page.screenshot({ path: path.join(tmpdir(), 'cm-timeline-failure.png'), fullPage: true }).catch(() => {});
      throw new Error(`${(err as Error).message}\n--- page errors ---\n${pageErrors.join('\n')}\n--- server ---\n${app.logs().slice(-2000)}`);
    } finally {
      await page.close();
    }
  });
});
