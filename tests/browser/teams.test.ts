/**
 * A team set up in the browser, against the real product with mail on (a real SMTP server in this
 * process): the owner invites a colleague by link and a client by email (the link read from the
 * delivered message); each accepts in their own browser context as a new account; the colleague edits
 * live; the owner lowers the colleague to viewer and the colleague's open editor turns read-only
 * within 2 s without a reload; the owner removes the client and the client's open review page loses
 * access without a reload. Also: the projects page grid (thumbnail from the render, duplicate,
 * search), screenshotted at 1280x720 and 1920x1080.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { makeLandscapeVideo } from '../support/media.ts';
import { firstLink, startSmtp, type TestSmtp } from '../support/smtp.ts';
import { addCueVia, cueTexts, PASSWORD } from './collab-support.ts';

const SHOTS = process.env.TEAMS_SCREENSHOTS ?? tmpdir();

interface Person {
  context: BrowserContext;
  page: Page;
  errors: string[];
}

describe('a team in ten minutes', () => {
  let app: RunningApp;
  let browser: Browser;
  let smtp: TestSmtp;
  let work: string;
  const people: Person[] = [];

  async function person(): Promise<Person> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const p = { context, page, errors };
    people.push(p);
    return p;
  }

  /** Accepts an invite as a new account: the invite page, "Create an account", back to accept. */
  async function acceptAsNewAccount(p: Person, inviteUrl: string, name: string, email: string) {
    await p.page.goto(inviteUrl);
    await p.page.click('[data-testid=invite-signup]');
    await p.page.fill('input[name=name]', name);
    await p.page.fill('input[name=email]', email);
    await p.page.fill('input[name=password]', PASSWORD);
    await p.page.click('button[type=submit]');
    await p.page.waitForSelector('[data-testid=invite-accept]');
    await p.page.click('[data-testid=invite-accept]');
  }

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-teams-'));
    smtp = await startSmtp();
    [app, browser] = await Promise.all([startApp({ SMTP_URL: smtp.url, MAIL_FROM: 'ClipMaker <clipmaker@example.com>' }), launchChromium()]);
  });
  afterAll(async () => {
    for (const p of people) await p.context.close().catch(() => {});
    await browser?.close();
    await app?.stop();
    await smtp?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('invite by link and by email, edit live, downgrade and removal take effect at once', async () => {
    const owner = await person();
    const O = owner.page;
    try {
      // The owner signs up, makes a project and renders v1 (a 1 s clip) with the embedded worker.
      await O.goto(`${app.url}/signup`, { waitUntil: 'networkidle' });
      await O.fill('input[name=name]', 'Olivia Owner');
      await O.fill('input[name=email]', 'olivia@example.com');
      await O.fill('input[name=password]', PASSWORD);
      await O.click('button[type=submit]');
      await O.waitForURL((url) => url.pathname === '/projects');
      await O.fill('input[name=name]', 'Launch teaser');
      await O.click('text=Create project');
      await O.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
      const projectId = O.url().split('/').pop()!;
      await O.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
      const src = path.join(work, 'one-second.mp4');
      makeLandscapeVideo(src, 1);
      await uploadMedia(O, src);
      await O.click('[data-testid=add-to-timeline]');
      await O.waitForSelector('[data-testid=clip-row]');
      await O.click('[data-testid=render]');

      // Invites, from a second tab of the owner: a single-use link for a colleague (editor, whole
      // team) and an email to a client (reviewer on this project only).
      const settings = await owner.context.newPage();
      settings.on('pageerror', (e) => owner.errors.push(e.message));
      await settings.goto(`${app.url}/settings/team`);
      await settings.selectOption('[data-testid=invite-role]', 'editor');
      await settings.click('[data-testid=invite-link-create]');
      const linkUrl = await settings.inputValue('[data-testid=invite-url]');
      expect(linkUrl).toMatch(/\/invite\/[A-Za-z0-9_-]{20,}$/);
      await settings.selectOption('[data-testid=invite-role]', 'reviewer');
      await settings.selectOption('[data-testid=invite-project]', projectId);
      await settings.fill('[data-testid=invite-email]', 'carla@client.example');
      await settings.click('[data-testid=invite-send]');
      await settings.waitForSelector('[data-testid=invite-result]:has-text("Emailed to carla@client.example")');
      const mail = await smtp.waitFor('carla@client.example', 10_000);
      expect(mail.subject).toMatch(/Launch teaser|invite/i);
      const emailUrl = firstLink(mail.text);
      expect(emailUrl).toMatch(/\/invite\/[A-Za-z0-9_-]{20,}$/);
      expect(emailUrl).not.toBe(linkUrl);

      // Both accept in their own contexts, as new accounts.
      const colleague = await person();
      await acceptAsNewAccount(colleague, linkUrl, 'Cole League', 'cole@example.com');
      await colleague.page.waitForURL((url) => url.pathname === '/settings/team');
      const client = await person();
      await acceptAsNewAccount(client, emailUrl, 'Carla Client', 'carla@client.example');
      await client.page.waitForURL(`**/projects/${projectId}`);
      await client.page.waitForSelector('[data-testid=role]:has-text("reviewer")');

      // The colleague edits live: the owner's open editor shows it.
      const C = colleague.page;
      await C.goto(`${app.url}/projects/${projectId}`);
      await C.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
      await C.waitForSelector('[data-testid=role]:has-text("editor")');
      await addCueVia(C, 'from cole, live', 0);
      await expect.poll(() => cueTexts(O), { timeout: 10_000 }).toContain('from cole, live');

      // The client opens the review page of v1 once it has rendered.
      await O.waitForSelector('[data-testid=render-row][data-status=succeeded]', { timeout: 180_000 });
      const R = client.page;
      await R.goto(`${app.url}/projects/${projectId}/versions`);
      await R.waitForSelector('[data-testid=version][data-version="1"]');
      const clientNavigations: string[] = [];
      R.on('framenavigated', (f) => f === R.mainFrame() && clientNavigations.push(f.url()));

      // The owner lowers the colleague to viewer: read-only within 2 s, no reload.
      const colleagueNavigations: string[] = [];
      C.on('framenavigated', (f) => f === C.mainFrame() && colleagueNavigations.push(f.url()));
      await settings.reload();
      const t0 = Date.now();
      await settings.selectOption('[data-testid=member-row][data-email="cole@example.com"] [data-testid=member-role]', 'viewer');
      await C.waitForSelector('[data-testid=access-notice]:has-text("read-only")', { timeout: 2_000 });
      expect(Date.now() - t0).toBeLessThan(2_000);
      await expect.poll(() => C.innerText('[data-testid=role]')).toContain('viewer');
      expect(await C.locator('[data-testid=add-cue]').count()).toBe(0);
      expect(colleagueNavigations).toEqual([]);

      // The owner removes the client's project access: the open review page closes itself.
      await settings.waitForSelector('[data-testid=overrides] li:has-text("Carla Client")');
      const t1 = Date.now();
      await settings.click('[data-testid=overrides] li:has-text("Carla Client") [data-testid=override-remove]');
      await R.waitForSelector('[data-testid=access-lost]', { timeout: 2_000 });
      expect(Date.now() - t1).toBeLessThan(2_000);
      expect(await R.locator('[data-testid=version]').count()).toBe(0);
      expect(clientNavigations).toEqual([]);
      // And it stays closed on a reload.
      const res = await R.goto(`${app.url}/projects/${projectId}/versions`);
      expect(res?.status()).toBe(404);

      // The projects page: the render's thumbnail, a duplicate, search.
      await O.goto(`${app.url}/projects`);
      const card = O.locator(`[data-testid=project-card][data-project-id="${projectId}"]`);
      await card.locator('[data-testid=project-duplicate]').click();
      await O.waitForSelector('[data-testid=rename-input]');
      await O.fill('[data-testid=rename-input]', 'Launch teaser — square cut');
      await O.press('[data-testid=rename-input]', 'Enter');
      await O.waitForSelector('[data-testid=project-card] h2:has-text("square cut")');
      await O.waitForFunction(() => [...document.querySelectorAll('[data-testid=project-thumb]')].every((el) => el instanceof HTMLImageElement ? el.complete && el.naturalWidth > 0 : (el as HTMLVideoElement).readyState >= 2 && !(el as HTMLVideoElement).seeking && (el as HTMLVideoElement).currentTime > 0));
      await O.waitForTimeout(300); // the seeked frame is painted
      expect(await card.locator('img[data-testid=project-thumb]').count()).toBe(1); // v1's thumbnail
      await O.setViewportSize({ width: 1920, height: 1080 });
      await O.waitForTimeout(300);
      await O.screenshot({ path: path.join(SHOTS, 'i12b-projects-1920.png') });
      await O.setViewportSize({ width: 1280, height: 720 });
      await O.waitForTimeout(300);
      await O.screenshot({ path: path.join(SHOTS, 'i12b-projects-1280.png') });
      await O.fill('[data-testid=project-search]', 'square');
      await expect.poll(() => O.locator('[data-testid=project-card]').count()).toBe(1);
      // Trash the copy, restore it, trash it again and delete it forever (confirmed in the dialog).
      await O.fill('[data-testid=project-search]', '');
      const copy = O.locator('[data-testid=project-card]', { hasText: 'square cut' });
      await copy.locator('[data-testid=project-trash]').click();
      await O.waitForSelector('[data-testid=trash-toggle]:has-text("Trash (1)")');
      await expect.poll(() => O.locator('[data-testid=project-card]').count()).toBe(1);
      await O.click('[data-testid=trash-toggle]');
      await O.click('[data-testid=project-card] [data-testid=project-restore]');
      await O.waitForSelector('text=The trash is empty.');
      await O.click('[data-testid=trash-toggle]');
      await O.waitForSelector('[data-testid=trash-toggle]:has-text("Trash (0)")');
      await copy.locator('[data-testid=project-trash]').click();
      await O.click('[data-testid=trash-toggle]');
      await O.screenshot({ path: path.join(SHOTS, 'i12b-projects-trash-1280.png') });
      O.once('dialog', (d) => void d.accept());
      await O.click('[data-testid=project-card] [data-testid=project-delete]');
      await O.waitForSelector('text=The trash is empty.');
      await O.click('[data-testid=trash-toggle]');
      await O.waitForSelector('[data-testid=trash-toggle]:has-text("Trash (0)")');
      await expect.poll(() => O.locator('[data-testid=project-card]').count()).toBe(1);

      for (const p of people) expect(p.errors).toEqual([]);
    } catch (err) {
      let out = (err as Error).message;
      for (const [i, p] of people.entries()) out += `\n--- person ${i} (${p.page.url()}) ---\n${(await p.page.innerText('body').catch(() => '')).slice(0, 1200)}\n${p.errors.join('\n')}`;
      throw new Error(`${out}\n--- server ---\n${app.logs().slice(-3000)}`);
    }
  });
});
