/**
 * Setup shared by the collaboration browser tests: users and memberships made through the real
 * accounts service (fast); the owner creates the project in the UI; each user logs in through the
 * real login form in their own browser context.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { schema } from '../../drizzle/index.ts';
import { signUp } from '../../app/src/lib/server/services/accounts/users.ts';
import type { RunningApp } from '../support/app-server.ts';
import { uploadMedia } from '../support/browser.ts';

export const PASSWORD = 'correct horse battery';

export interface CollabUser {
  id: string;
  name: string;
  email: string;
}

/** An owner, plus members of the owner's team with the given roles. */
export async function setupUsers(app: RunningApp, members: { name: string; role: 'editor' | 'reviewer' | 'viewer' }[]) {
  const db = app.db.handle.db;
  const o = await signUp(db, { email: 'owner@example.com', name: 'Ada Owner', password: PASSWORD });
  const owner: CollabUser = { id: o.user.id, name: o.user.name, email: o.user.email };
  const others: CollabUser[] = [];
  for (const m of members) {
    const email = `${m.name.split(' ')[0]!.toLowerCase()}@example.com`;
    const u = await signUp(db, { email, name: m.name, password: PASSWORD });
    await db.insert(schema.memberships).values({ orgId: o.org.id, userId: u.user.id, role: m.role });
    others.push({ id: u.user.id, name: u.user.name, email: u.user.email });
  }
  return { owner, others };
}

/** Uploads a video through the editor and places it on the timeline (the real flow). */
export async function placeVideo(page: Page, file: string) {
  await uploadMedia(page, file);
  await page.click('[data-testid=add-to-timeline]');
  await page.waitForSelector('[data-testid=clip-row]');
}

export interface OpenEditor {
  context: BrowserContext;
  page: Page;
  errors: string[];
}

/** Logs `user` in and opens the project (or, with projectId null, creates one in the UI first). */
export async function openEditor(browser: Browser, app: RunningApp, user: CollabUser, projectId: string | null): Promise<OpenEditor & { projectId: string }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const opened = { context, page, errors, projectId: projectId ?? '' };
  try {
    await page.goto(`${app.url}/login?next=/projects${projectId ? `/${projectId}` : ''}`, { waitUntil: 'networkidle' });
    await page.fill('input[name=email]', user.email);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    if (!projectId) {
      await page.waitForURL((url) => url.pathname === '/projects');
      await page.fill('input[name=name]', 'Team teaser');
      await page.click('text=Create project');
      await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
      opened.projectId = page.url().split('/').pop()!;
    } else {
      await page.waitForURL(`**/projects/${projectId}`);
    }
    await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
  } catch (err) {
    const e = await evidence(err, app, { [user.name]: opened });
    await context.close().catch(() => {});
    throw e;
  }
  return opened;
}

export const cueTexts = (page: Page) => page.locator('[data-testid=cue] input').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value).sort());

export async function addCueVia(page: Page, text: string, startSeconds: number) {
  await page.fill('[data-testid=cue-start]', String(startSeconds));
  await page.fill('[data-testid=cue-end]', String(startSeconds + 1));
  await page.fill('[data-testid=cue-text]', text);
  await page.click('[data-testid=add-cue]');
}

/** Evidence for a failing browser test: visible text of each page and the server log tail. */
export async function evidence(err: unknown, app: RunningApp, pages: Record<string, OpenEditor | undefined>): Promise<Error> {
  let out = (err as Error).message;
  for (const [name, e] of Object.entries(pages)) {
    if (!e) continue;
    const text = await e.page.innerText('body').catch(() => '');
    out += `\n--- ${name} ---\n${text.slice(0, 1500)}\n--- ${name} errors ---\n${e.errors.join('\n')}`;
  }
  return new Error(`${out}\n--- server ---\n${app.logs().slice(-3000)}`);
}
