/**
 * Subtitle import in a real browser against the real product: a Windows-1251 SRT with a broken cue
 * opens the import dialog with the encoding detected, a Russian preview and the skipped cue's line;
 * switching the encoding re-reads the preview; Import adds the cues as one undoable edit. An ASS file
 * brings its style (size, colour, position) when the user keeps "Use the file's style". Escape cancels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, signUpWithProject } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { encodeSingleByte, ENCODING_TEXTS, SUBTITLE_CORPUS } from '../support/subtitle-corpus.ts';

const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 15_000 });
const SHOTS = process.env.CM_KEEP_SCREENSHOTS ? path.resolve(process.env.CM_KEEP_SCREENSHOTS) : null;

describe('subtitle import dialog in Chromium', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-subs-'));
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('previews, reports skipped cues, switches encodings, imports, undoes, applies an ASS style', { timeout: 180_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await signUpWithProject(page, app.url, { name: 'Sub Titler', email: 'subs@example.com' }, 'Subtitles');
      await page.waitForSelector('[data-testid=import-subtitles]', { state: 'attached' });

      // Windows-1251 with one broken cue (line 8 of the file): 6 good cues + 1 skipped.
      const text = ENCODING_TEXTS.russian.replace('00:00:05,000 --> 00:00:06,000', '00:00:05,000 --> 00:00:0x,000');
      writeFileSync(path.join(work, 'ru.srt'), encodeSingleByte(text, 'windows-1251'));
      await page.setInputFiles('[data-testid=import-subtitles]', path.join(work, 'ru.srt'));
      const dialog = page.locator('[data-testid=subtitle-import-dialog]');
      await poll(() => dialog.isVisible()).toBe(true);
      await poll(() => page.locator('[data-testid=subtitle-encoding] option:checked').textContent()).toMatch(/^Auto: Windows-1251/);
      await poll(() => page.textContent('[data-testid=subtitle-counts]')).toMatch(/5 cues, 1 skipped/);
      expect(await page.locator('[data-testid=subtitle-preview-cue]').first().textContent()).toContain('Привет! Как дела?');
      expect(await page.textContent('[data-testid=subtitle-warning]')).toMatch(/^line 10 cue skipped/);
      if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'subtitle-import-1280.png') });
      await page.setViewportSize({ width: 1920, height: 1080 });
      if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'subtitle-import-1920.png') });

      // The wrong encoding shows mojibake; back to auto shows Russian again.
      await page.selectOption('[data-testid=subtitle-encoding]', 'windows-1252');
      await poll(() => page.locator('[data-testid=subtitle-preview-cue]').first().textContent()).not.toContain('Привет');
      await page.selectOption('[data-testid=subtitle-encoding]', 'auto');
      await poll(() => page.locator('[data-testid=subtitle-preview-cue]').first().textContent()).toContain('Привет');

      // Escape cancels without touching the timeline.
      await page.keyboard.press('Escape');
      await poll(() => dialog.count()).toBe(0);
      expect(await page.locator('[data-testid=cue]').count()).toBe(0);

      // Again, and import: 5 cues; Ctrl+Z removes all of them in one step.
      await page.setInputFiles('[data-testid=import-subtitles]', path.join(work, 'ru.srt'));
      await poll(() => page.textContent('[data-testid=subtitle-counts]')).toMatch(/5 cues/);
      await page.click('[data-testid=subtitle-import-confirm]');
      await poll(() => page.locator('[data-testid=cue]').count()).toBe(5);
      expect(await page.locator('[data-testid=cue] input').first().inputValue()).toBe('Привет! Как дела?');
      await page.locator('body').click({ position: { x: 5, y: 5 } });
      await page.keyboard.press('Control+z');
      await poll(() => page.locator('[data-testid=cue]').count()).toBe(0);

      // An ASS file: its main style becomes the project's (scaled to the output height), cues replace.
      const ass = SUBTITLE_CORPUS.find((c) => c.fileName === 'episode.ass')!;
      writeFileSync(path.join(work, 'episode.ass'), ass.text);
      await page.setInputFiles('[data-testid=import-subtitles]', path.join(work, 'episode.ass'));
      await poll(() => page.textContent('[data-testid=subtitle-format]')).toMatch(/Advanced SubStation/);
      await poll(() => page.locator('[data-testid=subtitle-warning]').count()).toBe(2);
      expect(await page.locator('[data-testid=subtitle-apply-style]').isChecked()).toBe(true);
      await page.click('[data-testid=subtitle-import-confirm]');
      await poll(() => page.locator('[data-testid=cue]').count()).toBe(4);
      // Sizes scale from the file's PlayResY (360) to the project's output height.
      const height = Number((await page.textContent('[data-testid=output-size]'))!.split('×')[1]);
      await poll(() => page.inputValue('[data-testid=style-size]')).toBe(String(Math.min(400, Math.round((24 * height) / 360))));
      expect(await page.inputValue('[data-testid=style-color]')).toBe('#ffff00');
      expect(await page.inputValue('[data-testid=style-outline]')).toBe(String(Math.min(20, Math.round(((2 * height) / 360) * 10) / 10)));
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await page.screenshot({ path: path.join(tmpdir(), 'cm-subs-failure.png'), fullPage: true }).catch(() => {});
      throw new Error(`${(err as Error).message}\n--- page errors ---\n${pageErrors.join('\n')}\n--- server ---\n${app.logs().slice(-2000)}`);
    } finally {
      await page.close();
    }
  });
});
