/** Debian's Chromium through playwright-core, with the flags this network needs. */
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Signs a new user up through the real form and creates a project; the page ends in the editor. */
export async function signUpWithProject(page: Page, appUrl: string, user: { name: string; email: string }, projectName: string): Promise<void> {
  await page.goto(`${appUrl}/signup`, { waitUntil: 'networkidle' });
  await page.fill('input[name=name]', user.name);
  await page.fill('input[name=email]', user.email);
  await page.fill('input[name=password]', 'correct horse battery');
  await page.click('button[type=submit]');
  await page.waitForURL((url) => url.pathname === '/projects');
  await page.fill('input[name=name]', projectName);
  await page.click('text=Create project');
}
