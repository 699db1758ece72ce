/** Debian's Chromium through playwright-core, with the flags this network needs. */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import path from 'node:path';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS });
}

/** A browser with a profile on disk (its HTTP cache is a disk cache, as a returning user's is). */
export function launchPersistentChromium(userDataDir: string, options: Parameters<typeof chromium.launchPersistentContext>[1] = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS, ...options });
}

/** Signs a new user up through the real form and creates a project; the page ends in the editor. */
export async function signUpWithProject(page: Page, appUrl: string, user: { name: string; email: string }, projectName: string): Promise<void> {
  await page.goto(`${appUrl}/signup`, { waitUntil: 'networkidle' });
  await page.fill('input[name=name]', user.name);
  await page.fill('input[name=email]', user.email);
  await page.fill('input[name=password]', 'correct horse battery');
  await page.click('button[type=submit]');
  await page.waitForURL((url) => url.pathname === '/projects', { timeout: 60_000 });
  await page.fill('input[name=name]', projectName);
  await page.click('text=Create project');
}

/**
 * Hands files to the media bin's upload input once the editor can take them: the input is in the
 * server-rendered page before hydration and disabled until the timeline has synced, and files set
 * before then are dropped without an upload (seen as a rare CI failure under load).
 */
export async function uploadMedia(page: Page, files: string | string[]): Promise<void> {
  await page.waitForSelector('[data-testid=upload]:enabled', { timeout: 60_000 });
  await page.setInputFiles('[data-testid=upload]', files);
}

/**
 * With SCREENSHOT_DIR set, keeps the page at 1280x720 and 1920x1080 as `<name>-<w>x<h>.png` there,
 * then puts the viewport back to 1280x720; without it, does nothing.
 */
export async function screenshotBothSizes(page: Page, name: string): Promise<void> {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  for (const [w, h] of [[1280, 720], [1920, 1080]] as const) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: path.join(dir, `${name}-${w}x${h}.png`) });
  }
  await page.setViewportSize({ width: 1280, height: 720 });
}
