/**
 * Transcript editing is live for collaborators (issue 16 item 5, docs/CAPTIONS.md): two real
 * browser contexts (owner + invited editor, each its own y-websocket client: separate contexts
 * share no BroadcastChannel, so every update goes through the collab server) on one project with
 * word-timed caption cues. A word fixed by one user shows in the other's transcript panel; words
 * one user selects and deletes are ripple-cut from the timeline for both (later words move left,
 * the clip gets shorter); Ctrl+Z undoes only the caller's own edit, for both; "Remove fillers and
 * pauses" by one user reaches the other, and so does its undo. A word the transcript rated below
 * 0.5 is marked for both (and passes axe's colour-contrast check); "Next uncertain word", from the
 * keyboard, selects and seeks to it; fixing it clears the mark in the document, a ripple cut and its
 * undo move a marked word with its mark, and "Mark checked" clears one for both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { transcriptToCues } from '../../shared/captions/index.ts';
import { launchChromium, screenshotBothSizes } from '../support/browser.ts';
import { blocking, runAxe } from '../support/axe.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { makeLandscapeVideo } from '../support/media.ts';
import { evidence, openEditor, placeVideo, setupUsers, type OpenEditor } from './collab-support.ts';

/** Word times in ms: a filler ("um") and a 900 ms pause after "world"; the transcript is unsure of "world" and "live". */
const WORDS = [
  { text: 'Hello', start: 100, end: 450 },
  { text: 'um', start: 500, end: 700 },
  { text: 'world', start: 750, end: 1100, confidence: 0.3 },
  { text: 'this', start: 2000, end: 2250 },
  { text: 'is', start: 2300, end: 2450 },
  { text: 'live', start: 2500, end: 2900, confidence: 0.4 },
];

type Editor = { op(name: string, ...args: unknown[]): unknown; timeline(): { meta: { fps: { num: number; den: number } }; clips: { kind: string; sourceIn?: number; sourceOut?: number }[]; cues: { start: number; words?: { low?: boolean }[] }[] } | null };
const transcript = (p: Page) => p.$$eval('[data-testid=transcript-word]', (els) => els.map((e) => e.lastChild?.textContent ?? ''));
/** Indexes of the words the panel marks as low confidence. */
const marked = (p: Page) => p.$$eval('[data-testid=transcript-word]', (els) => els.flatMap((e, i) => (e.getAttribute('data-low') === 'true' && e.classList.contains('low') && (e.getAttribute('title') ?? '').startsWith('low confidence: check this word') ? [i] : [])));
/** How many cue words of the document carry the low-confidence flag. */
const flaggedInDoc = (p: Page) => p.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.timeline()!.cues.flatMap((c) => c.words ?? []).filter((w) => w.low === true).length);
const wordStarts = (p: Page) => p.$$eval('[data-testid=transcript-word]', (els) => els.map((e) => Number(e.getAttribute('data-start'))));
/** Frames of video on the timeline (the one clip's source range). */
const videoFrames = (p: Page) => p.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.timeline()!.clips.filter((c) => c.kind === 'video').reduce((n, c) => n + (c.sourceOut! - c.sourceIn!), 0));

describe('two users edit one transcript in Chromium', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-collab-transcript-'));
    makeLandscapeVideo(path.join(work, 'talk.mp4'), 4);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('word fixes, ripple cuts and filler removal show live for the other user; undo is per user', { timeout: 180_000 }, async () => {
    const { owner, others } = await setupUsers(app, [{ name: 'Bob Editor', role: 'editor' }]);
    let a: OpenEditor | undefined;
    let b: OpenEditor | undefined;
    try {
      const created = await openEditor(browser, app, owner, null);
      a = created;
      b = await openEditor(browser, app, others[0]!, created.projectId);
      const A = a.page;
      const B = b.page;
      await placeVideo(A, path.join(work, 'talk.mp4'));
      await B.waitForSelector('[data-testid=clip-row]');

      // The words as caption cues (what Auto-captions writes), by the owner.
      const fps = await A.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.timeline()!.meta.fps);
      const cues = transcriptToCues(WORDS, { fps, rules: 'three-words', mediaEndMs: 4000 });
      await A.evaluate((c) => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.op('setCaptionCues', c), cues);
      const all = WORDS.map((w) => w.text);
      await expect.poll(() => transcript(A)).toEqual(all);
      await expect.poll(() => transcript(B)).toEqual(all);
      const framesBefore = await videoFrames(A);

      // "world" (0.3) and "live" (0.4) are marked for both, with a count.
      await expect.poll(() => marked(A)).toEqual([2, 5]);
      await expect.poll(() => marked(B)).toEqual([2, 5]);
      expect(await A.textContent('[data-testid=uncertain-count]')).toBe('2 uncertain words');
      expect(await flaggedInDoc(B)).toBe(2);
      // "Next uncertain word" from the keyboard: selects the next one and seeks there (it becomes the
      // playing word), then the one after, then wraps round. The marks pass axe's contrast check
      // selected and playing, and plain.
      const selectedPlaying = () => A.$$eval('[data-testid=transcript-word]', (els) => els.flatMap((e, i) => (e.classList.contains('selected') && e.classList.contains('active') ? [i] : [])));
      await A.focus('[data-testid=next-uncertain]');
      await A.keyboard.press('Enter');
      await expect.poll(selectedPlaying).toEqual([2]);
      expect(blocking(await runAxe(A))).toEqual([]);
      await A.keyboard.press('Enter');
      await expect.poll(selectedPlaying).toEqual([5]);
      await A.keyboard.press('Enter');
      await expect.poll(selectedPlaying).toEqual([2]);
      await A.locator('[data-testid=transcript-word]').nth(4).click();
      await expect.poll(selectedPlaying).toEqual([4]);
      expect(blocking(await runAxe(A))).toEqual([]);
      await screenshotBothSizes(A, 'transcript-low-confidence');

      // The owner fixes a word (double-click, type, Enter): the editor sees it; the timing stays.
      await A.locator('[data-testid=transcript-word]').nth(2).dblclick();
      await A.fill('[data-testid=transcript-word-input]', 'planet');
      await A.press('[data-testid=transcript-word-input]', 'Enter');
      const fixed = ['Hello', 'um', 'planet', 'this', 'is', 'live'];
      await expect.poll(() => transcript(B)).toEqual(fixed);
      expect(await wordStarts(B)).toEqual(await wordStarts(A));
      // Fixing the uncertain word cleared its mark in the shared document: gone for both.
      await expect.poll(() => flaggedInDoc(B)).toBe(1);
      expect(await flaggedInDoc(A)).toBe(1);
      await expect.poll(() => marked(B)).toEqual([5]);
      expect(await A.textContent('[data-testid=uncertain-count]')).toBe('1 uncertain word');

      // The editor selects "this is" and deletes: the owner sees the words gone and the video shorter.
      const startsBefore = await wordStarts(A);
      await B.locator('[data-testid=transcript-word]').nth(3).click();
      await B.locator('[data-testid=transcript-word]').nth(4).click({ modifiers: ['Shift'] });
      await B.keyboard.press('Delete');
      const cut = ['Hello', 'um', 'planet', 'live'];
      await expect.poll(() => transcript(A)).toEqual(cut);
      await expect.poll(() => videoFrames(A)).toBeLessThan(framesBefore);
      const removed = framesBefore - (await videoFrames(A));
      // "live" moved left by the cut's length; the words before it stayed.
      const startsAfter = await wordStarts(A);
      expect(startsAfter.slice(0, 3)).toEqual(startsBefore.slice(0, 3));
      expect(startsAfter[3]).toBe(startsBefore[5]! - removed);
      await expect.poll(() => wordStarts(B)).toEqual(startsAfter);
      expect(await marked(A)).toEqual([3]); // "live" moved with its mark

      // The editor's Ctrl+Z undoes its own cut (for the owner too), not the owner's word fix.
      await B.click('h1');
      await B.keyboard.press('Control+z');
      await expect.poll(() => transcript(A)).toEqual(fixed);
      await expect.poll(() => videoFrames(A)).toBe(framesBefore);
      expect(await wordStarts(A)).toEqual(startsBefore);
      expect(await marked(A)).toEqual([5]);

      // The owner removes fillers and pauses in one step: the editor sees "um" gone, the video shorter.
      await A.fill('[data-testid=max-pause-ms]', '300');
      await A.click('[data-testid=remove-fillers]');
      await expect.poll(() => transcript(B)).toEqual(['Hello', 'planet', 'this', 'is', 'live']);
      await expect.poll(() => videoFrames(B)).toBeLessThan(framesBefore);
      await screenshotBothSizes(B, 'collab-transcript-editor');
      // And the owner's Ctrl+Z puts them back for the editor.
      await A.click('h1');
      await A.keyboard.press('Control+z');
      await expect.poll(() => transcript(B)).toEqual(fixed);
      await expect.poll(() => videoFrames(B)).toBe(framesBefore);
      await screenshotBothSizes(A, 'collab-transcript-owner');
      // The owner confirms "live" as right: its mark goes for the editor too, the text stays.
      expect(await marked(B)).toEqual([5]);
      await A.locator('[data-testid=transcript-word]').nth(5).click();
      await A.click('[data-testid=confirm-words]');
      await expect.poll(() => flaggedInDoc(B)).toBe(0);
      await expect.poll(() => marked(B)).toEqual([]);
      expect(await transcript(B)).toEqual(fixed);
      expect(await A.locator('[data-testid=uncertain-count]').count()).toBe(0);
      expect(a.errors).toEqual([]);
      expect(b.errors).toEqual([]);
    } catch (err) {
      throw await evidence(err, app, { owner: a, editor: b });
    } finally {
      await a?.context.close();
      await b?.context.close();
    }
  });
});
