/**
 * The CSP and cross-origin isolation hold in a real Chromium across the product's pages (sign-up,
 * projects, the editor with its collab WebSocket, PixiJS stage and ffmpeg.wasm, an upload): no CSP
 * violation is reported, and the editor page is cross-origin isolated (ffmpeg.wasm threads).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';

describe('CSP in Chromium', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-csp-'));
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30:duration=1', '-f', 'lavfi', '-i', 'sine=duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', path.join(work, 'clip.mp4')]);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('reports no violation on sign-up, projects and the editor, which is cross-origin isolated', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to (load|execute|connect|create|apply|frame)/i.test(m.text())) violations.push(m.text());
    });
    const wasmRequests: string[] = [];
    page.on('request', (req) => {
      if (/\/ffmpeg\/|\.wasm(\?|$)/.test(req.url())) wasmRequests.push(new URL(req.url()).pathname);
    });
    await page.exposeFunction('__reportCspViolation', (v: string) => violations.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        (window as unknown as { __reportCspViolation: (v: string) => void }).__reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
      });
    });
    try {
      await page.goto(`${app.url}/signup`);
      await page.fill('input[name=name]', 'Csp Tester');
      await page.fill('input[name=email]', 'csp@example.com');
      await page.fill('input[name=password]', 'correct horse battery');
      await page.click('button[type=submit]');
      await page.waitForURL((url) => url.pathname === '/projects');
      await page.fill('input[name=name]', 'CSP project');
      await page.click('text=Create project');
      await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
      // The collab WebSocket (another port: allowed by the narrowed connect-src) connects and saves.
      await page.waitForSelector('[data-testid=collab-status]:has-text("connected")', { timeout: 60_000 });
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      await uploadMedia(page, path.join(work, 'clip.mp4'));
      await page.waitForSelector('[data-testid=asset]', { timeout: 60_000 });
      // WebAssembly compiles under 'wasm-unsafe-eval' (ffmpeg.wasm). (eval being refused is checked on
      // the header in security-http.test.ts: Playwright's evaluate itself bypasses the page's CSP.)
      expect(await page.evaluate(() => WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])).then(() => 'ok', (e: Error) => e.message))).toBe('ok');
      await page.waitForTimeout(1500);
      expect(violations).toEqual([]);
      console.log(`csp-browser: no violations; ffmpeg.wasm files loaded: ${wasmRequests.length ? [...new Set(wasmRequests)].join(', ') : 'none on these pages'}`);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- violations ---\n${violations.join('\n')}\n--- server ---\n${app.logs().slice(-3000)}`);
    } finally {
      await context.close();
    }
  });
});
