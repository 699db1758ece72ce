/**
 * Resumable uploads in the media bin, in Chromium against the real product, with a real ~11 MB video
 * (three CHUNK_BYTES chunks). A Playwright route holds the tus PATCH requests until the test lets
 * them through (no sleeps), so each mid-upload state is reached exactly, and logs every tus request
 * the page makes; the server is asked directly (HEAD offset, the partial-upload folder, the assets
 * table) what it holds:
 *  - cancel: the row goes, the server deletes the partial upload, nothing is stored, the URL is forgotten;
 *  - reload: two chunks in, the tab reloads, the bin lists the interrupted upload, the same file is
 *    added again and the client resumes from the server's offset (HEAD, then PATCH from 8 MiB; no new
 *    upload, no byte 0 again); the stored asset has the file's exact bytes;
 *  - a failed chunk (503) is retried by itself, the row showing "retrying";
 *  - offline: one chunk in, the browser goes offline, the row shows "paused — offline"; back online
 *    it carries on by itself from the offset and the asset arrives probed (duration) and usable.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page, Request, Route } from 'playwright-core';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES } from '../../app/src/lib/editor/uploads.svelte.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { launchChromium, screenshotBothSizes, signUpWithProject, uploadMedia } from '../support/browser.ts';
import { ffmpeg } from '../support/media.ts';

interface TusCall {
  method: string;
  path: string;
  offset: number | null;
}

/** Holds the page's tus PATCHes beyond `allowed`, and logs every tus request it makes. */
class PatchGate {
  log: TusCall[] = [];
  held: Route[] = [];
  /** The next this many PATCHes are answered 503 without reaching the server (a failing proxy). */
  failNext = 0;
  constructor(private allowed: number) {}

  async install(page: Page): Promise<void> {
    await page.route(
      (url) => /\/api\/projects\/[^/]+\/uploads(\/|$)/.test(url.pathname),
      async (route: Route, request: Request) => {
        const offset = request.headers()['upload-offset'];
        this.log.push({ method: request.method(), path: new URL(request.url()).pathname, offset: offset === undefined ? null : Number(offset) });
        if (request.method() === 'PATCH' && this.failNext > 0) {
          this.failNext--;
          await route.fulfill({ status: 503, body: 'Service Unavailable' }).catch(() => {});
        } else if (request.method() !== 'PATCH' || this.allowed > 0) {
          if (request.method() === 'PATCH') this.allowed--;
          await route.continue().catch(() => {});
        } else this.held.push(route);
      },
    );
  }

  /** Lets `n` more PATCHes through (held ones first). */
  allow(n: number): void {
    this.allowed += n;
    while (this.allowed > 0 && this.held.length > 0) {
      this.allowed--;
      void this.held.shift()!.continue().catch(() => {}); // the page may have aborted it meanwhile
    }
  }

  /** Drops the held requests (the page aborted them: offline, reload, cancel). */
  forget(): void {
    this.held = [];
  }

  patches(): TusCall[] {
    return this.log.filter((c) => c.method === 'PATCH');
  }
}

describe('resumable uploads in the media bin (Chromium)', () => {
  let app: RunningApp;
  let browser: Browser;
  let sql: postgres.Sql;
  let work: string;
  let file: string;
  let bytes: Buffer;
  let n = 0;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-tus-browser-'));
    file = path.join(work, 'noisy.mp4');
    // High-bitrate noise (x264 cannot squeeze it): ~11 MB for 4 s, three 4 MiB chunks.
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30:duration=4', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=4', '-vf', 'noise=alls=30:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '18M', '-maxrate', '18M', '-bufsize', '36M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', file]);
    bytes = readFileSync(file);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
    sql = postgres(app.db.url, { max: 1, onnotice: () => {} });
  });

  afterAll(async () => {
    await sql?.end();
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** The files the server keeps for an upload (its data and .json) in DATA_DIR/tmp/tus. */
  const partials = (uploadPath: string) => {
    const dir = path.join(app.dataDir, 'tmp', 'tus');
    const id = uploadPath.split('/').pop()!;
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(id)) : [];
  };
  const assetsOf = async (projectId: string) => sql`select id, kind, bytes, sha256, duration_us from assets where project_id = ${projectId}`;

  /** A new user in the editor of a new project, with the gate on its tus requests. */
  async function editor(allowed: number): Promise<{ context: BrowserContext; page: Page; gate: PatchGate; projectId: string; cookie: () => Promise<string> }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const gate = new PatchGate(allowed);
    await gate.install(page);
    n++;
    await signUpWithProject(page, app.url, { name: `Uploader ${n}`, email: `tus-browser-${n}@example.com` }, `Uploads ${n}`);
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    const projectId = new URL(page.url()).pathname.split('/').pop()!;
    const cookie = async () => (await context.cookies(app.url)).map((c) => `${c.name}=${c.value}`).join('; ');
    return { context, page, gate, projectId, cookie };
  }

  /** The server's offset for an upload URL path (tus HEAD), or its status when it has none. */
  async function serverOffset(uploadPath: string, cookie: Promise<string>): Promise<number | string> {
    const res = await fetch(`${app.url}${uploadPath}`, { method: 'HEAD', headers: { cookie: await cookie, 'tus-resumable': '1.0.0' } });
    return res.status === 200 ? Number(res.headers.get('upload-offset')) : `status ${res.status}`;
  }

  /** Adds the file to the bin and waits until a PATCH is held; returns the upload's URL path. */
  async function uploadUntilHeld(page: Page, gate: PatchGate): Promise<string> {
    await uploadMedia(page, file);
    await expect.poll(() => gate.held.length).toBe(1);
    return gate.patches()[0]!.path;
  }

  const tusKeys = (page: Page) => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tus::')));

  it('the test file takes three chunks', () => {
    expect(statSync(file).size).toBeGreaterThan(2 * CHUNK_BYTES);
    expect(statSync(file).size).toBeLessThan(3 * CHUNK_BYTES);
    expect(CHUNK_BYTES).toBe(4 * 1024 * 1024);
  });

  it('cancel removes the row, deletes the partial upload and stores nothing', async () => {
    const { context, page, gate, projectId, cookie } = await editor(1);
    try {
      const uploadPath = await uploadUntilHeld(page, gate); // the second chunk waits
      expect(gate.patches().map((p) => p.offset)).toEqual([0, CHUNK_BYTES]);
      await expect.poll(() => serverOffset(uploadPath, cookie())).toBe(CHUNK_BYTES);
      const row = page.locator('[data-testid=upload-row]');
      await expect.poll(() => row.getAttribute('data-status')).toBe('uploading');
      await expect.poll(() => page.textContent('[data-testid=upload-progress]')).toBe(`${Math.round((CHUNK_BYTES / bytes.length) * 100)}% · 4.0 MB of ${(bytes.length / 1024 / 1024).toFixed(1)} MB`);
      await expect.poll(() => page.textContent('[data-testid=upload-state]')).toMatch(/B\/s$/);
      expect(await page.locator('progress[aria-label="Uploading noisy.mp4"]').getAttribute('value')).not.toBe('0');
      await screenshotBothSizes(page, 'upload-in-progress');
      expect(await tusKeys(page)).toHaveLength(1); // the URL is remembered for a resume

      await page.click('[data-testid=upload-cancel]');
      await expect.poll(() => row.count()).toBe(0);
      gate.forget();
      await expect.poll(() => gate.log.some((c) => c.method === 'DELETE' && c.path === uploadPath)).toBe(true);
      await expect.poll(() => serverOffset(uploadPath, cookie())).toBe('status 404');
      expect(partials(uploadPath)).toEqual([]);
      expect(await assetsOf(projectId)).toHaveLength(0);
      expect(await tusKeys(page)).toEqual([]);
      expect(await page.locator('[data-testid=asset]').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('after a reload, the same file resumes from the server offset instead of restarting', async () => {
    const { context, page, gate, projectId, cookie } = await editor(2);
    try {
      const uploadPath = await uploadUntilHeld(page, gate); // the third chunk waits
      await expect.poll(() => serverOffset(uploadPath, cookie())).toBe(2 * CHUNK_BYTES);
      expect(partials(uploadPath)).toEqual([expect.any(String), expect.any(String)]); // data + .json

      await page.reload();
      gate.forget();
      // The bin remembers the interrupted upload; the server still has its first two chunks.
      await expect.poll(() => page.textContent('[data-testid=upload-interrupted]')).toContain('noisy.mp4');
      expect(await serverOffset(uploadPath, cookie())).toBe(2 * CHUNK_BYTES);

      const before = gate.log.length;
      await uploadMedia(page, file);
      await expect.poll(() => gate.held.length).toBe(1);
      const again = gate.log.slice(before);
      // No new upload: the remembered URL's offset (HEAD), then the rest from there.
      expect(again.map((c) => `${c.method} ${c.path} ${c.offset ?? ''}`.trim())).toEqual([`HEAD ${uploadPath}`, `PATCH ${uploadPath} ${2 * CHUNK_BYTES}`]);
      await expect.poll(() => page.textContent('[data-testid=upload-state]')).toContain('resumed');
      expect(await page.locator('[data-testid=upload-interrupted]').count()).toBe(0);
      const pct = Number((await page.textContent('[data-testid=upload-progress]'))!.split('%')[0]);
      expect(pct).toBeGreaterThanOrEqual(Math.floor(((2 * CHUNK_BYTES) / bytes.length) * 100));

      gate.allow(Infinity);
      await page.waitForSelector('[data-testid=asset]');
      expect(await page.textContent('[data-testid=asset] .dur')).toBe('4.0s');
      const rows = await assetsOf(projectId);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.kind).toBe('video');
      expect(Number(rows[0]!.bytes)).toBe(bytes.length);
      expect(rows[0]!.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(gate.log.filter((c) => c.method === 'POST')).toHaveLength(1);
      expect(partials(uploadPath)).toEqual([]);
      expect(await tusKeys(page)).toEqual([]); // forgotten once finished
    } finally {
      await context.close();
    }
  });

  it('a chunk the server fails is retried by itself, shown as "retrying"', async () => {
    const { context, page, gate, projectId } = await editor(0);
    try {
      gate.failNext = 1;
      // The first chunk is answered 503; the retry asks the offset (HEAD) and its PATCH waits at the gate.
      const uploadPath = await uploadUntilHeld(page, gate);
      expect(gate.log.map((c) => `${c.method} ${c.offset ?? ''}`.trim())).toEqual(['POST', 'PATCH 0', 'HEAD', 'PATCH 0']);
      await expect.poll(() => page.textContent('[data-testid=upload-state]')).toBe('retrying');
      expect(await page.locator('[data-testid=upload-row]').getAttribute('data-waiting')).toBe('retrying');
      gate.allow(Infinity);
      await page.waitForSelector('[data-testid=asset]');
      expect(await assetsOf(projectId)).toHaveLength(1);
      expect(partials(uploadPath)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('offline mid-upload pauses the row; back online it completes by itself', async () => {
    const { context, page, gate, projectId, cookie } = await editor(1);
    try {
      const uploadPath = await uploadUntilHeld(page, gate); // the second chunk waits
      await expect.poll(() => serverOffset(uploadPath, cookie())).toBe(CHUNK_BYTES);

      await context.setOffline(true);
      const row = page.locator('[data-testid=upload-row]');
      await expect.poll(() => row.getAttribute('data-status')).toBe('paused');
      await expect.poll(() => page.textContent('[data-testid=upload-state]')).toBe('paused — offline');
      await screenshotBothSizes(page, 'upload-paused-offline');
      gate.forget(); // aborted by the page when it went offline
      gate.allow(Infinity);
      const before = gate.log.length;

      await context.setOffline(false);
      await page.waitForSelector('[data-testid=asset]');
      const after = gate.log.slice(before);
      expect(after[0]).toEqual({ method: 'HEAD', path: uploadPath, offset: null });
      expect(after.filter((c) => c.method === 'PATCH').map((c) => c.offset)).toEqual([CHUNK_BYTES, 2 * CHUNK_BYTES]);
      expect(after.some((c) => c.method === 'POST')).toBe(false);

      // Probed and usable: its duration in the bin, and it goes onto the timeline.
      expect(await page.textContent('[data-testid=asset] .dur')).toBe('4.0s');
      const rows = await assetsOf(projectId);
      expect(rows).toHaveLength(1);
      expect(Number(rows[0]!.duration_us)).toBeGreaterThan(3.9e6);
      expect(Number(rows[0]!.bytes)).toBe(bytes.length);
      await page.click('[data-testid=add-to-timeline]');
      await page.waitForSelector('[data-testid=clip-row]');
      expect(partials(uploadPath)).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
