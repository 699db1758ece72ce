/**
 * The foundation flow in a real browser against the real product: sign up, create a project, upload
 * a video (and see a non-video refused), place and trim a clip, 9:16 crop, add a subtitle cue,
 * Render, watch progress, download the MP4 and check it with ffprobe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffprobe, makeLandscapeVideo } from '../support/media.ts';

describe('editor to rendered MP4 in Chromium', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-e2e-'));
    makeLandscapeVideo(path.join(work, 'landscape.mp4'), 4);
    writeFileSync(path.join(work, 'notes.txt'), 'this is not a video\n');
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('health reports db, redis and ffmpeg', async () => {
    const res = await fetch(`${app.url}/api/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ ok: true, db: { ok: true, kind: 'postgres' }, redis: { ok: true }, ffmpeg: { ok: true } });
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
  });

  it('signs up, edits, renders and downloads a 1080x1920 MP4 with audio', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {

    await page.goto(`${app.url}/signup`, { waitUntil: 'networkidle' });
    await page.fill('input[name=name]', 'Ada Editor');
    await page.fill('input[name=email]', 'ada@example.com');
    await page.fill('input[name=password]', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL((url) => url.pathname === '/projects');

    await page.fill('input[name=name]', 'Launch teaser');
    await page.selectOption('select[name=aspect]', '9:16');
    await page.click('text=Create project');
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');

    // A text file is refused with a clear reason and nothing is added.
    await uploadMedia(page, path.join(work, 'notes.txt'));
    await expect.poll(() => page.textContent('[data-testid=upload-error]')).toMatch(/not a media file/);
    expect(await page.locator('[data-testid=asset]').count()).toBe(0);

    await uploadMedia(page, path.join(work, 'landscape.mp4'));
    await page.waitForSelector('[data-testid=add-to-timeline]');
    await page.click('[data-testid=add-to-timeline]');
    await page.waitForSelector('[data-testid=clip-row]');

    // Trim to source frames [15, 90): 75 frames = 2.5 s at 30 fps.
    await page.fill('[data-testid=clip-out]', '90');
    await page.press('[data-testid=clip-out]', 'Enter');
    await page.fill('[data-testid=clip-in]', '15');
    await page.press('[data-testid=clip-in]', 'Enter');
    await expect.poll(() => page.inputValue('[data-testid=clip-in]')).toBe('15');
    await expect.poll(() => page.inputValue('[data-testid=clip-out]')).toBe('90');

    await page.selectOption('[data-testid=aspect]', '9:16');
    await expect.poll(() => page.textContent('[data-testid=output-size]')).toBe('1080×1920');
    // Move the crop window to the left edge at the playhead.
    await page.locator('[data-testid=crop-x]').fill('0');
    await page.locator('[data-testid=crop-x]').dispatchEvent('change');

    await page.fill('[data-testid=cue-start]', '0.5');
    await page.fill('[data-testid=cue-end]', '2');
    await page.fill('[data-testid=cue-text]', 'Hello, "world": [1,2]; 50% \\ done');
    await page.click('[data-testid=add-cue]');
    await page.waitForSelector('[data-testid=cue]');
    expect(await page.textContent('[data-testid=edit-error]').catch(() => null)).toBeNull();

    await page.click('[data-testid=render]');
    await page.waitForSelector('[data-testid=render-row]');
    // Progress is pushed live; the row ends succeeded with a download link.
    await page.waitForSelector('[data-testid=render-row][data-status=succeeded]', { timeout: 180_000 });
    const href = await page.getAttribute('[data-testid=download]', 'href');
    expect(href).toMatch(/^\/api\/files\?/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download]')]);
    const out = path.join(work, 'render.mp4');
    await download.saveAs(out);
    const info = ffprobe(out);
    expect(info.width).toBe(1080);
    expect(info.height).toBe(1920);
    expect(info.hasAudio).toBe(true);
    expect(info.videoFrames).toBe(75);
    expect(info.durationSeconds).toBeGreaterThan(2.4);
    expect(info.durationSeconds).toBeLessThan(2.7);
    expect(pageErrors).toEqual([]);

    // The link is signed: a tampered one is refused.
    const tampered = await fetch(`${app.url}${href!.replace(/sig=[^&]+/, 'sig=AAAA')}`);
    expect(tampered.status).toBe(403);
    } catch (err) {
      // Leave evidence: a screenshot, the visible text and the server's log tail.
      await page.screenshot({ path: path.join(tmpdir(), 'cm-e2e-failure.png'), fullPage: true }).catch(() => {});
      const text = await page.innerText('body').catch(() => '');
      throw new Error(`${(err as Error).message}\n--- page ---\n${text.slice(0, 3000)}\n--- page errors ---\n${pageErrors.join('\n')}\n--- server ---\n${app.logs().slice(-4000)}`);
    } finally {
      await context.close();
    }
  });
});
