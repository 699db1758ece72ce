/**
 * The reviewer flow in Chromium against the real product: the owner renders a 2 s clip and shares
 * v1 with a password; a guest in a fresh context opens
 * the link, enters the password and a name, steps to a frame, draws a rectangle and comments; the
 * owner gets the notification and sees the comment tied to the clip on screen at that frame.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { schema } from '../../drizzle/index.ts';
import { launchChromium, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { makeLandscapeVideo } from '../support/media.ts';
import { startSmtp, type TestSmtp } from '../support/smtp.ts';

const SHOTS = process.env.SCREENSHOT_DIR;

describe('review and approval in Chromium', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;
  let smtp: TestSmtp;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-review-'));
    smtp = await startSmtp();
    [app, browser] = await Promise.all([startApp({ SMTP_URL: smtp.url }), launchChromium()]);
  });
  afterAll(async () => {
    if (process.env.REVIEW_FLOW_LOGS) writeFileSync(process.env.REVIEW_FLOW_LOGS, app?.logs() ?? '');
    await browser?.close();
    await app?.stop();
    await smtp?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('owner shares v1; a guest comments with a drawing at a frame; the owner is notified and lands on the clip', async () => {
    const owner = await browser.newContext();
    const page = await owner.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    await page.goto(`${app.url}/signup`, { waitUntil: 'networkidle' });
    await page.fill('input[name=name]', 'Olivia Owner');
    await page.fill('input[name=email]', 'olivia@example.com');
    await page.fill('input[name=password]', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL((url) => url.pathname === '/projects', { timeout: 60_000 });
    await page.fill('input[name=name]', 'Agency cut');
    await page.click('text=Create project');
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    const projectId = page.url().split('/').pop()!;

    // v1 rendered for real by the embedded worker from a 2 s clip (60 frames at 30 fps).
    const src = path.join(work, 'two-seconds.mp4');
    makeLandscapeVideo(src, 2);
    await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
    await uploadMedia(page, src);
    await page.click('[data-testid=add-to-timeline]');
    await page.waitForSelector('[data-testid=clip-row]');
    await page.click('[data-testid=render]');
    await page.waitForSelector('[data-testid=render-row][data-status=succeeded]', { timeout: 180_000 });
    const db = app.db.handle.db;
    const [render] = await db.select().from(schema.renders);
    const renderId = render!.id;
    // The editor opens the same Share dialog (no links yet; v1 can be shared).
    await page.click('[data-testid=open-share]');
    await page.waitForSelector('[data-testid=share-dialog] [data-testid=share-target] option:has-text("v1 only")', { state: 'attached' });
    expect(await page.locator('[data-testid=share-link]').count()).toBe(0);
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'share-dialog-editor-1280x720.png') });
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=share-dialog]', { state: 'hidden' });

    await page.goto(`${app.url}/projects/${projectId}/versions`);
    await page.waitForSelector('[data-testid=version][data-version="1"]');
    // The Share dialog: create a password link with approval, see it listed, copy it.
    await page.click('[data-testid=open-share]');
    await page.waitForSelector('[data-testid=share-dialog] [data-testid=share-form]');
    await page.fill('[data-testid=share-password]', 'letmein');
    await page.fill('[data-testid=share-expiry]', '48');
    await page.check('[data-testid=share-approve]');
    await page.click('[data-testid=create-share]');
    const shareUrl = (await page.locator('[data-testid=share-url]').textContent())!.trim();
    expect(shareUrl).toMatch(/\/review\/[A-Za-z0-9_-]{20,}$/);
    const listed = page.locator('[data-testid=share-link][data-status=live]');
    await expect.poll(() => listed.count()).toBe(1);
    expect(await listed.textContent()).toMatch(/Stack \(latest\).*view.*comment.*approve.*password · expires/);
    // A throwaway link, revoked from the list.
    await page.uncheck('[data-testid=share-approve]');
    await page.selectOption('[data-testid=share-target]', { label: 'v1 only' });
    await page.click('[data-testid=create-share]');
    await expect.poll(() => listed.count()).toBe(2);
    if (SHOTS) {
      for (const [w, h] of [[1280, 720], [1920, 1080]] as const) {
        await page.setViewportSize({ width: w, height: h });
        await page.screenshot({ path: path.join(SHOTS, `share-dialog-${w}x${h}.png`) });
      }
    }
    await page.locator('[data-testid=share-link]', { hasText: 'v1' }).locator('[data-testid=revoke]').click();
    await page.waitForSelector('[data-testid=share-link][data-status=revoked]');
    expect(await listed.count()).toBe(1);
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=share-dialog]', { state: 'hidden' });

    // The guest: no account, a fresh browser context.
    const guestCtx = await browser.newContext();
    const guest = await guestCtx.newPage();
    guest.on('pageerror', (e) => errors.push(e.message));
    await guest.goto(shareUrl);
    await guest.fill('[data-testid=password-form] input[name=password]', 'wrong');
    await guest.click('[data-testid=password-form] button');
    await guest.waitForSelector('text=Wrong password.');
    await guest.fill('[data-testid=password-form] input[name=password]', 'letmein');
    await guest.click('[data-testid=password-form] button');
    await guest.fill('[data-testid=name-form] input[name=name]', 'Carla Client');
    await guest.click('[data-testid=name-form] button');
    await guest.waitForSelector('[data-testid=guest-name]:has-text("Carla Client")');
    await guest.waitForFunction(() => (document.querySelector('[data-testid=review-video]') as HTMLVideoElement | null)?.readyState! >= 2);

    // Step to frame 45 (inside clip c2, under cue q1) and draw a rectangle on the paused frame.
    for (let i = 0; i < 45; i++) await guest.click('[data-testid=next-frame]');
    await expect.poll(() => guest.textContent('[data-testid=frame-number]')).toBe('frame 45');
    await guest.click('[data-testid=tool-rect]');
    const box = (await guest.locator('[data-testid=annotation-canvas]').boundingBox())!;
    await guest.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.2);
    await guest.mouse.down();
    await guest.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 5 });
    await guest.mouse.up();
    await guest.fill('[data-testid=comment-text]', 'Make the logo smaller here');
    await guest.click('[data-testid=comment-submit]');
    await guest.waitForSelector('[data-testid=comment][data-frame="45"]:has-text("Make the logo smaller here")');
    const [stored] = await db.select().from(schema.comments);
    expect(stored).toMatchObject({ frame: 45, cueId: null, itemOffset: 45, authorName: 'Carla Client', authorUserId: null });
    expect(stored!.clipId).toMatch(/.+/);
    expect((stored!.annotation as { shapes: { kind: string }[] }).shapes.map((s) => s.kind)).toEqual(['rect']);
    // Approving takes an email proven by the code mailed to it.
    await guest.fill('[data-testid=approve-email]', 'carla@client.example');
    await guest.click('[data-testid=send-code]');
    const code = /\b(\d{6})\b/.exec((await smtp.waitFor('carla@client.example')).text)![1]!;
    await guest.fill('[data-testid=approve-code]', code);
    await guest.click('[data-testid=verify-code]');
    await guest.click('[data-testid=approve]');
    await guest.waitForSelector('[data-testid=approval-state]:has-text("Approved")');

    // Reloading keeps the name (cookie on this link) and shows the comment; its seek link goes back to 45.
    await guest.reload();
    await guest.waitForSelector('[data-testid=comment][data-frame="45"]');
    for (let i = 0; i < 3; i++) await guest.click('[data-testid=prev-frame]');
    await guest.click('[data-testid=comment-seek]');
    await expect.poll(() => guest.textContent('[data-testid=frame-number]')).toBe('frame 45');

    // The owner: notification badge, the list, and the comment linked to clip c2 at offset 15.
    await page.goto(`${app.url}/projects`);
    await expect.poll(() => page.textContent('[data-testid=unread-count]').catch(() => null), { timeout: 10_000 }).toBe('2');
    await page.click('[data-testid=notifications-link]');
    await page.waitForSelector('[data-testid=notification][data-kind=comment]:has-text("Carla Client commented")');
    await page.waitForSelector('[data-testid=notification][data-kind=decision]:has-text("approved")');
    await page.click('[data-testid=notification][data-kind=comment] a');
    await page.waitForURL(/\/versions\?render=/);
    await page.waitForSelector('[data-testid=selected-state]:has-text("Approved")');
    const href = await page.locator('[data-testid=comment][data-frame="45"] [data-testid=open-in-editor]').getAttribute('href');
    expect(href).toContain(`/projects/${projectId}?`);
    expect(new URL(href!, app.url).searchParams.get('clip')).toBe(stored!.clipId);
    expect(new URL(href!, app.url).searchParams.get('offset')).toBe('45');
    // The editor opens on that clip with the playhead on the commented frame.
    await page.click('[data-testid=comment][data-frame="45"] [data-testid=open-in-editor]');
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}\?/);
    await expect.poll(() => page.inputValue('[data-testid=playhead]'), { timeout: 20_000 }).toBe('45');

    // The guest's link is scoped to that render: the owner's API is not open to it.
    const res = await guest.request.get(`${app.url}/api/trpc/review.comments?input=${encodeURIComponent(JSON.stringify({ renderId }))}`);
    expect(res.status()).toBe(401);
    expect(errors).toEqual([]);
    await guestCtx.close();
    await owner.close();
  });

  it('versions page: v1 and v2 side by side play in sync', async () => {
    const db = app.db.handle.db;
    const [v1] = await db.select().from(schema.renders);
    // v2: the same output file under a new version number (what matters here is the stack and the sync).
    await db.insert(schema.renders).values({ ...v1!, id: crypto.randomUUID(), version: 2 });
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${app.url}/login`, { waitUntil: 'networkidle' });
    await page.fill('input[name=email]', 'olivia@example.com');
    await page.fill('input[name=password]', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL((url) => url.pathname === '/projects');
    await page.goto(`${app.url}/projects/${v1!.projectId}/versions`);
    expect(await page.locator('[data-testid=version]').count()).toBe(2);
    await page.selectOption('[data-testid=compare-a]', { label: 'v1' });
    await page.selectOption('[data-testid=compare-b]', { label: 'v2' });
    await page.click('[data-testid=compare-go]');
    await page.waitForSelector('[data-testid=compare-view]');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=compare-view] video')].every((v) => (v as HTMLVideoElement).readyState >= 2));
    await page.click('text=Play both');
    await page.waitForTimeout(800);
    await page.click('text=Pause both');
    const times = await page.$$eval('[data-testid=compare-view] video', (vs) => vs.map((v) => (v as HTMLVideoElement).currentTime));
    expect(times[0]).toBeGreaterThan(0.2);
    expect(Math.abs(times[0]! - times[1]!)).toBeLessThan(1 / 30);
    await ctx.close();
  });

  it('the farm console is a 404 for others; a farm admin sees the live embedded worker, queues and jobs; /metrics serves Prometheus text', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${app.url}/signup`, { waitUntil: 'networkidle' });
    await page.fill('input[name=name]', 'Fred Farm');
    await page.fill('input[name=email]', 'fred@example.com');
    await page.fill('input[name=password]', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL((url) => url.pathname === '/projects');
    expect((await page.goto(`${app.url}/admin`))!.status()).toBe(404);
    expect(await page.locator('[data-testid=admin-link]').count()).toBe(0);

    await app.announceUserChanges((await app.db.handle.db.update(schema.users).set({ isFarmAdmin: true }).returning({ id: schema.users.id })).map((u) => u.id));
    await page.goto(`${app.url}/projects`);
    await page.click('[data-testid=admin-link]');
    await page.waitForURL('**/admin');
    await page.waitForSelector('[data-testid=worker-row][data-health=ok]');
    expect(await page.locator('[data-testid=queue-high]').count()).toBe(1);
    await page.waitForSelector('[data-testid=job-row][data-status=succeeded]');
    await page.selectOption('select[name=status]', 'failed');
    await page.click('text=Filter');
    await page.waitForURL(/status=failed/);
    expect(await page.locator('[data-testid=job-row]').count()).toBe(0);
    await page.goto(`${app.url}/admin`);
    // Render minutes: a grant with a reason through the form lands in the ledger and the balance.
    const quota = page.locator('[data-testid=quota-row]', { hasText: "Fred Farm's team" });
    const left = Number(await quota.locator('[data-testid=minutes-left]').textContent());
    await quota.locator('input[name=minutes]').fill('25');
    await quota.locator('input[name=reason]').fill('support ticket 42');
    await quota.locator('button:has-text("Grant")').click();
    await page.waitForSelector('[data-testid=admin-message]:has-text("grant minutes: done")');
    await expect.poll(async () => Number(await quota.locator('[data-testid=minutes-left]').textContent())).toBe(left + 25);
    const ledger = await app.db.handle.db.select().from(schema.renderMinuteLedger);
    expect(ledger.filter((e) => e.kind === 'grant' && e.reason === 'support ticket 42')).toEqual([expect.objectContaining({ minutes: 25 })]);
    // Storage per org: the owner's team holds its upload and its renders.
    expect(Number(await page.locator('[data-testid=storage-row]', { hasText: "Olivia Owner's team" }).getAttribute('data-bytes'))).toBeGreaterThan(0);
    await page.click('[data-testid=job-row] a');
    await page.waitForSelector('[data-testid=job-ffmpeg]:has-text("ffmpeg")');
    await page.waitForSelector('[data-testid=job-ledger]:has-text("debit -1")');

    const metrics = await fetch(`${app.url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/clipmaker_render_queue_depth\{priority="normal",state="waiting"\} 0/);
    expect(text).toMatch(/clipmaker_render_job_duration_seconds_count\{status="succeeded"\} 2/);
    await ctx.close();
  });
});
