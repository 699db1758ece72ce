/**
 * Watermarked share links in Chromium against the real product (app + embedded farm worker + Redis +
 * ffmpeg): the owner turns "Watermark" on in the Share dialog; a guest opening the link sees the
 * copy being made, then plays THEIR copy (name and time burned in by the farm); the render itself is
 * refused on that link however the guest asks for it (its key in a valid URL, a download, the poster,
 * a forged signature); a second guest gets their own copy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { Browser, Page } from 'playwright-core';
import { signedFileUrl } from '../../app/src/lib/server/signing.ts';
import { launchChromium, screenshotBothSizes } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg, ffprobe } from '../support/media.ts';
import { createProject, seedRender, signUpUser, trpc } from '../security/support.ts';

describe('watermarked review links in Chromium', () => {
  let app: RunningApp;
  let browser: Browser;
  let sql: postgres.Sql;
  let work: string;
  let owner: string;
  let renderId: string;
  let outputKey: string;
  let secret: string;

  async function openAsGuest(url: string, name: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
    await page.goto(url);
    await page.fill('[data-testid=name-form] input[name=name]', name);
    await page.click('[data-testid=name-form] button');
    await expect.poll(() => page.locator('[data-testid=guest-name]').textContent().catch(() => null)).toBe(name);
    return page;
  }

  /** Status of a GET from inside the guest's page (their cookies, their origin). */
  const statusOf = (page: Page, url: string) => page.evaluate(async (u) => (await fetch(u)).status, url);

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-watermark-'));
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
    sql = postgres(app.db.url, { max: 1, onnotice: () => {} });
    secret = readFileSync(path.join(app.dataDir, 'secrets', 'SIGNING_SECRET'), 'utf8').trim();
    owner = await signUpUser(app.url, 'wanda@example.com', 'long enough pw', 'Wanda Owner');
    const project = await createProject(app.url, owner, 'Leak-proof cut');
    ({ renderId, outputKey } = await seedRender(sql, app.dataDir, project));
    // A real render file behind the seeded row: 60 frames at 30 fps with audio.
    mkdirSync(path.dirname(path.join(app.dataDir, 'storage', outputKey)), { recursive: true });
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=2', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', path.join(app.dataDir, 'storage', outputKey)]);
  });
  afterAll(async () => {
    await sql?.end();
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('the Share dialog creates a watermarked link; the guest plays their own copy and never the render', async () => {
    // The owner makes the link in the Share dialog (the editor mounts it; the versions page opens it too).
    const ownerPage = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
    await ownerPage.goto(`${app.url}/login`, { waitUntil: 'networkidle' });
    await ownerPage.fill('input[name=email]', 'wanda@example.com');
    await ownerPage.fill('input[name=password]', 'long enough pw');
    await Promise.all([ownerPage.waitForURL((u) => !u.pathname.startsWith('/login')), ownerPage.click('button[type=submit]')]);
    const [{ id: projectId }] = (await sql`select project_id as id from renders where id = ${renderId}`) as unknown as [{ id: string }];
    await ownerPage.goto(`${app.url}/projects/${projectId}/versions`);
    await ownerPage.click('[data-testid=open-share]');
    await ownerPage.waitForSelector('[data-testid=share-dialog] [data-testid=share-form]');
    await ownerPage.check('[data-testid=share-download]');
    await ownerPage.check('[data-testid=share-watermark]');
    await screenshotBothSizes(ownerPage, 'share-watermark');
    await ownerPage.click('[data-testid=create-share]');
    const shareUrl = (await ownerPage.textContent('[data-testid=share-url]'))!.trim();
    await ownerPage.waitForSelector('[data-testid=share-link] td:has-text("watermark")');
    const [link] = (await sql`select id, watermark from share_links where render_id = ${renderId} order by created_at desc limit 1`) as unknown as [{ id: string; watermark: boolean }];
    expect(link.watermark).toBe(true);

    const guest = await openAsGuest(shareUrl.startsWith('http') ? shareUrl : `${app.url}${shareUrl}`, `Gus "the leaker" O'Neil`);
    // First open: the copy is being made (progress in place of the player), then it plays.
    await guest.waitForSelector('[data-testid=watermark-progress], [data-testid=review-video]');
    if (await guest.locator('[data-testid=watermark-progress]').count()) await screenshotBothSizes(guest, 'review-watermark-progress');
    await guest.waitForSelector('[data-testid=review-video]', { timeout: 120_000 });
    const src = (await guest.getAttribute('[data-testid=review-video]', 'src'))!;
    const key = new URL(src, app.url).searchParams.get('key')!;
    expect(key).toMatch(new RegExp(`^review-proxies/${link.id}/[0-9a-f-]{36}\\.mp4$`));
    expect(key).not.toBe(outputKey);
    await expect.poll(() => guest.evaluate(() => (document.querySelector('[data-testid=review-video]') as HTMLVideoElement).readyState), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    expect(await guest.getAttribute('[data-testid=review-video]', 'poster')).toBeNull();
    const download = (await guest.getAttribute('[data-testid=guest-download]', 'href'))!;
    expect(new URL(download, app.url).searchParams.get('key')).toBe(key);
    expect(await statusOf(guest, src)).toBe(200);
    expect(await statusOf(guest, download)).toBe(200);
    await screenshotBothSizes(guest, 'review-watermarked');

    // The copy is the farm's: its own file, every frame of the render, named for this viewer.
    const copy = path.join(app.dataDir, 'storage', key);
    expect(ffprobe(copy).videoFrames).toBe(ffprobe(path.join(app.dataDir, 'storage', outputKey)).videoFrames);
    expect(readFileSync(copy).equals(readFileSync(path.join(app.dataDir, 'storage', outputKey)))).toBe(false);
    const [row] = (await sql`select viewer_name, viewer_email, status from review_proxies where output_key = ${key}`) as unknown as [{ viewer_name: string; viewer_email: string | null; status: string }];
    expect(row).toEqual({ viewer_name: `Gus "the leaker" O'Neil`, viewer_email: null, status: 'succeeded' });

    // The render on this link: the copy's URL with the render's key (signature no longer matches), a
    // URL validly signed for the render on this link (stream and download), its poster, and the bare key.
    const swapped = new URL(src, app.url);
    swapped.searchParams.set('key', outputKey);
    expect([401, 403, 404]).toContain(await statusOf(guest, swapped.pathname + swapped.search));
    for (const download of [undefined, 'render.mp4']) expect([403, 404]).toContain(await statusOf(guest, signedFileUrl(secret, outputKey, { linkId: link.id, download })));
    expect([403, 404]).toContain(await statusOf(guest, signedFileUrl(secret, `renders/${renderId}/poster.jpg`, { linkId: link.id })));
    expect([401, 403, 404]).toContain(await statusOf(guest, `/api/files?key=${encodeURIComponent(outputKey)}`));
    expect(await guest.content()).not.toContain(encodeURIComponent(outputKey));

    // A second viewer gets a copy of their own, made on their first open; the first viewer's stays.
    const other = await openAsGuest(shareUrl.startsWith('http') ? shareUrl : `${app.url}${shareUrl}`, 'Vera Viewer');
    await other.waitForSelector('[data-testid=review-video]', { timeout: 120_000 });
    const otherKey = new URL((await other.getAttribute('[data-testid=review-video]', 'src'))!, app.url).searchParams.get('key');
    expect(otherKey).toMatch(/^review-proxies\//);
    expect(otherKey).not.toBe(key);
    // Reloading does not make another copy.
    await guest.reload();
    await guest.waitForSelector('[data-testid=review-video]');
    expect(new URL((await guest.getAttribute('[data-testid=review-video]', 'src'))!, app.url).searchParams.get('key')).toBe(key);
    const [{ n }] = (await sql`select count(*)::int as n from review_proxies where share_link_id = ${link.id}`) as unknown as [{ n: number }];
    expect(n).toBe(2);
    await guest.context().close();
    await other.context().close();
    await ownerPage.context().close();
  });
});
