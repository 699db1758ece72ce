/**
 * Auto-captions end to end in Chromium against the real product (`scripts/start.ts`: app, collab,
 * and a farm worker whose probed pocketsphinx takes transcribe jobs): upload a clip of flite speech
 * with known word times, press Auto-captions, see the progress bar and the "draft quality" label,
 * get caption words within 100 ms of the truth, pick the word-highlight style, render on the farm,
 * and the decoded output shows the highlight colour on the spoken word (moving word to word) and
 * no caption before the speech starts. Progress arrives over the transcripts.onUpdate SSE stream:
 * one subscription, the bar showing the farm's stages, and no polling (transcripts.get is asked
 * once, for the words).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORD_STYLE_PRESETS } from '../../shared/captions/index.ts';
import { launchChromium, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';
import { matchedStartErrors, SENTENCES, speakScript, type TruthWord } from '../../render-farm/test/support/speech.ts';

const SHOTS = process.env.CM_KEEP_SCREENSHOTS ? path.resolve(process.env.CM_KEEP_SCREENSHOTS) : null;
const W = 320;

/** Frame n of the video as RGB at W px wide. */
function frameRgb(file: string, n: number): { px: Buffer; w: number; h: number } {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  const [sw, sh] = probe.stdout.trim().split(',').map(Number);
  const h = Math.round((sh! * W) / sw! / 2) * 2;
  const res = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', `select=eq(n\\,${n}),scale=${W}:${h}`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 26 });
  if (res.status !== 0 || res.stdout.length !== W * h * 3) throw new Error(`could not decode frame ${n}: ${res.stderr}`);
  return { px: res.stdout, w: W, h };
}

/** Pixels close to the highlight colour, and their mean x. */
function highlight(f: { px: Buffer; w: number; h: number }, hex: string): { count: number; meanX: number } {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let count = 0;
  let sx = 0;
  for (let i = 0; i < f.px.length; i += 3) {
    if (Math.abs(f.px[i]! - r!) < 50 && Math.abs(f.px[i + 1]! - g!) < 50 && Math.abs(f.px[i + 2]! - b!) < 70) {
      count++;
      sx += (i / 3) % f.w;
    }
  }
  return { count, meanX: count ? sx / count : -1 };
}

describe('auto-captions in Chromium', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;
  let truth: TruthWord[];
  let clip: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-captions-'));
    const speech = await speakScript(SENTENCES.slice(0, 3), work, 'speech', { gapMs: 700, leadMs: 600 });
    truth = speech.words;
    clip = path.join(work, 'talk.mkv');
    // A plain dark picture (nothing yellow in it) with the speech as FLAC in Matroska.
    ffmpeg(['-f', 'lavfi', '-i', `color=c=0x203040:s=640x360:r=30:d=${(speech.durationMs / 1000).toFixed(2)}`, '-i', speech.wav, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'flac', '-shortest', clip]);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('transcribes on the farm with progress, cues near the truth, word highlight rendered by the farm', { timeout: 280_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // Every tRPC call the page makes to the transcripts router (batched calls name each procedure).
    const transcriptCalls: string[] = [];
    page.on('request', (r) => {
      const m = /\/api\/trpc\/([^?]+)/.exec(r.url());
      if (m) for (const p of decodeURIComponent(m[1]!).split(',')) if (p.startsWith('transcripts.')) transcriptCalls.push(p);
    });
    await signUpWithProject(page, app.url, { name: 'Cap Tioner', email: 'captions@example.com' }, 'Captions');
    await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
    await uploadMedia(page, clip);
    await page.waitForSelector('[data-testid=add-to-timeline]');
    await page.click('[data-testid=add-to-timeline]');
    await page.waitForSelector('[data-testid=clip-row]');

    // Every text the progress label shows, as the page draws it.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as never as { __stages: string[] }).__stages = seen;
      new MutationObserver(() => {
        const t = document.querySelector('[data-testid=transcribe-stage]')?.textContent?.trim();
        if (t && seen.at(-1) !== t) seen.push(t);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.click('[data-testid=auto-captions]');
    // The progress bar shows while the farm works; pocketsphinx is labelled draft quality.
    await page.waitForSelector('[data-testid=transcribe-progress]', { timeout: 30_000 });
    await page.waitForSelector('[data-testid=draft-quality]');
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'auto-captions-progress-1280.png') });
    await expect.poll(() => page.locator('[data-testid=transcript-word]').count(), { timeout: 120_000 }).toBeGreaterThan(12);
    expect(await page.textContent('[data-testid=transcript-error]').catch(() => null)).toBeNull();
    // The bar followed the farm's own reports (its stages, as they happened) before the words came.
    const stages = await page.evaluate(() => (window as never as { __stages: string[] }).__stages);
    expect(stages.some((t) => /^recognising \d+ %$/.test(t)), stages.join(' | ')).toBe(true);
    // Live updates, not polling: one SSE subscription, the words fetched once at the end.
    expect(transcriptCalls).toEqual(['transcripts.create', 'transcripts.onUpdate', 'transcripts.get']);

    const [num, den] = (await page.getAttribute('[data-testid=transcript-words]', 'data-fps'))!.split('/').map(Number);
    const msOf = (frame: number) => (frame * den! * 1000) / num!;
    const words = await page.$$eval('[data-testid=transcript-word]', (els) => els.map((e) => ({ text: e.lastChild?.textContent ?? '', start: Number(e.getAttribute('data-start')), end: Number(e.getAttribute('data-end')) })));
    const errs = matchedStartErrors(words.map((w) => ({ text: w.text, start: msOf(w.start) })), truth);
    // Recognised (draft) words: most are found, and found words start within 100 ms of the truth.
    expect(errs.length).toBeGreaterThan(truth.length * 0.6);
    expect(errs.filter((e) => e <= 100).length / errs.length).toBeGreaterThanOrEqual(0.85);

    // Word-highlight style, then render on the farm.
    await page.selectOption('[data-testid=word-style]', 'karaoke');
    await expect.poll(() => page.inputValue('[data-testid=word-style]')).toBe('karaoke');
    // Clicking a word seeks there: the preview shows that word highlighted.
    await page.locator('[data-testid=transcript-word]').nth(1).click();
    await expect.poll(() => page.locator('[data-testid=transcript-word].active').count()).toBe(1);
    await page.locator('[data-testid=transcript-panel]').scrollIntoViewIfNeeded();
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'auto-captions-1280.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'auto-captions-1920.png') });
    await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
    await page.click('[data-testid=render]');
    await page.waitForSelector('[data-testid=render-row][data-status=succeeded]', { timeout: 180_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download]')]);
    const out = path.join(work, 'render.mp4');
    await download.saveAs(out);

    const colour = WORD_STYLE_PRESETS.karaoke.activeColor;
    // Before the first word: no caption at all.
    expect(highlight(frameRgb(out, 2), colour).count).toBe(0);
    // Mid-word of consecutive words in the same caption: the highlight is there and moves right.
    const mid = (w: { start: number; end: number }) => Math.floor((w.start + w.end) / 2);
    const a = highlight(frameRgb(out, mid(words[0]!)), colour);
    const b = highlight(frameRgb(out, mid(words[1]!)), colour);
    expect(a.count).toBeGreaterThan(20);
    expect(b.count).toBeGreaterThan(20);
    expect(b.meanX).toBeGreaterThan(a.meanX + 5);
    expect(pageErrors).toEqual([]);
  });
});
