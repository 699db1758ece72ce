/**
 * Helpers of the fidelity tests: SSIM between two pictures, a step that must finish in time, a
 * project of a custom output size, a page's errors for a failure's message, decoded frames of the
 * preview and the farm.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { signUpWithProject } from './browser.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

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
  await setCustomOutput(page, w, h);
}

/** 8-bit gray pixels of a picture file, or of frame `n` of a video. */
export function grayFrame(file: string, n?: number): Uint8Array {
  const select = n === undefined ? [] : ['-vf', `select=eq(n\\,${n})`];
  const r = spawnSync(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-v', 'error', '-i', file, ...select, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return new Uint8Array(r.stdout);
}

/** The farm's render of a RenderSpec (`pnpm render`, native ffmpeg, cpu) from the app's storage, written into `work`. */
export function renderWithFarm(spec: unknown, work: string, tag: string, storageDir: string): string {
  const specPath = path.join(work, `spec-${tag}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const out = path.join(work, `farm-${tag}.mp4`);
  const r = spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), ['render-farm/src/cli.ts', specPath, out, '--media-root', storageDir, '--target', 'cpu'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pnpm render failed: ${r.stderr.slice(-2000)}`);
  return out;
}

/** The editor's output size set to w x h (the aspect menu's custom size). */
export async function setCustomOutput(page: Page, w: number, h: number): Promise<void> {
  await page.selectOption('[data-testid=aspect]', 'custom');
  await page.fill('[data-testid=custom-width]', String(w));
  await page.fill('[data-testid=custom-height]', String(h));
  await page.click('[data-testid=custom-apply]');
  await expect.poll(() => page.textContent('[data-testid=output-size]')).toBe(`${w}×${h}`);
}

/** The PixiJS preview's picture at timeline frame `f`, drawn at the full output size, as gray pixels (the PNG kept in `work`). */
export async function previewGray(page: Page, f: number, work: string): Promise<Uint8Array> {
  const png = await within(30_000, `preview frame ${f}`, page.evaluate(async (n) => {
    const p = (window as never as { __clipmakerPreview: { drawFrame(f: number, full: boolean): Promise<void>; png(): string } }).__clipmakerPreview;
    await p.drawFrame(n, true);
    return p.png();
  }, f));
  const file = path.join(work, `pixi-${f}.png`);
  writeFileSync(file, Buffer.from(png.replace(/^data:image\/png;base64,/, ''), 'base64'));
  return grayFrame(file);
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
