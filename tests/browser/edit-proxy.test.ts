/**
 * Edit proxies in the editor (issue 14 item 5): a frame-numbered MKV (1280x720, one 4 s GOP) is
 * uploaded; the bin shows the farm making its proxy ("proxy N%"), then a "proxy" badge; the preview
 * then plays `?rendition=proxy` and still shows the source frame the rule gives (docs/MEDIA-FORMATS.md)
 * at three playheads, while the farm's render of the same document reads the original. A video with
 * no proxy (uploaded before proxies) offers "Make proxy" (right-click menu), a failed one "Retry";
 * either shows the farm's progress, then the badge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshotBothSizes, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';
import { grayFrame, previewGray, renderWithFarm, setCustomOutput } from '../support/fidelity.ts';
import { FRAME_BANDS_VF, readFrameIndexIn } from '../../render-farm/test/support/media.ts';

const W = 320;
const H = 180;
const FPS = 30;
const FRAMES = 120;
const IN = 40;
const AT = [0, 7, 29];

/** Records every text the bin's proxy label takes, as it changes (window.__proxyTexts). */
async function recordProxyTexts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as never as { __proxyTexts: string[] }).__proxyTexts = seen;
    const scan = () => {
      for (const el of document.querySelectorAll('[data-testid=proxy-progress], [data-testid=proxy-badge], [data-testid=proxy-failed]')) {
        const t = el.textContent ?? '';
        if (seen.at(-1) !== t) seen.push(t);
      }
    };
    // The label as it is now, then every change: without the first scan a label that changes before
    // any other mutation would be recorded from its second text on.
    scan();
    new MutationObserver(scan).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}
const proxyTexts = (page: Page) => page.evaluate(() => (window as never as { __proxyTexts: string[] }).__proxyTexts);

/** A real mouse click in the middle of the element. */
async function clickAt(page: Page, selector: string, button: 'left' | 'right' = 'left'): Promise<void> {
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not on screen`);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2, { button });
}

type Editor = { op(name: string, ...args: unknown[]): unknown; spec(): { sources: { id: string; key: string }[] }; timeline(): { assets: { id: string; name: string }[] } };

describe('edit proxies: made by the farm on upload, played by the preview, never rendered', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;
  let source: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-edit-proxy-'));
    source = path.join(work, 'camera.mkv');
    ffmpeg([
      '-f', 'lavfi', '-i', `color=c=black:s=16x12:r=${FPS}:d=${FRAMES / FPS}`, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${FRAMES / FPS}`,
      '-vf', `${FRAME_BANDS_VF},scale=1280:720:flags=neighbor,setsar=1,format=yuv420p`,
      '-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '0', '-bf', '2', '-g', '120', '-c:a', 'aac', source,
    ]);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('shows the proxy progress, then plays the proxy at the same source frames; the farm renders the original', { timeout: 240_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const pageErrors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    try {
      await signUpWithProject(page, app.url, { name: 'Pro Xy', email: 'edit-proxy@example.com' }, 'Proxies');
      await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
      await setCustomOutput(page, W, H);
      await recordProxyTexts(page);
      await uploadMedia(page, source);
      await page.waitForSelector('[data-testid=asset]');
      await page.waitForSelector('[data-testid=proxy-badge]', { timeout: 120_000 });
      const texts = await proxyTexts(page);
      expect(texts[0]).toMatch(/^proxy \d+%$/);
      expect(texts.at(-1)).toBe('proxy');
      expect(await page.locator('[data-testid=proxy-failed]').count()).toBe(0);
      await screenshotBothSizes(page, 'edit-proxy-bin');

      const [asset] = await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.timeline().assets);
      await page.evaluate(([id, sIn]) => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.op('addClip', { assetId: id, trackId: 'v1', start: 0, sourceIn: sIn, sourceOut: sIn + 60 }), [asset!.id, IN] as const);
      await expect.poll(() => page.locator('[data-testid=timeline-clip]').count()).toBe(1);
      await page.waitForFunction(() => (window as never as { __clipmakerPreview?: { ready(): boolean } }).__clipmakerPreview?.ready());
      const preview: number[] = [];
      for (const k of AT) preview.push(readFrameIndexIn(await previewGray(page, k, work), W, { x: 0, y: 0, w: W, h: H }));
      expect(preview).toEqual(AT.map((k) => IN + k));
      // The preview's decoder read the proxy, not the preview rendition or the original.
      const media = requests.filter((u) => u.includes(`/api/assets/${asset!.id}/file`));
      expect(media.some((u) => u.includes('rendition=proxy'))).toBe(true);
      const videos = await page.evaluate(() => [...document.querySelectorAll('video[data-clip-id]')].map((v) => (v as HTMLVideoElement).dataset.src));
      expect(videos).toEqual([`/api/assets/${asset!.id}/file?rendition=proxy`]);
      await screenshotBothSizes(page, 'edit-proxy-preview');

      // The farm renders the document from the original (its key), frame numbers as the rule gives.
      const spec = await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.spec());
      expect(spec.sources.map((s) => s.key)).toEqual([expect.stringMatching(/\/original\.[a-z0-9]+$/)]);
      const out = renderWithFarm(spec, work, 'proxy', path.join(app.dataDir, 'storage'));
      expect(AT.map((k) => readFrameIndexIn(grayFrame(out, k), W, { x: 0, y: 0, w: W, h: H }))).toEqual(AT.map((k) => IN + k));
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await page.screenshot({ path: path.join(tmpdir(), 'cm-edit-proxy-failure.png') }).catch(() => {});
      throw new Error(`${(err as Error).message}\n--- page errors ---\n${pageErrors.join('\n')}\n--- server ---\n${app.logs().slice(-3000)}`);
    } finally {
      await page.close();
    }
  });

  it('a video without a proxy offers "Make proxy", a failed one "Retry": each shows the progress, then the badge', { timeout: 240_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const sql = postgres(app.db.url, { max: 1, onnotice: () => {} });
    const proxyOf = async (id: string) => (await sql<{ proxy_status: string | null; proxy_key: string | null }[]>`select proxy_status, proxy_key from assets where id = ${id}`)[0]!;
    const reload = async () => {
      await page.reload();
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
      await page.waitForSelector('[data-testid=asset]');
      await recordProxyTexts(page);
    };
    try {
      await signUpWithProject(page, app.url, { name: 'Old Library', email: 'proxy-request@example.com' }, 'Older uploads');
      await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
      await uploadMedia(page, source);
      await page.waitForSelector('[data-testid=proxy-badge]', { timeout: 120_000 });
      const assetId = (await page.locator('[data-testid=asset]').getAttribute('data-asset-id'))!;

      // As an upload from before edit proxies left it: no proxy, no job.
      await sql`update assets set proxy_status = null, proxy_percent = 0, proxy_key = null, proxy_job_id = null, proxy_requested_at = null where id = ${assetId}`;
      await reload();
      expect(await page.locator('[data-testid=proxy-badge], [data-testid=proxy-progress], [data-testid=proxy-failed]').count()).toBe(0);
      expect(await page.locator('[data-testid=make-proxy]').textContent()).toBe('Make proxy');
      await clickAt(page, '[data-testid=asset] .aname', 'right');
      await page.waitForSelector('[data-testid=context-menu]');
      expect(await page.locator('[data-testid=context-menu] [role=menuitem]').allTextContents()).toEqual(['Add to video track', 'Add sound to audio track', 'Make proxy']);
      await screenshotBothSizes(page, 'edit-proxy-make-menu');
      await clickAt(page, '[data-testid=menu-make-proxy]');
      expect(await page.locator('[data-testid=context-menu]').count()).toBe(0);
      await page.waitForSelector('[data-testid=proxy-progress], [data-testid=proxy-badge]');
      await screenshotBothSizes(page, 'edit-proxy-making');
      await page.waitForSelector('[data-testid=proxy-badge]', { timeout: 120_000 });
      let texts = await proxyTexts(page);
      expect(texts[0]).toMatch(/^proxy \d+%$/);
      expect(texts.at(-1)).toBe('proxy');
      expect(await page.locator('[data-testid=make-proxy], [data-testid=retry-proxy]').count()).toBe(0);
      const made = await proxyOf(assetId);
      expect(made.proxy_status).toBe('ready');
      expect(made.proxy_key).toMatch(/\/proxy\.mp4$/);
      await screenshotBothSizes(page, 'edit-proxy-made');

      // A failed proxy: the button beside the badge; a double click asks once.
      await sql`update assets set proxy_status = 'failed', proxy_key = null where id = ${assetId}`;
      await reload();
      expect(await page.locator('[data-testid=proxy-failed]').textContent()).toBe('no proxy');
      await screenshotBothSizes(page, 'edit-proxy-retry');
      // The farm's "job started" lines for this asset's proxy jobs: the double click starts one encode.
      const started = () => app.logs().split('\n').filter((l) => l.includes('"event":"job.started","kind":"edit-proxy"') && l.includes(`"jobId":"${assetId}"`)).length;
      const startedBefore = started();
      const box = (await page.locator('[data-testid=retry-proxy]').boundingBox())!;
      await page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
      await page.waitForSelector('[data-testid=proxy-badge]', { timeout: 120_000 });
      texts = await proxyTexts(page);
      expect(texts[0]).toBe('no proxy');
      expect(texts[1]).toMatch(/^proxy \d+%$/);
      expect(texts.at(-1)).toBe('proxy');
      expect(started() - startedBefore).toBe(1);
      expect((await proxyOf(assetId)).proxy_status).toBe('ready');
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await page.screenshot({ path: path.join(tmpdir(), 'cm-edit-proxy-request-failure.png') }).catch(() => {});
      throw new Error(`${(err as Error).message}\n--- page errors ---\n${pageErrors.join('\n')}\n--- server ---\n${app.logs().slice(-3000)}`);
    } finally {
      await page.close();
      await sql.end();
    }
  });
});
