/**
 * Timeline selection and clipboard in Chromium with real mouse and keyboard events, checked against
 * the Y.Doc and the DOM: a marquee on an empty lane selects the clips it touches (a click there
 * clears), Ctrl+C / Ctrl+V / Ctrl+D copy, paste and duplicate (ripple-inserted on the magnetic main
 * track), the right-click menu (Escape closes it, its commands edit), markers (M, the ruler's menu,
 * drag, Delete), and a track's height dragged at its header's edge survives a reload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';

const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 10_000 });

interface Doc { clips: { id: string; trackId: string; start: number; sourceIn?: number; sourceOut?: number }[]; markers?: { id: string; frame: number }[] }
const doc = (page: Page) => page.evaluate(() => (window as never as { __clipmakerEditor: { timeline(): Doc | null } }).__clipmakerEditor.timeline()!);
const main = async (page: Page) => (await doc(page)).clips.filter((c) => c.trackId === 'v1').sort((a, b) => a.start - b.start).map((c) => ({ start: c.start, sourceIn: c.sourceIn }));
const selected = (page: Page) => page.$$eval('[data-testid=timeline-clip]', (els) => els.map((e) => e.getAttribute('aria-pressed') === 'true'));

describe('timeline selection, clipboard, context menu, markers and track height', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-select-'));
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', path.join(work, 'src.mp4')]);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('marquee, copy/paste/duplicate, context menu, markers, track height', { timeout: 150_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await signUpWithProject(page, app.url, { name: 'Sel Ection', email: 'sel@example.com' }, 'Select');
      // Edits need the project's document: wait for it (a click before it loads is refused with a message).
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")', { timeout: 60_000 });
      await uploadMedia(page, path.join(work, 'src.mp4'));
      await page.click('[data-testid=add-to-timeline]');
      await page.waitForSelector('[data-testid=timeline-clip]');
      // Split at frame 30: two clips on the magnetic main track.
      await page.click('h1');
      for (let i = 0; i < 30; i++) await page.keyboard.press('ArrowRight');
      await page.keyboard.press('s');
      await poll(() => main(page)).toEqual([{ start: 0, sourceIn: 0 }, { start: 30, sourceIn: 30 }]);

      // Marquee from empty lane space leftwards over both clips selects both; a click there clears.
      const lane = page.locator('[data-testid=track-row][data-track-id=v1] [data-testid=track-lane]');
      const lb = (await lane.boundingBox())!;
      await page.mouse.move(lb.x + 400, lb.y + 5);
      await page.mouse.down();
      await page.mouse.move(lb.x + 200, lb.y + 20, { steps: 4 });
      expect(await page.locator('[data-testid=marquee]').isVisible()).toBe(true);
      await poll(() => selected(page)).toEqual([false, true]);
      await page.mouse.move(lb.x + 20, lb.y + 25, { steps: 4 });
      await page.mouse.up();
      await poll(() => selected(page)).toEqual([true, true]);
      expect(await page.locator('[data-testid=marquee]').count()).toBe(0);
      await page.mouse.click(lb.x + 400, lb.y + 10);
      await poll(() => selected(page)).toEqual([false, false]);

      // Ctrl+D duplicates the selected clip right after it (the rest ripple); Ctrl+Z undoes it in one step.
      await page.locator('[data-testid=timeline-clip]').nth(0).click();
      await page.keyboard.press('Control+d');
      await poll(() => main(page)).toEqual([{ start: 0, sourceIn: 0 }, { start: 30, sourceIn: 0 }, { start: 60, sourceIn: 30 }]);
      expect(await selected(page)).toEqual([false, true, false]);
      await page.keyboard.press('Control+z');
      await poll(() => main(page)).toEqual([{ start: 0, sourceIn: 0 }, { start: 30, sourceIn: 30 }]);

      // Ctrl+C the second clip, Ctrl+V at the playhead (frame 0): inserted at the cut there.
      await page.locator('[data-testid=timeline-clip]').nth(1).click();
      await page.keyboard.press('Control+c');
      await page.keyboard.press('Home');
      await page.keyboard.press('Control+v');
      await poll(() => main(page)).toEqual([{ start: 0, sourceIn: 30 }, { start: 30, sourceIn: 0 }, { start: 60, sourceIn: 30 }]);
      await page.keyboard.press('Control+z');
      await poll(() => main(page)).toEqual([{ start: 0, sourceIn: 0 }, { start: 30, sourceIn: 30 }]);

      // The right-click menu: Escape closes it; its Duplicate edits like Ctrl+D; Ripple delete removes.
      await page.locator('[data-testid=timeline-clip]').nth(1).click({ button: 'right' });
      await page.waitForSelector('[data-testid=context-menu]');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('menu-copy');
      await page.keyboard.press('Escape');
      await poll(() => page.locator('[data-testid=context-menu]').count()).toBe(0);
      await page.locator('[data-testid=timeline-clip]').nth(1).click({ button: 'right' });
      await page.click('[data-testid=menu-duplicate]');
      await poll(() => main(page)).toEqual([{ start: 0, sourceIn: 0 }, { start: 30, sourceIn: 30 }, { start: 60, sourceIn: 30 }]);
      await page.locator('[data-testid=timeline-clip]').nth(1).click({ button: 'right' });
      expect(await page.isDisabled('[data-testid=menu-split]')).toBe(true); // the playhead is not inside it
      await page.click('[data-testid=menu-ripple-delete]');
      await poll(() => main(page)).toEqual([{ start: 0, sourceIn: 0 }, { start: 30, sourceIn: 30 }]);

      // Markers: M at the playhead; the ruler's menu adds one where clicked; drag moves; Delete removes.
      await page.click('h1');
      for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
      await page.keyboard.press('m');
      await poll(async () => (await doc(page)).markers?.map((m) => m.frame)).toEqual([10]);
      await poll(() => page.locator('[data-testid=timeline-marker]').count()).toBe(1);
      const ruler = (await page.locator('[data-testid=ruler]').boundingBox())!;
      await page.mouse.click(ruler.x + 50 * 4 + 1, ruler.y + 10, { button: 'right' });
      await page.click('[data-testid=menu-add-marker]');
      await poll(async () => (await doc(page)).markers?.map((m) => m.frame)).toEqual([10, 50]);
      const mk = (await page.locator('[data-testid=timeline-marker][data-frame="10"]').boundingBox())!;
      await page.mouse.move(mk.x + 2, mk.y + mk.height / 2);
      await page.mouse.down();
      await page.mouse.move(mk.x + 2 + 40, mk.y + mk.height / 2, { steps: 5 });
      await page.mouse.up();
      await poll(async () => (await doc(page)).markers?.map((m) => m.frame)).toEqual([20, 50]);
      // Pressing a marker seeks to it (before the drag moved it).
      expect(await page.inputValue('[data-testid=playhead]')).toBe('10');
      await page.keyboard.press('Delete');
      await poll(async () => (await doc(page)).markers?.map((m) => m.frame)).toEqual([50]);
      await page.keyboard.press('Control+z');
      await poll(async () => (await doc(page)).markers?.map((m) => m.frame)).toEqual([20, 50]);

      // Track height: drag the row's bottom edge; remembered after a reload.
      const row = page.locator('[data-testid=track-row][data-track-id=v1]');
      const h0 = (await row.boundingBox())!.height;
      const grip = (await row.locator('[data-testid=track-resize]').boundingBox())!;
      await page.mouse.move(grip.x + 20, grip.y + grip.height / 2);
      await page.mouse.down();
      await page.mouse.move(grip.x + 20, grip.y + grip.height / 2 + 40, { steps: 4 });
      await page.mouse.up();
      await poll(async () => Math.round((await row.boundingBox())!.height)).toBeGreaterThan(h0 + 30);
      const h1 = Math.round((await row.boundingBox())!.height);
      await page.reload();
      await page.waitForSelector('[data-testid=timeline-clip]');
      await poll(async () => Math.round((await page.locator('[data-testid=track-row][data-track-id=v1]').boundingBox())!.height)).toBe(h1);
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
