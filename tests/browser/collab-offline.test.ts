/**
 * Offline editing in Chromium: an editor goes offline (context.setOffline, which also cuts the
 * collab WebSocket on its own port), adds a cue, closes the tab while still offline (so the edit
 * lives only in IndexedDB), comes back online and reopens the project: the edit merges into the
 * server document, the other user sees it and it is stored in Postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { loadDocumentState } from '../../drizzle/documents.ts';
import { launchChromium } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { addCueVia, cueTexts, evidence, openEditor, setupUsers, type OpenEditor } from './collab-support.ts';

describe('offline edits merge on reconnect', () => {
  let app: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('an edit made offline survives closing the tab and reaches the other user and the database', async () => {
    const { owner, others } = await setupUsers(app, [{ name: 'Bob Editor', role: 'editor' }]);
    let a: OpenEditor | undefined;
    let b: OpenEditor | undefined;
    try {
      const created = await openEditor(browser, app, owner, null);
      a = created;
      const projectId = created.projectId;
      b = await openEditor(browser, app, others[0]!, projectId);
      await addCueVia(a.page, 'online edit', 0);
      await expect.poll(() => cueTexts(b!.page)).toEqual(['online edit']);

      await b.context.setOffline(true);
      // The session drops the socket on the browser's 'offline' event (not after a 30 s silence).
      await expect.poll(() => b!.page.textContent('[data-testid=collab-status]'), { timeout: 5_000 }).toMatch(/^disconnected/);
      await addCueVia(b.page, 'written offline', 2);
      await expect.poll(() => cueTexts(b!.page)).toEqual(['online edit', 'written offline']);
      // Meanwhile the owner keeps editing online.
      await addCueVia(a.page, 'owner while bob is away', 4);
      await new Promise((r) => setTimeout(r, 1000));
      expect(await cueTexts(a.page)).toEqual(['online edit', 'owner while bob is away']);

      // Close the tab while offline: the edit now exists only in Bob's IndexedDB.
      await b.page.close();
      await b.context.setOffline(false);
      const page = await b.context.newPage();
      page.on('pageerror', (e) => b!.errors.push(e.message));
      await page.goto(`${app.url}/projects/${projectId}`);
      b = { ...b, page };
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');

      const all = ['online edit', 'owner while bob is away', 'written offline'];
      await expect.poll(() => cueTexts(a!.page)).toEqual(all);
      await expect.poll(() => cueTexts(page)).toEqual(all);
      // Stored in Postgres (persist before broadcast: the owner saw it, so it is saved).
      const { state } = await loadDocumentState(app.db.handle.db, projectId);
      expect(Buffer.from(state).includes(Buffer.from('written offline'))).toBe(true);
      expect(a.errors).toEqual([]);
      expect(b.errors).toEqual([]);
    } catch (err) {
      throw await evidence(err, app, { owner: a, editor: b });
    } finally {
      for (const e of [a, b]) await e?.context.close().catch(() => {});
    }
  });
});
