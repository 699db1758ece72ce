/**
 * The product by keyboard alone, in Chromium against the real app: sign up, create a project, put a
 * clip on the timeline, select it, trim it by a frame, add a subtitle cue, render, share, and (as a
 * guest) step to a frame and post a comment there; then delete the clip. Fields are filled and
 * controls reached with focus() (what Tab does) and pressed with keys; a listener on every page
 * counts pointer events and the test fails if there is one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { makeLandscapeVideo } from '../support/media.ts';

type Editor = { __clipmakerEditor: { timeline(): { clips: Array<{ id: string; start: number; sourceIn?: number; sourceOut?: number; kind: string }>; cues: Array<{ text: string }> } } };

async function keyboardOnly(ctx: BrowserContext): Promise<void> {
  await ctx.addInitScript(() => {
    const w = window as unknown as { __pointerEvents: string[] };
    w.__pointerEvents = [];
    for (const type of ['pointerdown', 'mousedown', 'touchstart'])
      window.addEventListener(type, (e) => w.__pointerEvents.push(`${type} on ${(e.target as Element | null)?.outerHTML.slice(0, 80)}`), { capture: true });
  });
}
const pointerEvents = (page: Page) => page.evaluate(() => (window as unknown as { __pointerEvents: string[] }).__pointerEvents);
const activeTestId = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName ?? null);

describe('keyboard only', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-keys-'));
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('selects, trims and deletes a clip, adds a cue, renders, and posts a review comment at a frame without a pointer', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    await keyboardOnly(ctx);
    const page = await ctx.newPage();
    const pointerSeen: string[] = [];
    const check = async (p: Page) => pointerSeen.push(...(await pointerEvents(p)));

    await page.goto(`${app.url}/signup`, { waitUntil: 'networkidle' });
    await page.fill('input[name=name]', 'Kim Keys');
    await page.fill('input[name=email]', 'kim@example.com');
    await page.fill('input[name=password]', 'correct horse battery');
    await page.press('input[name=password]', 'Enter');
    await page.waitForURL((url) => url.pathname === '/projects');
    await check(page);
    await page.fill('input[name=name]', 'Keyboard cut');
    await page.press('input[name=name]', 'Enter');
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    const projectId = page.url().split('/').pop()!;
    await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');

    // A 1 s clip (30 frames) onto the timeline with the bin's "+ Video" button.
    const src = path.join(work, 'one-second.mp4');
    makeLandscapeVideo(src, 1);
    await uploadMedia(page, src);
    await page.waitForSelector('[data-testid=add-to-timeline]', { timeout: 60_000 });
    await page.focus('[data-testid=add-to-timeline]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=timeline-clip]');
    const clips = () => page.evaluate(() => (window as unknown as Editor).__clipmakerEditor.timeline().clips.filter((c) => c.kind === 'video'));
    const [clip] = await clips();
    const clipEl = `[data-testid=timeline-clip][data-clip-id="${clip!.id}"]`;

    // Select it (Enter on the focused clip), trim its tail by a frame (Alt+Shift+Left).
    await page.focus(clipEl);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getAttribute(clipEl, 'aria-pressed')).toBe('true');
    const before = (await clips())[0]!;
    await page.keyboard.press('Alt+Shift+ArrowLeft');
    await expect.poll(async () => (await clips())[0]!.sourceOut).toBe(before.sourceOut! - 1);
    expect(await activeTestId(page)).toBe('timeline-clip');

    // A subtitle cue from the subtitle fields, added with Enter on "Add cue".
    await page.fill('[data-testid=cue-text]', 'Typed, not clicked');
    await page.fill('[data-testid=cue-start]', '0');
    await page.fill('[data-testid=cue-end]', '0.5');
    await page.focus('[data-testid=add-cue]');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => (window as unknown as Editor).__clipmakerEditor.timeline().cues.map((c) => c.text))).toEqual(['Typed, not clicked']);

    // Render with Enter on the Render button; the live region says how it went.
    await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
    await page.focus('[data-testid=render]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=render-row][data-status=succeeded]', { timeout: 180_000 });
    await expect.poll(() => page.textContent('[data-testid=render-live]')).toBe('Render v1 succeeded');
    await check(page);

    // Share v1 from the versions page: Enter opens the share dialog, Enter on "Create link".
    await page.goto(`${app.url}/projects/${projectId}/versions`);
    await page.waitForSelector('[data-testid=version][data-version="1"]');
    await page.focus('[data-testid=open-share]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=share-dialog] [data-testid=share-form]');
    await page.focus('[data-testid=create-share]');
    await page.keyboard.press('Enter');
    const shareUrl = (await page.locator('[data-testid=share-url]').textContent())!.trim();
    await check(page);

    // The guest: name, then → steps the paused player ten frames, the comment box posts on Enter.
    const guestCtx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    await keyboardOnly(guestCtx);
    const guest = await guestCtx.newPage();
    await guest.goto(shareUrl);
    await guest.fill('[data-testid=name-form] input[name=name]', 'Gus Guest');
    await guest.press('[data-testid=name-form] input[name=name]', 'Enter');
    await guest.waitForSelector('[data-testid=guest-name]:has-text("Gus Guest")');
    await guest.waitForFunction(() => (document.querySelector('[data-testid=review-video]') as HTMLVideoElement | null)?.readyState! >= 2);
    await guest.focus('[data-testid=scrubber]');
    for (let i = 0; i < 10; i++) await guest.keyboard.press('ArrowRight');
    await expect.poll(() => guest.textContent('[data-testid=frame-number]')).toBe('frame 10');
    await guest.focus('[data-testid=comment-text]');
    await guest.keyboard.type('Cut here');
    await guest.keyboard.press('Enter');
    await guest.waitForSelector('[data-testid=comment][data-frame="10"]:has-text("Cut here")');
    await expect.poll(() => guest.textContent('[data-testid=comment-live]')).toMatch(/^Comment posted at /);
    await check(guest);
    await guestCtx.close();

    // Back in the editor: Delete on the focused, selected clip removes it; focus stays on the timeline.
    await page.goto(`${app.url}/projects/${projectId}`);
    await page.waitForSelector(clipEl);
    await page.focus(clipEl);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Delete');
    await expect.poll(async () => (await clips()).length).toBe(0);
    expect(await page.evaluate(() => document.activeElement !== document.body && !!document.activeElement?.closest('[data-testid=timeline-panel]'))).toBe(true);
    await check(page);

    expect(pointerSeen).toEqual([]);
    await ctx.close();
  });
});
