/**
 * The editor as one-screen NLE in Chromium, driven with real mouse and keyboard events and checked
 * against the Y.Doc and the DOM: the layout fits 1280x720 without the page scrolling, several files
 * upload at once, media is dragged from the bin onto tracks (inserted at a cut on the magnetic main
 * track, free on others), clips are reordered by dragging on the main track, a trim ripples, a
 * refused edit shows its reason next to the timeline and the input keeps the document's value,
 * clips are reachable and nudged from the keyboard, the shortcut sheet opens on ?, and the panel
 * sizes survive a reload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';

const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 15_000 });

interface Clip { id: string; trackId: string; start: number; kind: string; assetId?: string; sourceOut?: number }
const clips = (page: Page) => page.evaluate(() => ((window as never as { __clipmakerEditor: { timeline(): { clips: Clip[] } | null } }).__clipmakerEditor.timeline()?.clips ?? []).map((c) => ({ id: c.id, trackId: c.trackId, start: c.start, kind: c.kind, assetId: c.assetId })));
const onTrack = async (page: Page, track: string) => (await clips(page)).filter((c) => c.trackId === track).sort((a, b) => a.start - b.start);

async function inViewport(page: Page, selector: string): Promise<boolean> {
  const box = await page.locator(selector).first().boundingBox();
  const vp = page.viewportSize()!;
  return !!box && box.width > 0 && box.height > 0 && box.x >= 0 && box.y >= 0 && box.x + box.width <= vp.width + 0.5 && box.y + box.height <= vp.height + 0.5;
}

/** Drags a bin item onto a track lane at a frame (HTML5 drag and drop from real mouse events). */
async function dropOnTrack(page: Page, assetIndex: number, track: string, frame: number, pxPerFrame = 4): Promise<void> {
  const lane = page.locator(`[data-testid=track-row][data-track-id=${track}] [data-testid=track-lane]`);
  await page.locator('[data-testid=asset]').nth(assetIndex).dragTo(lane, { targetPosition: { x: frame * pxPerFrame + 1, y: 10 } });
}

describe('the editor as a one-screen NLE', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-nle-'));
    for (const [name, secs] of [['long.mp4', 2], ['short.mp4', 1]] as const)
      ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=30:duration=${secs}`, '-f', 'lavfi', '-i', `sine=frequency=880:duration=${secs}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac', '-shortest', path.join(work, name)]);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('lays out on one screen, drags media and clips with the magnetic main track, and takes the keyboard', { timeout: 150_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await signUpWithProject(page, app.url, { name: 'Nell Lee', email: 'nell@example.com' }, 'NLE');
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');

      // Two files at once: both arrive in the bin.
      await uploadMedia(page, [path.join(work, 'long.mp4'), path.join(work, 'short.mp4')]);
      await poll(() => page.locator('[data-testid=asset]').count()).toBe(2);
      const names = await page.locator('[data-testid=asset] .aname').allTextContents();
      const longIdx = names.indexOf('long.mp4');
      const shortIdx = names.indexOf('short.mp4');
      expect(longIdx).toBeGreaterThanOrEqual(0);
      expect(shortIdx).toBeGreaterThanOrEqual(0);

      // Layout: preview, timeline and inspector all inside 1280x720, and the page itself does not scroll.
      for (const sel of ['[data-testid=preview-canvas]', '[data-testid=timeline-panel]', '[data-testid=inspector-column]', '[data-testid=inspector] h2', '[data-testid=bin-column]']) expect(await inViewport(page, sel), sel).toBe(true);
      expect(await page.evaluate(() => document.scrollingElement!.scrollHeight <= window.innerHeight + 1)).toBe(true);
      await page.screenshot({ path: path.join(tmpdir(), 'cm-nle-1280x720-empty.png') });

      // Bin -> main track: the long clip lands at 0; the short one dropped over the first half of it goes in before it.
      await dropOnTrack(page, longIdx, 'v1', 40);
      await poll(async () => (await onTrack(page, 'v1')).map((c) => c.start)).toEqual([0]);
      const longClip = (await onTrack(page, 'v1'))[0]!.id;
      await dropOnTrack(page, shortIdx, 'v1', 10);
      await poll(async () => (await onTrack(page, 'v1')).map((c) => [c.id === longClip ? 'long' : 'short', c.start])).toEqual([['short', 0], ['long', 30]]);
      // Bin -> an audio track: free placement at the drop frame.
      await dropOnTrack(page, shortIdx, 'a1', 50);
      await poll(async () => (await onTrack(page, 'a1')).map((c) => [c.kind, c.start])).toEqual([['audio', 50]]);

      // Drag the long clip (second on the main track) to the very start: magnetic reorder with an insert line while dragging.
      const longEl = page.locator(`[data-testid=timeline-clip][data-clip-id="${longClip}"]`);
      const box = (await longEl.boundingBox())!;
      await page.mouse.move(box.x + 20, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x - 60, box.y + box.height / 2, { steps: 4 });
      await page.mouse.move(box.x - 130, box.y + box.height / 2, { steps: 4 });
      await poll(() => page.getAttribute('[data-testid=insert-preview]', 'data-frame')).toBe('0');
      await page.mouse.up();
      await poll(async () => (await onTrack(page, 'v1')).map((c) => [c.id === longClip ? 'long' : 'short', c.start])).toEqual([['long', 0], ['short', 60]]);

      // Trim the long clip's tail 10 frames (40 px): the short clip follows (ripple).
      const tail = (await longEl.locator('[data-testid=trim-tail]').boundingBox())!;
      await page.mouse.move(tail.x + tail.width / 2, tail.y + tail.height / 2);
      await page.mouse.down();
      await page.mouse.move(tail.x + tail.width / 2 - 40, tail.y + tail.height / 2, { steps: 4 });
      await page.mouse.up();
      await poll(async () => (await onTrack(page, 'v1')).map((c) => c.start)).toEqual([0, 50]);

      // Ctrl+Z undoes the trim as one step.
      await page.click('h1');
      await page.keyboard.press('Control+z');
      await poll(async () => (await onTrack(page, 'v1')).map((c) => c.start)).toEqual([0, 60]);

      // A refused edit: the audio clip's start typed into the clip list... overlapping nothing is fine, a negative start is refused;
      // the reason shows next to the timeline and the field shows the document's value again.
      const audio = (await onTrack(page, 'a1'))[0]!;
      const rows = await page.locator('[data-testid=clip-row]').count();
      let audioRow = -1;
      for (let i = 0; i < rows; i++) if ((await page.locator('[data-testid=clip-row]').nth(i).locator('td').nth(1).textContent())?.includes('Audio 1')) audioRow = i;
      expect(audioRow).toBeGreaterThanOrEqual(0);
      const startInput = page.locator('[data-testid=clip-row]').nth(audioRow).locator('[data-testid=clip-start]');
      await startInput.fill('-5');
      await startInput.press('Enter');
      await poll(() => page.locator('[data-testid=timeline-panel] [data-testid=edit-error]').count()).toBe(1);
      expect(await startInput.inputValue()).toBe(String(audio.start));

      // Keyboard: Tab reaches a clip, arrows move between clips, Alt+Right nudges the focused audio clip a frame.
      await page.locator(`[data-testid=timeline-clip][data-clip-id="${audio.id}"]`).focus();
      await page.keyboard.press('Enter');
      await poll(() => page.getAttribute(`[data-testid=timeline-clip][data-clip-id="${audio.id}"]`, 'aria-pressed')).toBe('true');
      await page.keyboard.press('Alt+ArrowRight');
      await poll(async () => (await onTrack(page, 'a1'))[0]!.start).toBe(51);
      await page.keyboard.press('ArrowLeft');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('timeline-clip');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-clip-id'))).not.toBe(audio.id);
      // Space on a focused button presses the button, it does not start playback.
      await page.locator('[data-testid=zoom-in]').focus();
      await page.keyboard.press('Space');
      expect(await page.textContent('[data-testid=rate]')).toBe('paused');

      // The shortcut sheet: ? opens it, Escape closes it.
      await page.click('h1');
      await page.keyboard.press('Shift+?');
      await poll(() => page.locator('[data-testid=shortcut-sheet]').isVisible()).toBe(true);
      await page.keyboard.press('Escape');
      await poll(() => page.locator('[data-testid=shortcut-sheet]').isVisible()).toBe(false);

      // On-canvas handles: select the long clip at frame 0; the move grip drags its anchor (snapping
      // back onto the centre guide when near it), the corner scales it, the knob rotates it.
      const transform = () => page.evaluate((id) => (window as never as { __clipmakerEditor: { timeline(): { clips: Array<{ id: string; transform: Array<{ x: number; scaleX: number; rotation: number }> }> } } }).__clipmakerEditor.timeline()!.clips.find((c) => c.id === id)!.transform[0] ?? null, longClip);
      await longEl.click();
      await page.click('h1');
      await page.keyboard.press('Home');
      await page.waitForSelector('[data-testid=handle-move]');
      const grab = async (sel: string, dx: number, dy: number) => {
        const b = (await page.locator(sel).first().boundingBox())!;
        await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
        await page.mouse.down();
        await page.mouse.move(b.x + b.width / 2 + dx / 2, b.y + b.height / 2 + dy / 2, { steps: 3 });
        await page.mouse.move(b.x + b.width / 2 + dx, b.y + b.height / 2 + dy, { steps: 3 });
        await page.mouse.up();
      };
      const canvasW = (await page.locator('[data-testid=preview-canvas]').boundingBox())!.width;
      await grab('[data-testid=handle-move]', canvasW * 0.25, 0);
      await poll(async () => (await transform())?.x ?? 0.5).toBeGreaterThan(0.7);
      await grab('[data-testid=handle-move]', -canvasW * 0.245, 0); // lands 0.5 % off the centre: snaps onto it
      await poll(async () => (await transform())?.x).toBe(0.5);
      await grab('[data-testid=handle-rotate]', canvasW * 0.4, canvasW * 0.4);
      await poll(async () => Math.abs((await transform())?.rotation ?? 0)).toBeGreaterThan(5);
      await page.selectOption('[data-testid=safe-zone-select]', 'tiktok');
      await page.waitForSelector('[data-testid=safe-zone]');

      // Magnetic off: the main track takes free placement again (a drag leaves a gap).
      await page.click('[data-testid=magnetic-toggle]');
      expect(await page.getAttribute('[data-testid=magnetic-toggle]', 'aria-pressed')).toBe('false');

      await page.screenshot({ path: path.join(tmpdir(), 'cm-nle-1280x720.png') });
      await page.setViewportSize({ width: 1920, height: 1080 });
      for (const sel of ['[data-testid=preview-canvas]', '[data-testid=timeline-panel]', '[data-testid=inspector-column]']) expect(await inViewport(page, sel), sel).toBe(true);
      await page.screenshot({ path: path.join(tmpdir(), 'cm-nle-1920x1080.png') });

      // The bin's width follows its splitter and is remembered after a reload (as is the magnetic switch).
      const split = (await page.locator('[data-testid=split-bin]').boundingBox())!;
      await page.mouse.move(split.x + 3, split.y + split.height / 2);
      await page.mouse.down();
      await page.mouse.move(split.x + 83, split.y + split.height / 2, { steps: 4 });
      await page.mouse.up();
      const binW = (await page.locator('[data-testid=bin-column]').boundingBox())!.width;
      await page.reload();
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
      await poll(async () => Math.round((await page.locator('[data-testid=bin-column]').boundingBox())!.width)).toBe(Math.round(binW));
      expect(await page.getAttribute('[data-testid=magnetic-toggle]', 'aria-pressed')).toBe('false');

      // Compact layout under 900 px: everything stacked, nothing cut off sideways.
      await page.setViewportSize({ width: 800, height: 900 });
      await poll(() => page.evaluate(() => document.querySelector('.editor')!.classList.contains('compact'))).toBe(true);
      expect(await page.evaluate(() => document.scrollingElement!.scrollWidth <= window.innerWidth + 1)).toBe(true);
      await page.screenshot({ path: path.join(tmpdir(), 'cm-nle-800.png'), fullPage: true });
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await page.screenshot({ path: path.join(tmpdir(), 'cm-nle-failure.png') }).catch(() => {});
      throw new Error(`${(err as Error).message}\n--- page errors ---\n${pageErrors.join('\n')}\n--- server ---\n${app.logs().slice(-2000)}`);
    } finally {
      await page.close();
    }
  });
});
