/**
 * `pnpm bench:load`: what opening the editor costs the network and the main thread, in headless
 * Chromium against the real product (built app, fresh database). Needs `pnpm build`.
 *
 * One project with a 2 s clip on the timeline (BENCH_CLIPS=N: N clips of it, back to back). Then, in a browser context with an empty cache
 * ("cold"), the editor is opened; later the same context opens it again ("warm", HTTP cache kept).
 * For each open:
 *  - interactiveMs: navigation start until the editor is usable (collab connected and saved, the clip
 *    on the timeline, the Render button enabled), from performance.now() in the page;
 *  - longTasks: main-thread tasks over 50 ms until then (PerformanceObserver 'longtask');
 *  - bytes transferred (encoded, as on the wire, headers excluded) by kind: JS, wasm, fonts, CSS,
 *    document, other, and the same bodies decoded (what they would cost uncompressed); counted for
 *    every request of the page and its workers until 8 s after interactive (filmstrips load the
 *    ffmpeg.wasm core in the background meanwhile), and separately until interactive. "media" is the
 *    project's own footage (the preview's <video>), reported apart from what the app itself costs.
 * The browser has a profile on disk (launchPersistentContext), so "warm" uses a disk HTTP cache as a
 * returning user's browser does (an in-memory incognito cache drops entries the size of the wasm).
 * Targets (issue 21): warm open < 1 MB transferred; cold open without wasm < 600 KB compressed JS.
 * Prints one JSON object on stdout; progress goes to stderr.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page, Request } from 'playwright-core';
import { launchChromium, launchPersistentChromium, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { startApp } from '../support/app-server.ts';
import { makeLandscapeVideo } from '../support/media.ts';

const log = (m: string) => process.stderr.write(`[bench:load] ${m}\n`);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 8000);
/** Clips on the timeline (BENCH_CLIPS=50: the 50-clip project of issue 14's load target). */
const CLIPS = Math.max(1, Number(process.env.BENCH_CLIPS ?? 1));

type Kind = 'js' | 'wasm' | 'font' | 'css' | 'document' | 'media' | 'other';
function kindOf(req: Request): Kind {
  const url = new URL(req.url());
  if (url.pathname.startsWith('/api/assets/')) return 'media';
  if (url.pathname.endsWith('.wasm')) return 'wasm';
  if (/\.(woff2?|ttf|otf)$/.test(url.pathname)) return 'font';
  if (url.pathname.endsWith('.css')) return 'css';
  if (req.resourceType() === 'document') return 'document';
  if (url.pathname.endsWith('.js') || req.resourceType() === 'script') return 'js';
  return 'other';
}

interface Tally {
  requests: number;
  fromCache: number;
  encoded: Record<Kind | 'total', number>;
  decoded: Record<Kind | 'total', number>;
  /** JS requests whose response was not compressed (should be none). */
  uncompressedJs: string[];
}
const zero = () => ({ js: 0, wasm: 0, font: 0, css: 0, document: 0, media: 0, other: 0, total: 0 });
const empty = (): Tally => ({ requests: 0, fromCache: 0, encoded: zero(), decoded: zero(), uncompressedJs: [] });

async function openEditor(ctx: BrowserContext, url: string) {
  const page: Page = await ctx.newPage();
  const all = empty();
  let untilInteractive: Tally | null = null;
  const pending: Promise<void>[] = [];
  const count = (req: Request) =>
    pending.push(
      (async () => {
        const res = await req.response();
        if (!res || url.startsWith('data:') || req.url().startsWith('data:') || req.url().startsWith('blob:')) return;
        const sizes = await req.sizes().catch(() => null);
        const kind = kindOf(req);
        all.requests++;
        // -1 / 0: served from the HTTP cache, nothing on the wire.
        const encoded = Math.max(0, sizes?.responseBodySize ?? 0);
        const decodedLen = Number((await res.allHeaders())['content-length'] ?? 0);
        const body = encoded === 0 ? 0 : await res.body().then((b) => b.length, () => decodedLen);
        if (encoded === 0 && res.status() !== 304) all.fromCache++;
        all.encoded[kind] += encoded;
        all.encoded.total += encoded;
        all.decoded[kind] += body;
        all.decoded.total += body;
        const enc = (await res.allHeaders())['content-encoding'];
        if (kind === 'js' && encoded > 1024 && !enc) all.uncompressedJs.push(new URL(req.url()).pathname);
        if (process.env.BENCH_LOAD_VERBOSE && encoded > 10_000) log(`${res.status()} ${kind} ${encoded} ${enc ?? '-'} ${(await res.allHeaders())['cache-control'] ?? '-'} ${new URL(req.url()).pathname}`);
      })().catch(() => {}),
    );
  page.on('requestfinished', count);
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: number[] };
    w.__longTasks = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => w.__longTasks.push(e.duration))).observe({ type: 'longtask', buffered: true });
  });
  await page.goto(url);
  await page.waitForFunction(
    () => {
      const status = document.querySelector('[data-testid=collab-status]')?.textContent ?? '';
      const render = document.querySelector('[data-testid=render]') as HTMLButtonElement | null;
      return status.includes('connected · saved') && !!document.querySelector('[data-testid=timeline-clip]') && render !== null && !render.disabled;
    },
    undefined,
    { timeout: 120_000, polling: 50 },
  );
  const interactiveMs = Math.round(await page.evaluate(() => performance.now()));
  const longTasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks.map(Math.round));
  await Promise.all(pending);
  untilInteractive = structuredClone(all);
  await page.waitForTimeout(SETTLE_MS);
  await Promise.all(pending);
  await page.close();
  return { interactiveMs, longTasks: { count: longTasks.length, maxMs: Math.max(0, ...longTasks), totalMs: longTasks.reduce((a, b) => a + b, 0) }, untilInteractive, afterSettle: all };
}

const kb = (n: number) => Math.round(n / 102.4) / 10;
function summary(t: Tally) {
  return {
    requests: t.requests,
    fromCache: t.fromCache,
    transferredKB: Object.fromEntries(Object.entries(t.encoded).map(([k, v]) => [k, kb(v)])),
    decodedKB: Object.fromEntries(Object.entries(t.decoded).map(([k, v]) => [k, kb(v)])),
    uncompressedJs: t.uncompressedJs,
  };
}

const work = mkdtempSync(path.join(tmpdir(), 'cm-bench-load-'));
const clip = path.join(work, 'clip.mp4');
makeLandscapeVideo(clip, 2);
const [app, browser] = await Promise.all([startApp(), launchChromium()]);
try {
  const setup = await browser.newContext();
  const page = await setup.newPage();
  await signUpWithProject(page, app.url, { name: 'Bench', email: 'bench@example.com' }, 'Load');
  await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
  const editorUrl = page.url();
  await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
  log('uploading a 2 s clip');
  await uploadMedia(page, clip);
  await page.click('[data-testid=add-to-timeline]', { timeout: 120_000 });
  await page.waitForSelector('[data-testid=timeline-clip]');
  if (CLIPS > 1) {
    log(`placing ${CLIPS} clips`);
    await page.evaluate((n) => {
      type Ed = { op(name: string, ...args: unknown[]): unknown; timeline(): { assets: { id: string; durationFrames?: number }[] } };
      const ed = (window as unknown as { __clipmakerEditor: Ed }).__clipmakerEditor;
      const asset = ed.timeline().assets[0]!;
      // 2 s clips of 30 frames each, one after the other on V1 (15 frames of source each, alternating halves).
      for (let i = 1; i < n; i++) ed.op('addClip', { assetId: asset.id, trackId: 'v1', start: 60 + (i - 1) * 30, sourceIn: (i % 2) * 30, sourceOut: (i % 2) * 30 + 30 });
    }, CLIPS);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=timeline-clip]').length >= n, CLIPS, { timeout: 60_000 });
  }
  await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
  const state = await setup.storageState();
  await setup.close();

  const profile = mkdtempSync(path.join(tmpdir(), 'cm-bench-load-profile-'));
  const ctx = await launchPersistentChromium(profile, { viewport: { width: 1280, height: 720 } });
  await ctx.addCookies(state.cookies);
  log('cold open');
  const cold = await openEditor(ctx, editorUrl);
  log('warm open');
  const warm = await openEditor(ctx, editorUrl);
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
  const appBytes = (t: Tally) => t.encoded.total - t.encoded.media;
  const result = {
    bench: 'load',
    clips: CLIPS,
    settleMs: SETTLE_MS,
    cold: { interactiveMs: cold.interactiveMs, longTasks: cold.longTasks, untilInteractive: summary(cold.untilInteractive), afterSettle: summary(cold.afterSettle) },
    warm: { interactiveMs: warm.interactiveMs, longTasks: warm.longTasks, untilInteractive: summary(warm.untilInteractive), afterSettle: summary(warm.afterSettle) },
    appTransferredKB: { cold: kb(appBytes(cold.afterSettle)), warm: kb(appBytes(warm.afterSettle)), coldWithoutWasm: kb(appBytes(cold.afterSettle) - cold.afterSettle.encoded.wasm) },
    targets: {
      warmUnder1MB: appBytes(warm.afterSettle) < 1024 * 1024,
      coldJsUnder600KB: cold.afterSettle.encoded.js < 600 * 1024,
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await browser.close();
  await app.stop();
  rmSync(work, { recursive: true, force: true });
}
