/**
 * Two users in two browser contexts (no BroadcastChannel between them) on one project: the editor
 * (Bob) sees the owner's playhead as a line with her name on the main timeline, the clip she
 * selected outlined in her colour, her pointer on the timeline row and over the preview picture, each
 * following her as she seeks, selects and moves; all of it goes when she closes the editor.
 * SCREENSHOT_DIR=<dir> keeps Bob's view at 1280x720 and 1920x1080.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { makeLandscapeVideo } from '../support/media.ts';
import { evidence, openEditor, placeVideo, setupUsers, type OpenEditor } from './collab-support.ts';

const SHOTS = process.env.SCREENSHOT_DIR;

/** x of an element's left edge inside the timeline's content (where frame 0 is at 150 px). */
const leftInTimeline = (p: Page, selector: string) =>
  p.evaluate((sel) => {
    const el = document.querySelector(sel);
    const content = document.querySelector('[data-testid=timeline] .content');
    return el && content ? Math.round(el.getBoundingClientRect().left - content.getBoundingClientRect().left) : null;
  }, selector);

describe('collaborators on the main timeline and the preview', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-nle-presence-'));
    makeLandscapeVideo(path.join(work, 'clip.mp4'), 3);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("playhead, selection and pointers follow the other user, and leave with her", { timeout: 240_000 }, async () => {
    const { owner, others } = await setupUsers(app, [{ name: 'Bob Editor', role: 'editor' }]);
    const bob = others[0]!;
    let a: OpenEditor | undefined;
    let b: OpenEditor | undefined;
    try {
      const created = await openEditor(browser, app, owner, null);
      a = created;
      await placeVideo(a.page, path.join(work, 'clip.mp4'));
      b = await openEditor(browser, app, bob, created.projectId);
      const A = a.page;
      const B = b.page;
      await B.waitForSelector('[data-testid=timeline-clip]');
      const ada = `[data-user-id="${owner.id}"]`;

      // Her playhead: a line in the main timeline with her name, at her frame, moving when she seeks.
      const line = `[data-testid=timeline] [data-testid=peer-playhead]${ada}`;
      await B.waitForSelector(line);
      expect(await B.innerText(line)).toBe('Ada Owner');
      await A.locator('[data-testid=playhead]').fill('45');
      await expect.poll(() => B.getAttribute(line, 'data-frame')).toBe('45');
      const ppf = Number((await B.innerText('[data-testid=timeline-panel] .tools .muted')).split(' ')[0]);
      await expect.poll(() => leftInTimeline(B, line)).toBe(Math.round(150 + 45 * ppf - 1));
      // My own playhead is not drawn as a peer on my screen.
      expect(await A.locator(`[data-testid=peer-playhead][data-user-id="${owner.id}"]`).count()).toBe(0);

      // Her selection: the clip she clicks is outlined on Bob's timeline, in her colour; cleared when she clears it.
      const clipId = await A.getAttribute('[data-testid=timeline-clip]', 'data-clip-id');
      await A.click('[data-testid=timeline-clip]');
      const outline = `[data-testid=timeline-clip][data-clip-id="${clipId}"] [data-testid=peer-selection]${ada}`;
      await B.waitForSelector(outline);
      const colour = await B.$eval(outline, (el) => getComputedStyle(el).borderTopColor);
      const lineColour = await B.$eval(line, (el) => getComputedStyle(el).backgroundColor);
      expect(colour).toBe(lineColour);
      // ... and her selected layer is outlined on Bob's preview picture, in her colour, with her name.
      const onPicture = `[data-testid=peer-preview-selection][data-clip-id="${clipId}"]${ada}`;
      await B.waitForSelector(onPicture);
      expect(await B.$eval(`${onPicture} rect`, (el) => getComputedStyle(el).stroke)).toBe(lineColour);
      expect(await B.textContent(`${onPicture} text`)).toBe('Ada Owner');
      const picB = (await B.locator('[data-testid=preview-canvas]').boundingBox())!;
      const selB = (await B.locator(`${onPicture} rect`).boundingBox())!;
      // The clip fills the 9:16 frame: the outline hugs Bob's picture, inside it.
      expect(selB.x >= picB.x - 0.5 && selB.y >= picB.y - 0.5 && selB.x + selB.width <= picB.x + picB.width + 0.5 && selB.y + selB.height <= picB.y + picB.height + 0.5, JSON.stringify({ selB, picB })).toBe(true);
      expect(selB.width).toBeGreaterThan(picB.width * 0.9);
      expect(await A.locator('[data-testid=peer-preview-selection]').count()).toBe(0); // not my own
      await A.keyboard.press('Escape');
      await A.click('[data-testid=track-lane] >> nth=0', { position: { x: 5, y: 5 } }).catch(() => {});
      // (a click on an empty lane clears her selection; if the lane is full, selecting stays valid)

      // Her pointer over a track row: drawn on the same row at the same frame.
      const clipBox = (await A.locator('[data-testid=timeline-clip]').boundingBox())!;
      const ppfA = Number((await A.innerText('[data-testid=timeline-panel] .tools .muted')).split(' ')[0]);
      await A.mouse.move(clipBox.x + 30 * ppfA + 0.4, clipBox.y + clipBox.height / 2);
      const cursor = `[data-testid=peer-cursor]${ada}`;
      await expect.poll(() => B.getAttribute(cursor, 'data-frame')).toBe('30');
      const trackId = await A.getAttribute('[data-testid=timeline-clip]', 'data-track-id');
      expect(await B.locator(`[data-testid=track-row][data-track-id="${trackId}"] ${cursor}`).count()).toBe(1);

      // Her pointer over the preview picture: the same spot of Bob's picture, whatever its size.
      const canvasA = (await A.locator('[data-testid=preview-canvas]').boundingBox())!;
      await A.mouse.move(canvasA.x + canvasA.width * 0.25, canvasA.y + canvasA.height * 0.75);
      const onPreview = `[data-testid=peer-preview-cursor]${ada}`;
      await B.waitForSelector(onPreview);
      expect(await B.locator(cursor).count()).toBe(0); // it left the timeline
      const at = async () => {
        const c = (await B.locator('[data-testid=preview-canvas]').boundingBox())!;
        const p = (await B.locator(onPreview).boundingBox())!;
        return [Math.round(((p.x - c.x) / c.width) * 100), Math.round(((p.y - c.y) / c.height) * 100)];
      };
      await expect.poll(at).toEqual([25, 75]);

      if (SHOTS) {
        // Her clip selected again and her pointer back over the picture, for the pictures.
        await A.locator('[data-testid=timeline-clip]').click();
        await B.waitForSelector(outline);
        await A.mouse.move(canvasA.x + canvasA.width * 0.25, canvasA.y + canvasA.height * 0.75);
        await expect.poll(at).toEqual([25, 75]);
        await B.screenshot({ path: path.join(SHOTS, 'nle-presence-1280.png') });
        await B.setViewportSize({ width: 1920, height: 1080 });
        await expect.poll(at).toEqual([25, 75]);
        await B.screenshot({ path: path.join(SHOTS, 'nle-presence-1920.png') });
      }

      // She leaves: her line, outline and pointers go from Bob's screen (on disconnect, not after 30 s).
      await a.context.close();
      a = undefined;
      await expect.poll(() => B.locator(`[data-testid=peer-playhead]${ada}, [data-testid=peer-selection]${ada}, [data-testid=peer-cursor]${ada}, ${onPreview}, [data-testid=peer-preview-selection]${ada}`).count(), { timeout: 10_000 }).toBe(0);
      expect(b.errors).toEqual([]);
    } catch (err) {
      throw await evidence(err, app, { Ada: a, Bob: b });
    } finally {
      for (const e of [a, b]) await e?.context.close().catch(() => {});
    }
  });
});
