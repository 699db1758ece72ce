/**
 * Two real browser contexts (owner + invited editor) and a viewer on the same project, against the
 * real product: each sees the others' edits and presence (name, playhead, selected clip); the
 * viewer's presence shows but it has no editing controls; Ctrl+Z undoes only my own edit; named
 * versions: save, preview, restore (seen by the other editor), undo the restore; presence of a user
 * who leaves disappears.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { makeLandscapeVideo } from '../support/media.ts';
import { addCueVia, cueTexts, evidence, openEditor, placeVideo, setupUsers, type OpenEditor } from './collab-support.ts';

describe('two users co-edit one project in Chromium', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-collab-'));
    makeLandscapeVideo(path.join(work, 'clip.mp4'), 2);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('edits, presence, per-user undo, versions', async () => {
    const { owner, others } = await setupUsers(app, [
      { name: 'Bob Editor', role: 'editor' },
      { name: 'Vera Viewer', role: 'viewer' },
    ]);
    const [bob, vera] = others as [typeof owner, typeof owner];
    let a: OpenEditor | undefined;
    let b: OpenEditor | undefined;
    let v: OpenEditor | undefined;
    try {
      const created = await openEditor(browser, app, owner, null);
      a = created;
      const projectId = created.projectId;
      b = await openEditor(browser, app, bob, projectId);
      v = await openEditor(browser, app, vera, projectId);
      const A = a.page;
      const B = b.page;
      const V = v.page;

      // Presence: everyone sees everyone else, by name.
      const peerNames = (p: typeof A) => p.locator('[data-testid=presence-peer]').allInnerTexts().then((t) => t.map((s) => s.trim()).sort());
      await expect.poll(() => peerNames(A)).toEqual(['Bob Editor', 'Vera Viewer']);
      await expect.poll(() => peerNames(B)).toEqual(['Ada Owner', 'Vera Viewer']);
      await expect.poll(() => peerNames(V)).toEqual(['Ada Owner', 'Bob Editor']);

      // An edit by the owner (upload + place a clip) reaches the editor and the viewer.
      await placeVideo(A, path.join(work, 'clip.mp4'));
      await B.waitForSelector('[data-testid=clip-row]');
      await V.waitForSelector('[data-testid=clip-row]');

      // Edits both ways.
      await addCueVia(B, 'from Bob', 0);
      await expect.poll(() => cueTexts(A)).toEqual(['from Bob']);
      await addCueVia(A, 'from Ada', 1);
      await expect.poll(() => cueTexts(B)).toEqual(['from Ada', 'from Bob']);
      await expect.poll(() => cueTexts(V)).toEqual(['from Ada', 'from Bob']);

      // The viewer has no editing controls.
      expect(await V.locator('[data-testid=add-cue]').count()).toBe(0);
      expect(await V.locator('[data-testid=version-restore]').count()).toBe(0);

      // Playheads and the selected clip, in the others' colours with their names.
      await A.locator('[data-testid=playhead]').fill('20');
      await expect.poll(() => B.getAttribute(`[data-testid=presence-playhead][data-user-id="${owner.id}"]`, 'data-frame')).toBe('20');
      await V.locator('[data-testid=playhead]').fill('40');
      await expect.poll(() => A.getAttribute(`[data-testid=presence-playhead][data-user-id="${vera.id}"]`, 'data-frame')).toBe('40');
      expect(await A.locator(`[data-testid=presence-playhead][data-user-id="${vera.id}"]`).innerText()).toBe('Vera Viewer');
      await B.click('.track .clip');
      await A.waitForSelector(`[data-testid=presence-selection][data-user-id="${bob.id}"]`);

      // Ctrl+Z in the owner's editor undoes the owner's cue, never Bob's.
      await A.click('h1');
      await A.keyboard.press('Control+z');
      await expect.poll(() => cueTexts(A)).toEqual(['from Bob']);
      await expect.poll(() => cueTexts(B)).toEqual(['from Bob']);
      await A.keyboard.press('Control+Shift+z');
      await expect.poll(() => cueTexts(B)).toEqual(['from Ada', 'from Bob']);

      // Versions: name one, edit on, preview it, restore it (Bob sees it), undo the restore.
      await A.fill('[data-testid=version-name]', 'Two cues');
      await A.click('[data-testid=version-save]');
      await A.waitForSelector('[data-testid=version-row]:has-text("Two cues")');
      await addCueVia(B, 'after the version', 5);
      await expect.poll(() => cueTexts(A)).toEqual(['after the version', 'from Ada', 'from Bob']);
      await A.click('[data-testid=version-preview]');
      await expect.poll(() => A.locator('[data-testid=version-preview-cue]').count()).toBe(2);
      expect(await A.textContent('[data-testid=version-preview-summary]')).toContain('1 clip, 2 cues');
      await A.click('[data-testid=version-restore]');
      await expect.poll(() => cueTexts(B)).toEqual(['from Ada', 'from Bob']);
      await A.click('h1');
      await A.keyboard.press('Control+z');
      await expect.poll(() => cueTexts(B)).toEqual(['after the version', 'from Ada', 'from Bob']);
      // The viewer lists and previews versions too.
      await V.reload();
      await V.waitForSelector('[data-testid=version-row]:has-text("Two cues")');

      // Bob leaves: his presence disappears from the others (removed on disconnect, not after 30 s).
      await b.context.close();
      b = undefined;
      await expect.poll(() => peerNames(A), { timeout: 10_000 }).toEqual(['Vera Viewer']);
      // WebAssembly runtime errors come from the in-browser media probe (ffmpeg.wasm) of the upload,
      // not from collaboration; anything else fails the test.
      const ours = (errors: string[]) => errors.filter((m) => !/memory access out of bounds|RuntimeError: (unreachable|memory)/i.test(m));
      expect(ours(a.errors)).toEqual([]);
      expect(ours(v.errors)).toEqual([]);
    } catch (err) {
      throw await evidence(err, app, { owner: a, editor: b, viewer: v });
    } finally {
      for (const e of [a, b, v]) await e?.context.close().catch(() => {});
    }
  });
});
