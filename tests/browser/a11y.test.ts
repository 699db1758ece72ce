/**
 * axe-core on every page of the real product in Chromium (WCAG 2.0/2.1 A+AA and best practices):
 * log-in, sign-up, projects, the editor with a clip on the timeline and a cue, versions and its share
 * dialog, the review link (name gate and player), notifications, admin (farm and users), account and team settings.
 * Any critical or serious violation fails, listed per page. A11Y_SHOTS=<dir> also writes screenshots
 * of each page at 1280x720 and 1920x1080.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { schema } from '../../drizzle/index.ts';
import { blocking, runAxe } from '../support/axe.ts';
import { launchChromium, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { makeLandscapeVideo } from '../support/media.ts';

const SHOTS = process.env.A11Y_SHOTS;

describe('accessibility (axe-core) on every page', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;
  const report: Record<string, string[]> = {};

  async function audit(name: string, page: Page): Promise<void> {
    await page.waitForLoadState('networkidle').catch(() => {});
    report[name] = blocking(await runAxe(page));
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      const before = page.viewportSize();
      for (const [w, h] of [[1280, 720], [1920, 1080]] as const) {
        await page.setViewportSize({ width: w, height: h });
        await page.screenshot({ path: path.join(SHOTS, `${name}-${w}x${h}.png`) });
      }
      if (before) await page.setViewportSize(before);
    }
  }

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-a11y-'));
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('has no critical or serious violations on any page', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await ctx.newPage();

    await page.goto(`${app.url}/login`, { waitUntil: 'networkidle' });
    await audit('login', page);
    await page.goto(`${app.url}/signup`, { waitUntil: 'networkidle' });
    await audit('signup', page);
    await page.fill('input[name=name]', 'Ada Access');
    await page.fill('input[name=email]', 'ada@example.com');
    await page.fill('input[name=password]', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL((url) => url.pathname === '/projects');
    // The first account is the instance admin; farm admin too, so /admin has its full page.
    await app.announceUserChanges((await app.db.handle.db.update(schema.users).set({ isFarmAdmin: true }).returning({ id: schema.users.id })).map((u) => u.id));
    await page.fill('input[name=name]', 'Accessible cut');
    await page.click('text=Create project');
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    const projectId = page.url().split('/').pop()!;
    await page.goto(`${app.url}/projects`);
    await audit('projects', page);

    // The editor with content: a clip on the timeline, a cue, a finished render.
    await page.goto(`${app.url}/projects/${projectId}`);
    const src = path.join(work, 'one-second.mp4');
    makeLandscapeVideo(src, 1);
    await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
    await uploadMedia(page, src);
    await page.click('[data-testid=add-to-timeline]');
    await page.waitForSelector('[data-testid=clip-row]');
    await page.fill('[data-testid=cue-text]', 'Hello there');
    await page.fill('[data-testid=cue-end]', '0.5');
    await page.click('[data-testid=add-cue]');
    await page.waitForSelector('[data-testid=cue]');
    await page.click('[data-testid=render]');
    await page.waitForSelector('[data-testid=render-row][data-status=succeeded]', { timeout: 180_000 });
    await audit('editor', page);

    await page.goto(`${app.url}/projects/${projectId}/versions`);
    await page.waitForSelector('[data-testid=version][data-version="1"]');
    await audit('versions', page);
    await page.click('[data-testid=open-share]');
    await page.waitForSelector('[data-testid=share-dialog] [data-testid=share-form]');
    await page.fill('[data-testid=share-expiry]', '48');
    await page.click('[data-testid=create-share]');
    const shareUrl = (await page.locator('[data-testid=share-url]').textContent())!.trim();
    await audit('share-dialog', page);

    const guestCtx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const guest = await guestCtx.newPage();
    await guest.goto(shareUrl);
    await guest.waitForSelector('[data-testid=name-form]');
    await audit('review-name', guest);
    await guest.fill('[data-testid=name-form] input[name=name]', 'Rita Reviewer');
    await guest.click('[data-testid=name-form] button');
    await guest.waitForSelector('[data-testid=guest-name]:has-text("Rita Reviewer")');
    await guest.fill('[data-testid=comment-text]', 'Lovely frame');
    await guest.click('[data-testid=comment-submit]');
    await guest.waitForSelector('[data-testid=comment]:has-text("Lovely frame")');
    await audit('review', guest);
    await guestCtx.close();

    await page.goto(`${app.url}/notifications`);
    await page.waitForSelector('[data-testid=notification]');
    await audit('notifications', page);
    await page.goto(`${app.url}/admin`);
    await audit('admin', page);
    await page.goto(`${app.url}/admin/users`);
    await audit('admin-users', page);
    await page.goto(`${app.url}/settings/account`);
    await audit('settings-account', page);
    await page.goto(`${app.url}/settings/team`);
    await audit('settings-team', page);
    await ctx.close();

    const empty = Object.fromEntries(Object.keys(report).map((k) => [k, []]));
    expect(report).toEqual(empty);
  });
});
