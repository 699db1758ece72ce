/**
 * The review player is frame-exact (issue 15), proved by reading the picture itself: the render's
 * frames carry their own index as 12 binary luma bands, and the test draws the <video> the reviewer
 * sees onto a canvas and decodes the bands. A guest scrubs, steps (±1 frame, ±1 s), shuttles with
 * J/K/L, marks an I/O range and posts comments at frames 45 and 300 and on the range 60-90; each
 * lands exactly there, posting never moves the playhead, markers appear on the scrub bar and seek
 * back to their frame, pause keeps the frame on screen, and loop stays inside the range.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { schema } from '../../drizzle/index.ts';
import { launchChromium, signUpWithProject } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';

const FPS = 30;
const FRAMES = 330;
const BANDS = 12;

/** H.264 MP4 whose frame N shows N + offset in binary as horizontal bands (top band = bit 0, white = 1). */
function makeFrameIndexMp4(out: string, offset = 0): void {
  mkdirSync(path.dirname(out), { recursive: true });
  execFileSync('ffmpeg', [
    '-hide_banner', '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `color=c=black:s=16x${BANDS}:r=${FPS}:d=${FRAMES / FPS}`,
    '-vf', `geq=lum='255*mod(floor((N+${offset})/pow(2\\,Y))\\,2)':cb=128:cr=128,scale=640:360:flags=neighbor,format=yuv420p`,
    '-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '12', '-g', '30', '-movflags', '+faststart', out,
  ]);
}

/** What the screen shows inside `selector`: a real screenshot decoded in the page, for regions of its width. */
async function shownOnScreen(page: Page, selector: string, regions: [number, number][]): Promise<number[]> {
  const png = await page.locator(selector).screenshot();
  return page.evaluate(
    async ({ data, regions, bands }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${data}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const g = c.getContext('2d', { willReadFrequently: true })!;
      g.drawImage(img, 0, 0);
      return regions.map(([x0, x1]) => {
        let n = 0;
        for (let band = 0; band < bands; band++) {
          const y = Math.floor(((band + 0.5) * c.height) / bands);
          const from = Math.floor(c.width * x0);
          const row = g.getImageData(from, y, Math.floor(c.width * x1) - from, 1).data;
          let sum = 0;
          for (let i = 0; i < row.length; i += 4) sum += row[i]!;
          if (sum / (row.length / 4) > 128) n |= 1 << band;
        }
        return n;
      });
    },
    { data: png.toString('base64'), regions, bands: BANDS },
  );
}

/** The frame index on screen: the player's <video> drawn to a canvas, bands read back. */
async function shownFrame(page: Page): Promise<number> {
  await page.waitForFunction(() => {
    const v = document.querySelector('[data-testid=review-video]') as HTMLVideoElement;
    return !v.seeking && v.readyState >= 2;
  });
  return page.evaluate((bands) => {
    const v = document.querySelector('[data-testid=review-video]') as HTMLVideoElement;
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const g = c.getContext('2d', { willReadFrequently: true })!;
    g.drawImage(v, 0, 0);
    let n = 0;
    for (let b = 0; b < bands; b++) {
      const y = Math.floor(((b + 0.5) * c.height) / bands);
      const row = g.getImageData(Math.floor(c.width / 3), y, Math.floor(c.width / 3), 1).data;
      let sum = 0;
      for (let i = 0; i < row.length; i += 4) sum += row[i]!;
      if (sum / (row.length / 4) > 128) n |= 1 << b;
    }
    return n;
  }, BANDS);
}

const stateFrame = async (page: Page) => Number(await page.getAttribute('[data-testid=review-video]', 'data-frame'));

/** Asserts the player's frame state and the decoded picture both equal f. */
async function expectOnFrame(page: Page, f: number) {
  await expect.poll(() => stateFrame(page)).toBe(f);
  expect(await shownFrame(page)).toBe(f);
}

describe('review player in Chromium (frame-numbered media)', () => {
  let app: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('comments at 45, 300 and on 60-90 land exactly there after scrubbing, stepping and posting; markers seek back', async () => {
    const errors: string[] = [];
    const owner = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await owner.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await signUpWithProject(page, app.url, { name: 'Olivia Owner', email: 'olivia-player@example.com' }, 'Frame cut');
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    const projectId = page.url().split('/').pop()!;

    // v1: a finished render whose output file is the frame-numbered MP4.
    const db = app.db.handle.db;
    const project = (await db.select().from(schema.projects)).find((p) => p.id === projectId);
    const [user] = await db.select().from(schema.users);
    const renderId = crypto.randomUUID();
    const key = `renders/${renderId}/output.mp4`;
    makeFrameIndexMp4(path.join(app.dataDir, 'storage', key));
    await db.insert(schema.renders).values({
      id: renderId, projectId, orgId: project!.orgId, version: 1, status: 'succeeded', specKey: `renders/${renderId}/spec.json`,
      outputPrefix: `renders/${renderId}/`, outputKey: key, stage: 'done', progress: 1, durationFrames: FRAMES, createdBy: user!.id, finishedAt: new Date(),
    });

    await page.goto(`${app.url}/projects/${projectId}/versions`);
    await page.waitForSelector('[data-testid=version][data-version="1"]');
    await page.click('[data-testid=open-share]');
    await page.waitForSelector('[data-testid=share-dialog] [data-testid=share-form]');
    await page.click('[data-testid=create-share]');
    const shareUrl = (await page.locator('[data-testid=share-url]').textContent())!.trim();

    const guestCtx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const guest = await guestCtx.newPage();
    guest.on('pageerror', (e) => errors.push(e.message));
    await guest.goto(shareUrl);
    await guest.fill('[data-testid=name-form] input[name=name]', 'Carla Client');
    await guest.click('[data-testid=name-form] button');
    await guest.waitForFunction(() => (document.querySelector('[data-testid=review-video]') as HTMLVideoElement | null)?.readyState! >= 2);
    await expectOnFrame(guest, 0);

    // Scrub: a click on the bar lands on the frame under the pointer; the picture agrees.
    const bar = (await guest.locator('[data-testid=scrubber]').boundingBox())!;
    await guest.mouse.click(bar.x + (bar.width * 40) / (FRAMES - 1), bar.y + bar.height / 2);
    const scrubbed = await stateFrame(guest);
    expect(Math.abs(scrubbed - 40)).toBeLessThanOrEqual(2);
    expect(await shownFrame(guest)).toBe(scrubbed);
    // Then frame-step to 45 with the arrow keys (focus off any input).
    await guest.locator('[data-testid=scrubber]').focus();
    for (let i = scrubbed; i < 45; i++) await guest.keyboard.press('ArrowRight');
    for (let i = scrubbed; i > 45; i--) await guest.keyboard.press('ArrowLeft');
    await expectOnFrame(guest, 45);
    await guest.fill('[data-testid=comment-text]', 'Logo too big at 45');
    await guest.press('[data-testid=comment-text]', 'Enter');
    await guest.waitForSelector('[data-testid=comment][data-frame="45"]');
    // Posting did not move the playhead (it used to jump to frame 0).
    await guest.waitForTimeout(300);
    await expectOnFrame(guest, 45);

    // Shift+→ is one second; → one frame: 45 + 8 s + 15 f = 300.
    await guest.locator('[data-testid=scrubber]').focus();
    for (let i = 0; i < 8; i++) await guest.keyboard.press('Shift+ArrowRight');
    await expectOnFrame(guest, 285);
    for (let i = 0; i < 15; i++) await guest.keyboard.press('ArrowRight');
    await expectOnFrame(guest, 300);
    expect((await guest.textContent('[data-testid=frame] .now'))!.trim()).toBe('00:00:10:00');
    await guest.fill('[data-testid=comment-text]', 'Cut here at 300');
    await guest.click('[data-testid=comment-submit]');
    await guest.waitForSelector('[data-testid=comment][data-frame="300"]');
    await expectOnFrame(guest, 300);

    // Range 60-90 with I and O, posted as one range comment.
    await guest.locator('[data-testid=scrubber]').focus();
    await guest.keyboard.press('Home');
    await guest.keyboard.press('Shift+ArrowRight');
    await guest.keyboard.press('Shift+ArrowRight');
    await expectOnFrame(guest, 60);
    await guest.keyboard.press('i');
    await guest.keyboard.press('Shift+ArrowRight');
    await expectOnFrame(guest, 90);
    await guest.keyboard.press('o');
    await guest.waitForSelector('[data-testid=inout]');
    await guest.fill('[data-testid=comment-text]', 'This whole second is too dark');
    await guest.press('[data-testid=comment-text]', 'Enter');
    await guest.waitForSelector('[data-testid=comment][data-frame="60"][data-frame-end="90"]');
    await expectOnFrame(guest, 90);

    const stored = (await db.select().from(schema.comments)).sort((a, b) => a.frame - b.frame);
    expect(stored.map((c) => [c.frame, c.frameEnd, c.authorName])).toEqual([
      [45, null, 'Carla Client'],
      [60, 90, 'Carla Client'],
      [300, null, 'Carla Client'],
    ]);

    // Markers on the scrub bar, at their frames; clicking one shows exactly its frame.
    const markers = await guest.$$eval('[data-testid=marker]', (ms) => ms.map((m) => [Number(m.getAttribute('data-frame')), m.getAttribute('data-frame-end')]));
    expect(markers.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([[45, null], [60, '90'], [300, null]]);
    const m300 = (await guest.locator('[data-testid=marker][data-frame="300"]').boundingBox())!;
    expect(m300.x + m300.width / 2).toBeCloseTo(bar.x + (bar.width * 300) / (FRAMES - 1), -1);
    await guest.click('[data-testid=marker][data-frame="300"]');
    await expectOnFrame(guest, 300);
    await guest.click('[data-testid=marker][data-frame="45"]');
    await expectOnFrame(guest, 45);
    await guest.click('[data-testid=marker][data-frame="60"]');
    await expectOnFrame(guest, 60);
    await guest.click('[data-testid=comment][data-frame="300"] [data-testid=comment-seek]');
    await expectOnFrame(guest, 300);

    // Reload: comments come back; seek from the list is exact on a fresh media element too.
    await guest.reload();
    await guest.waitForSelector('[data-testid=comment][data-frame="45"]');
    await guest.click('[data-testid=comment][data-frame="45"] [data-testid=comment-seek]');
    await expectOnFrame(guest, 45);

    // Play then pause (space, K): the frame the player reports is the one on screen.
    await guest.locator('[data-testid=scrubber]').focus();
    await guest.keyboard.press(' ');
    await guest.waitForTimeout(700);
    await guest.keyboard.press('k');
    const paused = await stateFrame(guest);
    expect(paused).toBeGreaterThan(45);
    await expectOnFrame(guest, paused);
    await guest.waitForTimeout(300);
    await expectOnFrame(guest, paused);

    // L plays forward, J shuttles back; K stops on a shown frame each time.
    const shuttle = async (key: 'j' | 'l') => {
      await guest.keyboard.press(key);
      await guest.waitForTimeout(500);
      await guest.keyboard.press('k');
      const f = await stateFrame(guest);
      await expectOnFrame(guest, f);
      return f;
    };
    const afterL = await shuttle('l');
    expect(afterL).toBeGreaterThan(paused);
    expect(await shuttle('j')).toBeLessThan(afterL);

    // Loop the range 100-120 at 2x: playback stays inside it.
    await guest.keyboard.press('Home');
    for (let i = 0; i < 100; i++) await guest.keyboard.press('ArrowRight');
    await expectOnFrame(guest, 100);
    await guest.keyboard.press('i');
    for (let i = 0; i < 20; i++) await guest.keyboard.press('ArrowRight');
    await guest.keyboard.press('o');
    await guest.click('[data-testid=loop]');
    await guest.selectOption('[data-testid=speed]', '2');
    await guest.locator('[data-testid=scrubber]').focus();
    await guest.keyboard.press(' ');
    // At least 12 samples 150 ms apart, and on until playback has shown 3 frames (a loaded machine
    // can stall the video for a second or more; up to 60 samples): every one inside the range.
    const seen: number[] = [];
    for (let i = 0; i < 60 && (i < 12 || new Set(seen).size <= 2); i++) {
      await guest.waitForTimeout(150);
      seen.push(await stateFrame(guest));
    }
    await guest.keyboard.press('k');
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...seen)).toBeLessThanOrEqual(121);
    expect(new Set(seen).size).toBeGreaterThan(2);
    await expectOnFrame(guest, await stateFrame(guest));

    // Frame-number display is one click away.
    await guest.click('[data-testid=frame]');
    await expect.poll(() => guest.textContent('[data-testid=frame] .now')).toMatch(/^f\d+$/);

    // The link (created with defaults: stack, comment, no approve): no Approve button, and a forged
    // decide POST is refused by the server.
    expect(await guest.locator('[data-testid=approve]').count()).toBe(0);
    await guest.waitForSelector('[data-testid=link-permissions]:has-text("comment")');
    const forged = await guest.evaluate(async (renderId) => {
      const body = new FormData();
      body.set('state', 'approved');
      body.set('renderId', renderId);
      const res = await fetch('?/decide', { method: 'POST', body, headers: { 'x-sveltekit-action': 'true' } });
      return (await res.json()) as { type: string; status?: number };
    }, renderId);
    expect(forged).toMatchObject({ type: 'failure', status: 403 });
    expect(await db.select().from(schema.approvals)).toEqual([]);

    // v2 lands in the stack: the same link now opens v2 (latest) and switches back to v1's comments.
    // Its frames read N + 1024, so either version's picture is recognisable.
    const v2 = crypto.randomUUID();
    const key2 = `renders/${v2}/output.mp4`;
    makeFrameIndexMp4(path.join(app.dataDir, 'storage', key2), 1024);
    await db.insert(schema.renders).values({
      id: v2, projectId, orgId: project!.orgId, version: 2, status: 'succeeded', specKey: `renders/${v2}/spec.json`,
      outputPrefix: `renders/${v2}/`, outputKey: key2, stage: 'done', progress: 1, durationFrames: FRAMES, createdBy: user!.id, finishedAt: new Date(),
    });
    await guest.reload();
    await guest.waitForSelector('[data-testid=version-switch]');
    expect(await guest.inputValue('[data-testid=version-switch]')).toBe('2');
    expect(await guest.locator('[data-testid=marker]').count()).toBe(0);
    await guest.selectOption('[data-testid=version-switch]', '1');
    await guest.waitForSelector('[data-testid=not-latest]');
    await guest.waitForSelector('[data-testid=marker][data-frame="300"]');
    await guest.waitForFunction(() => (document.querySelector('[data-testid=review-video]') as HTMLVideoElement | null)?.readyState! >= 2);
    await guest.click('[data-testid=marker][data-frame="300"]');
    await expectOnFrame(guest, 300);

    for (const [w, h] of [[1280, 720], [1920, 1080]] as const) {
      await guest.setViewportSize({ width: w, height: h });
      await guest.click('[data-testid=marker][data-frame="60"]');
      await guest.screenshot({ path: `/tmp/i15-review-player-${w}x${h}.png` });
    }

    // Exports of v1's comments: served to the owner as files, each parsed back.
    const get = async (fmt: string) => {
      const res = await page.request.get(`${app.url}/api/renders/${renderId}/comments.${fmt}`);
      expect(res.status()).toBe(200);
      expect(res.headers()['content-disposition']).toContain(`comments.${fmt}`);
      return res.text();
    };
    const csvRows = (await get('csv')).trim().split('\r\n').slice(1).map((l) => l.split('","').slice(1, 3).map((f) => f.replace(/"/g, '')));
    expect(csvRows).toEqual([['45', '45'], ['60', '90'], ['300', '300']]);
    const edl = await get('edl');
    expect([...edl.matchAll(/^\d{3}  001\s+V\s+C\s+(\S+) (\S+)/gm)].map((m) => [m[1], m[2]])).toEqual([['00:00:01:15', '00:00:01:16'], ['00:00:02:00', '00:00:03:01'], ['00:00:10:00', '00:00:10:01']]);
    const parsed = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      if (doc.querySelector('parsererror')) return { error: doc.querySelector('parsererror')!.textContent };
      return { markers: [...doc.querySelectorAll('sequence asset-clip > marker')].map((m) => [m.getAttribute('start'), m.getAttribute('duration')]) };
    }, await get('fcpxml'));
    expect(parsed).toEqual({ markers: [['45/30s', '1/30s'], ['60/30s', '31/30s'], ['300/30s', '1/30s']] });
    expect((await guest.request.get(`${app.url}/api/renders/${renderId}/comments.csv`)).status()).toBe(401);

    // The owner compares v1 and v2 frame-synced: wipe shows v1 left of the divider and v2 right of
    // it at the same frame; difference shows v1 XOR v2 (the bands differ only in bit 10).
    await page.goto(`${app.url}/projects/${projectId}/versions?compare=${renderId},${v2}`);
    await page.waitForSelector('[data-testid=compare-view]');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=compare-view] video')].every((v) => (v as HTMLVideoElement).readyState >= 2));
    await page.click('[data-testid=compare-mode-wipe]');
    await page.locator('[data-testid=compare-scrub]').fill('150');
    for (let i = 0; i < 3; i++) await page.click('[data-testid=compare-next]');
    await expect.poll(() => page.getAttribute('[data-testid=compare-frame]', 'data-frame')).toBe('153');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=compare-view] video')].every((v) => !(v as HTMLVideoElement).seeking));
    const view = (await page.locator('[data-testid=compare-view]').boundingBox())!;
    await page.mouse.move(view.x + view.width * 0.5, view.y + view.height / 2);
    await page.mouse.down();
    await page.mouse.move(view.x + view.width * 0.6, view.y + view.height / 2, { steps: 4 });
    await page.mouse.up();
    expect(await shownOnScreen(page, '[data-testid=compare-view]', [[0.15, 0.45], [0.7, 0.9]])).toEqual([153, 153 + 1024]);
    await page.click('[data-testid=compare-mode-diff]');
    await page.waitForTimeout(200);
    expect(await shownOnScreen(page, '[data-testid=compare-view]', [[0.3, 0.7]])).toEqual([(153 ^ (153 + 1024))]);
    await page.click('[data-testid=compare-mode-wipe]');
    for (const [w, h] of [[1280, 720], [1920, 1080]] as const) {
      await page.setViewportSize({ width: w, height: h });
      await page.screenshot({ path: `/tmp/i15-compare-wipe-${w}x${h}.png` });
    }

    expect(errors).toEqual([]);
    await guestCtx.close();
    await owner.close();
  });
});
