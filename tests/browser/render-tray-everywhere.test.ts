/**
 * The render tray on every signed-in page, with the real farm: a render started in the editor shows
 * its progress in the top bar's tray on the projects page, the notice with a working download when it
 * finishes there, and a second one is cancelled from the tray on the team page.
 * SCREENSHOT_DIR=<dir> keeps the open tray at 1280x720 and 1920x1080.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';

const SHOTS = process.env.SCREENSHOT_DIR;
const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout });

describe('the render tray on every page', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-tray-all-'));
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=12', '-f', 'lavfi', '-i', 'sine=frequency=880:duration=12', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac', '-shortest', path.join(work, 'src.mp4')]);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** Render from the editor, wait until the farm has it, then leave through the top bar's link. */
  async function renderThenGo(page: Page, projectId: string, link: string) {
    if (!page.url().endsWith(`/projects/${projectId}`)) await page.goto(`${app.url}/projects/${projectId}`);
    await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
    await page.click('[data-testid=render]');
    await page.waitForSelector('[data-testid=tray-job]');
    await page.click(link);
  }

  it('progress on the projects page, the notice and download, cancel on the team page', { timeout: 360_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await signUpWithProject(page, app.url, { name: 'Tray User', email: 'tray-all@example.com' }, 'Everywhere');
      const projectId = new URL(page.url()).pathname.split('/').pop()!;
      // Not in the editor (it has its own tray in its bar).
      expect(await page.locator('[data-testid=renders-tray-toggle]').count()).toBe(0);
      await uploadMedia(page, path.join(work, 'src.mp4'));
      await page.click('[data-testid=add-to-timeline]');
      await page.waitForSelector('[data-testid=timeline-clip]');

      await renderThenGo(page, projectId, 'nav a[href="/projects"]');
      await page.waitForURL((u) => u.pathname === '/projects');
      // The button counts it; the panel shows project, version and live progress.
      await poll(() => page.textContent('[data-testid=renders-tray-count]')).toBe('1');
      await page.click('[data-testid=renders-tray-toggle]');
      const job = page.locator('[data-testid=renders-tray-job]').first();
      await poll(() => job.innerText()).toMatch(/Everywhere\s+v1/);
      await poll(() => job.getAttribute('data-status')).toMatch(/queued|rendering/);
      const seen = new Set<string>();
      // Progress moves while we watch (SSE), then the notice with the download.
      const notice = page.locator('[data-testid=renders-tray-notice]');
      await poll(async () => {
        const t = await page.locator('[data-testid=renders-tray-progress]').innerText().catch(() => null);
        if (t) seen.add(t);
        return notice.count();
      }, 180_000).toBe(1);
      expect(seen.size).toBeGreaterThan(1);
      expect(await notice.innerText()).toMatch(/Everywhere v1 is ready/);
      const href = await page.getAttribute('[data-testid=renders-tray-notice-download]', 'href');
      expect(await page.evaluate(async (u) => (await fetch(u!)).status, href)).toBe(200);
      await poll(() => job.getAttribute('data-status')).toBe('succeeded');
      expect(await page.locator('[data-testid=renders-tray-download]').count()).toBe(1);
      expect(await page.locator('[data-testid=renders-tray-count]').count()).toBe(0);
      if (SHOTS) {
        await page.screenshot({ path: path.join(SHOTS, 'tray-projects-1280.png') });
        await page.setViewportSize({ width: 1920, height: 1080 });
        await page.screenshot({ path: path.join(SHOTS, 'tray-projects-1920.png') });
        await page.setViewportSize({ width: 1280, height: 720 });
      }
      await page.keyboard.press('Escape');
      await poll(() => page.locator('[data-testid=renders-tray]').count()).toBe(0);

      // A second render, cancelled from the team page.
      await renderThenGo(page, projectId, '[data-testid=team-link]');
      await page.waitForURL((u) => u.pathname === '/settings/team');
      await page.click('[data-testid=renders-tray-toggle]');
      const v2 = page.locator('[data-testid=renders-tray-job]').first();
      await poll(() => v2.innerText()).toMatch(/Everywhere\s+v2/);
      if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'tray-team-running-1280.png') });
      await page.click('[data-testid=renders-tray-cancel]');
      await poll(() => v2.getAttribute('data-status'), 30_000).toBe('cancelled');
      // The server agrees, and no "ready" notice appears for it.
      const status = await page.evaluate(async (id) => (await (await fetch(`/api/trpc/renders.list?input=${encodeURIComponent(JSON.stringify({ projectId: id }))}`)).json()).result.data[0].status, projectId);
      expect(status).toBe('cancelled');
      expect(await page.locator('[data-testid=renders-tray-notice]:has-text("v2")').count()).toBe(0);
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
