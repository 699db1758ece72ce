/**
 * Helpers of the fidelity tests: SSIM between two pictures, a step that must finish in time, a
 * project of a custom output size, and a page's errors for a failure's message.
 */
import { spawnSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { signUpWithProject } from './browser.ts';

/** ffmpeg's ssim filter between two pictures ("All:" value). */
export function ssim(a: string, b: string): number {
  const r = spawnSync(
    process.env.FFMPEG_PATH ?? 'ffmpeg',
    ['-hide_banner', '-i', a, '-i', b, '-lavfi', '[0:v]format=yuv420p[x];[1:v]format=yuv420p[y];[x][y]ssim', '-f', 'null', '-'],
    { encoding: 'utf8' },
  );
  const m = /All:([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`ssim failed: ${r.stderr.slice(-1500)}`);
  return Number(m[1]);
}

/** A step that must finish in time, so a hang fails with its name instead of the test timeout. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Signs a new user up, creates a project and sets its output to w x h (the custom aspect). */
export async function customSizeProject(page: Page, appUrl: string, user: { name: string; email: string }, projectName: string, w: number, h: number): Promise<void> {
  await signUpWithProject(page, appUrl, user, projectName);
  await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
  await page.waitForSelector('[data-testid=collab-status]:has-text("connected · saved")');
  await page.selectOption('[data-testid=aspect]', 'custom');
  await page.fill('[data-testid=custom-width]', String(w));
  await page.fill('[data-testid=custom-height]', String(h));
  await page.click('[data-testid=custom-apply]');
  await page.waitForFunction((size) => document.querySelector('[data-testid=output-size]')?.textContent === size, `${w}×${h}`);
}

/** Collects the page's errors and console lines; `failure` wraps an error with them and the server log. */
export function watchPage(page: Page): { pageErrors: string[]; failure(err: unknown, serverLogs: string): Error } {
  const pageErrors: string[] = [];
  const consoleLines: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  return {
    pageErrors,
    failure: (err, serverLogs) => new Error(`${(err as Error).message}\n--- page errors ---\n${pageErrors.join('\n')}\n--- console ---\n${consoleLines.slice(-40).join('\n')}\n--- server ---\n${serverLogs.slice(-3000)}`),
  };
}
