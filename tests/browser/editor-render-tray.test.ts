/**
 * The render tray in the editor's bar with the real farm: an export preset that the project does
 * not deliver says why and offers the aspect switch (one edit), the server refuses such a preset
 * too, a render shows its progress in the tray and a notice with the download when done, and the
 * tray's Cancel stops a running one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';

const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout });

describe('the render tray', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-tray-'));
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=8', '-f', 'lavfi', '-i', 'sine=frequency=880:duration=8', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac', '-shortest', path.join(work, 'src.mp4')]);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('presets, progress, notice with download, cancel', { timeout: 300_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await signUpWithProject(page, app.url, { name: 'Tray User', email: 'tray@example.com' }, 'Tray');
      await uploadMedia(page, path.join(work, 'src.mp4'));
      await page.click('[data-testid=add-to-timeline]');
      await page.waitForSelector('[data-testid=timeline-clip]');
      const projectId = new URL(page.url()).pathname.split('/').pop()!;

      // YouTube on a 9:16 project: the reason, Render disabled, and the switch (one edit) fixes it.
      await page.selectOption('[data-testid=export-preset]', { label: 'YouTube · 1920×1080' });
      await poll(() => page.textContent('[data-testid=preset-fit]')).toMatch(/1080×1920.*needs 1920×1080/);
      expect(await page.isDisabled('[data-testid=render]')).toBe(true);
      await page.click('[data-testid=preset-apply-aspect]');
      await poll(() => page.textContent('[data-testid=output-size]')).toBe('1920×1080');
      await poll(() => page.locator('[data-testid=preset-fit]').count()).toBe(0);
      await page.keyboard.press('Control+z');
      await poll(() => page.textContent('[data-testid=output-size]')).toBe('1080×1920');
      // 60 fps from a 30 fps project: said, no aspect switch offered.
      await page.selectOption('[data-testid=export-preset]', { label: 'TikTok / Reels / Shorts · 60 fps' });
      await poll(() => page.textContent('[data-testid=preset-fit]')).toMatch(/30 fps.*60 fps project/);
      expect(await page.locator('[data-testid=preset-apply-aspect]').count()).toBe(0);
      // The server refuses that preset as well (the tray is not the only check).
      const refused = await page.evaluate(async (id) => {
        const r = await fetch('/api/trpc/renders.create', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ projectId: id, stateVector: null, preset: 'vertical-60' }) });
        return { status: r.status, body: await r.text() };
      }, projectId);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatch(/60 fps project/);

      // A fitting preset renders: progress in the tray, then the notice with the download.
      await page.selectOption('[data-testid=export-preset]', { label: 'TikTok / Reels / Shorts · 30 fps' });
      await page.click('[data-testid=render]');
      await page.waitForSelector('[data-testid=tray-job]');
      await page.waitForSelector('[data-testid=render-toast]', { timeout: 180_000 });
      expect(await page.textContent('[data-testid=render-toast]')).toMatch(/v1 is ready/);
      const href = await page.getAttribute('[data-testid=tray-download]', 'href');
      const file = await page.evaluate(async (u) => (await fetch(u!)).status, href);
      expect(file).toBe(200);
      expect(await page.locator('[data-testid=tray-job]').count()).toBe(0);

      // Cancel from the tray.
      await page.click('[data-testid=render]');
      await page.waitForSelector('[data-testid=tray-cancel]');
      await page.click('[data-testid=tray-cancel]');
      await poll(() => page.getAttribute('[data-testid=render-row] >> nth=0', 'data-status'), 30_000).toBe('cancelled');
      await poll(() => page.locator('[data-testid=tray-job]').count()).toBe(0);
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
