/**
 * @mention autocomplete in the review comment box, in Chromium against the real product: typing "@"
 * opens a listbox of project members (combobox pattern: aria-expanded, aria-activedescendant, options
 * with aria-selected), ↑/↓ move, Enter inserts the handle the server's mention parser resolves (the
 * member gets the mention notification), Escape closes it; a guest on a link sees names, not emails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshotBothSizes } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';
import { createProject, seedRender, signUpUser, trpc } from '../security/support.ts';

describe('@mention autocomplete in Chromium', () => {
  let app: RunningApp;
  let browser: Browser;
  let sql: postgres.Sql;
  let owner: string;
  let projectId: string;
  let renderId: string;

  const box = '[data-testid=comment-text]';
  const attr = (page: Page, name: string) => page.getAttribute(box, name);
  const options = (page: Page) => page.locator('[data-testid=mention-option]').allTextContents();

  beforeAll(async () => {
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
    sql = postgres(app.db.url, { max: 1, onnotice: () => {} });
    owner = await signUpUser(app.url, 'olga@studio.example', 'long enough pw', 'Olga Owner');
    const project = await createProject(app.url, owner, 'Mentions cut');
    projectId = project.projectId;
    // Team members of the project's org (signed up for real, added to the org as members).
    for (const [email, name, role] of [['anna@studio.example', 'Anna Berg', 'editor'], ['annie@studio.example', 'Annie Hall', 'reviewer'], ['bob@studio.example', 'Bob Stone', 'viewer']] as const) {
      await signUpUser(app.url, email, 'long enough pw', name);
      await sql`insert into memberships (org_id, user_id, role) select ${project.orgId}, id, ${role} from users where email = ${email}`;
    }
    const seeded = await seedRender(sql, app.dataDir, project);
    renderId = seeded.renderId;
    mkdirSync(path.dirname(path.join(app.dataDir, 'storage', seeded.outputKey)), { recursive: true });
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', path.join(app.dataDir, 'storage', seeded.outputKey)]);
  });
  afterAll(async () => {
    await sql?.end();
    await browser?.close();
    await app?.stop();
  });

  it('a member types @, picks a teammate with the keyboard, and the posted comment mentions them', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
    await page.goto(`${app.url}/login`, { waitUntil: 'networkidle' });
    await page.fill('input[name=email]', 'olga@studio.example');
    await page.fill('input[name=password]', 'long enough pw');
    await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
    await page.goto(`${app.url}/projects/${projectId}/versions`);
    await page.waitForSelector(box);
    expect(await attr(page, 'role')).toBe('combobox');
    expect(await attr(page, 'aria-expanded')).toBe('false');

    await page.click(box);
    await page.keyboard.type('Please check the title @an');
    await page.waitForSelector('[data-testid=mention-list][role=listbox]');
    expect(await options(page)).toEqual(['Anna Berg anna@studio.example', 'Annie Hall annie@studio.example']);
    expect(await attr(page, 'aria-expanded')).toBe('true');
    expect(await attr(page, 'aria-controls')).toBe('mention-list');
    expect(await attr(page, 'aria-activedescendant')).toBe('mention-opt-0');
    expect(await page.getAttribute('#mention-opt-0', 'aria-selected')).toBe('true');
    await screenshotBothSizes(page, 'review-mention-list');

    await page.keyboard.press('ArrowDown');
    expect(await attr(page, 'aria-activedescendant')).toBe('mention-opt-1');
    expect(await page.getAttribute('#mention-opt-1', 'aria-selected')).toBe('true');
    expect(await page.getAttribute('#mention-opt-0', 'aria-selected')).toBe('false');
    await page.keyboard.press('ArrowDown'); // wraps
    expect(await attr(page, 'aria-activedescendant')).toBe('mention-opt-0');
    await page.keyboard.press('ArrowUp');
    expect(await attr(page, 'aria-activedescendant')).toBe('mention-opt-1');
    // Enter inserts (it does not post while the list is open); typing goes on after the mention.
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=mention-list]', { state: 'detached' });
    expect(await page.inputValue(box)).toBe('Please check the title @Annie Hall ');
    expect(await attr(page, 'aria-expanded')).toBe('false');
    expect(await attr(page, 'aria-activedescendant')).toBeNull();
    await page.keyboard.type('please');

    // Escape closes the list and leaves the text as typed.
    await page.keyboard.type(' and @bo');
    await page.waitForSelector('[data-testid=mention-option]:has-text("Bob Stone")');
    expect(await options(page)).toEqual(['Bob Stone bob@studio.example']);
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=mention-list]', { state: 'detached' });
    for (let i = 0; i < ' and @bo'.length; i++) await page.keyboard.press('Backspace');
    expect(await page.inputValue(box)).toBe('Please check the title @Annie Hall please');

    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=comment]:has-text("@Annie Hall please")');
    // The server's parser resolved the inserted handle to Annie: she has the mention notification.
    await expect
      .poll(async () => (await sql`select n.kind from notifications n join users u on u.id = n.user_id where u.email = 'annie@studio.example' and n.kind = 'mention'`).length)
      .toBe(1);
    const [{ n }] = (await sql`select count(*)::int as n from notifications n join users u on u.id = n.user_id where u.email = 'anna@studio.example' and n.kind = 'mention'`) as unknown as [{ n: number }];
    expect(n).toBe(0);
    await page.context().close();
  });

  it('a guest on a comment link gets names only (no team emails)', async () => {
    const res = await trpc(app.url, owner, 'review.createShareLink', { renderId }, 'mutation');
    const url = `${app.url}${((await res.json()) as { result: { data: { path: string } } }).result.data.path}`;
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
    await page.goto(url);
    await page.fill('[data-testid=name-form] input[name=name]', 'Gail Guest');
    await page.click('[data-testid=name-form] button');
    await page.waitForSelector(box);
    await page.click(box);
    await page.keyboard.type('@a');
    await page.waitForSelector('[data-testid=mention-list]');
    expect(await options(page)).toEqual(['Anna Berg', 'Annie Hall']);
    expect(await page.content()).not.toContain('anna@studio.example');
    await page.context().close();
  });
});
