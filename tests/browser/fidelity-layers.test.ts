/**
 * WYSIWYG for the layered timeline: one spec using every feature — B-roll on the bottom track
 * with a dissolve between a 0.5x and a 2x clip, a picture-in-picture above it, animated text with
 * an outline, a shadow and a box, a rotating, half-transparent logo, music ducked under the PiP's
 * sound — drawn three ways at 10 frames: the PixiJS preview, ffmpeg.wasm in the page (the same
 * builder, wasm target) and the farm's render code (`pnpm render`). Pairwise SSIM (ffmpeg's ssim
 * filter, "All:") >= 0.97 at every frame, and the frame numbers the sources carry decode to exactly
 * the source frame the spec's rule says, in the main picture and in the PiP, in all three.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';
import { customSizeProject, ssim, watchPage, within } from '../support/fidelity.ts';
import { FRAME_BANDS_VF, readFrameIndexIn } from '../../render-farm/test/support/media.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const W = 360;
const H = 640;
const FRAMES = [5, 14, 30, 44, 52, 66, 78, 88, 100, 112];


/** A picture file (PNG) as 8-bit gray pixels at W x H. */
function gray(file: string): Uint8Array {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return new Uint8Array(r.stdout);
}


/** The rule: B-roll 0-44 plays 0.., 45-84 plays 100.. at 0.5x, 85-114 plays 200.. at 2x; the PiP plays 150.. from frame 10. */
function expectedMain(f: number): number | null {
  if (f >= 40 && f < 50) return null; // mid-dissolve: two pictures
  if (f < 45) return f;
  if (f < 85) return 100 + Math.floor((f - 45) / 2);
  return 200 + 2 * (f - 85);
}
const MAIN = { x: 0, y: 0, w: 96, h: H };
/** The PiP: 0.4 of the frame (144 x 256) centred at 70 % / 25 %. */
const PIP = { x: 180, y: 32, w: 144, h: 256 };


type Editor = { op(name: string, ...args: unknown[]): unknown; timeline(): { assets: { id: string; name: string }[]; tracks: { id: string; kind: string }[] } };

async function op(page: Page, name: string, ...args: unknown[]): Promise<unknown> {
  return page.evaluate(([n, a]) => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.op(n as string, ...(a as unknown[])), [name, args] as const);
}

describe('layered preview fidelity: PixiJS vs ffmpeg.wasm vs farm', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-fidelity-layers-'));
    // Frame N shows N in binary: 12 horizontal bands (band 0 = top = bit 0). A 440 Hz tone.
    ffmpeg([
      '-f', 'lavfi', '-i', 'color=c=black:s=16x12:r=30:d=10', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=10',
      '-vf', `${FRAME_BANDS_VF},scale=640:360:flags=neighbor,setsar=1,format=yuv420p`,
      '-frames:v', '300', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-g', '10', '-c:a', 'aac', '-shortest', path.join(work, 'index.mp4'),
    ]);
    ffmpeg(['-f', 'lavfi', '-i', 'color=c=0x20A0FF:s=256x256,format=rgba,drawbox=x=32:y=32:w=192:h=192:color=0xFFCC00@1:t=fill', '-frames:v', '1', path.join(work, 'logo.png')]);
    ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000:duration=6', '-c:a', 'aac', path.join(work, 'music.m4a')]);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (!process.env.CM_KEEP_FIDELITY) rmSync(work, { recursive: true, force: true });
    else console.log(`fidelity frames kept in ${work}`);
  });

  it('draws the same 10 frames in all three (SSIM >= 0.97) and shows the source frames the spec says', { timeout: 280_000 }, async () => {
    const page = await browser.newPage();
    const { pageErrors, failure } = watchPage(page);
    try {
      await customSizeProject(page, app.url, { name: 'Lay Ers', email: 'layers@example.com' }, 'Layers', W, H);
      for (const f of ['index.mp4', 'logo.png', 'music.m4a']) {
        const n = await page.locator('[data-testid=asset]').count();
        await uploadMedia(page, path.join(work, f));
        await expect.poll(() => page.locator('[data-testid=asset]').count(), { timeout: 30_000 }).toBe(n + 1);
      }
      const assets = await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.timeline()!.assets);
      const id = (name: string) => assets.find((a) => a.name === name)!.id;
      const [idx, logo, song] = [id('index.mp4'), id('logo.png'), id('music.m4a')];

      // Two more video tracks (text, logo) on top of the default V1 (B-roll) and V2 (PiP).
      const v3 = (await op(page, 'addTrack', { kind: 'video', name: 'Text' })) as string;
      const v4 = (await op(page, 'addTrack', { kind: 'video', name: 'Logo' })) as string;
      const b1 = await op(page, 'addClip', { assetId: idx, trackId: 'v1', start: 0, sourceIn: 0, sourceOut: 45 });
      const b2 = (await op(page, 'addClip', { assetId: idx, trackId: 'v1', start: 45, sourceIn: 100, sourceOut: 120 })) as string;
      await op(page, 'setClipSpeed', b2, 0.5);
      await op(page, 'setTransition', b2, { kind: 'dissolve', direction: 'left', duration: 10 });
      const b3 = (await op(page, 'addClip', { assetId: idx, trackId: 'v1', start: 85, sourceIn: 200, sourceOut: 260 })) as string;
      await op(page, 'setClipSpeed', b3, 2);
      const pip = (await op(page, 'addClip', { assetId: idx, trackId: 'v2', start: 10, sourceIn: 150, sourceOut: 210 })) as string;
      await op(page, 'setTransform', pip, { x: 0.7, y: 0.25, scaleX: 0.4, scaleY: 0.4 }, 0);
      const text = (await op(page, 'addTextClip', { trackId: v3, start: 0, duration: 115, text: 'Layers everywhere', style: { fontFamily: 'Inter', fontSize: 34, bold: true, color: '#FFFFFF', strokeColor: '#000000', strokeWidth: 2, shadowDepth: 2, shadowColor: '#00000099', boxColor: '#C0304080', boxPadding: 6, align: 'center', verticalAlign: 'middle' }, box: { width: 0.45, height: 0.2 } })) as string;
      await op(page, 'setTransform', text, { x: 0.72, y: 0.7 }, 0);
      await op(page, 'setClipAnimation', text, { in: { kind: 'pop', duration: 12, direction: 'left' }, out: { kind: 'slide', duration: 12, direction: 'right' } });
      const lg = (await op(page, 'addImageClip', { assetId: logo, trackId: v4, start: 0, duration: 115 })) as string;
      await op(page, 'setTransformKeyframe', lg, { frame: 0, easing: 'linear', x: 0.8, y: 0.9, scaleX: 0.2, scaleY: 0.2, rotation: 0, opacity: 0.9, anchorX: 0.5, anchorY: 0.5 });
      await op(page, 'setTransformKeyframe', lg, { frame: 114, easing: 'linear', x: 0.8, y: 0.9, scaleX: 0.2, scaleY: 0.2, rotation: 90, opacity: 0.9, anchorX: 0.5, anchorY: 0.5 });
      await op(page, 'addClip', { assetId: song, trackId: 'a1', start: 0 });
      await op(page, 'setTrackDucking', 'a1', { mode: 'sidechain', keyTrackIds: ['v2'], amountDb: 12, attackMs: 20, releaseMs: 300 });
      expect(b1).toBeTruthy();
      expect(await page.locator('[data-testid=track-row]').count()).toBe(6);
      expect(await page.locator('[data-testid=transition]').count()).toBe(1);

      const spec = await page.evaluate(() => (window as never as { __clipmakerEditor: { spec(): unknown } }).__clipmakerEditor.spec());
      const specPath = path.join(work, 'spec.json');
      writeFileSync(specPath, JSON.stringify(spec));
      // The farm: the CLI renders the spec with the worker's code.
      const farmMp4 = path.join(work, 'farm.mp4');
      const r = spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), ['render-farm/src/cli.ts', specPath, farmMp4, '--media-root', path.join(app.dataDir, 'storage'), '--target', 'cpu'], { cwd: ROOT, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`pnpm render failed: ${r.stderr.slice(-2000)}`);
      // ffmpeg.wasm: the whole timeline in the page.
      const wasmB64 = await within(200_000, 'ffmpeg.wasm render', page.evaluate(() => (window as never as { __clipmakerEditor: { renderRangeBase64(s: number, e: number): Promise<string> } }).__clipmakerEditor.renderRangeBase64(0, 115)));
      const wasmMp4 = path.join(work, 'wasm.mp4');
      writeFileSync(wasmMp4, Buffer.from(wasmB64, 'base64'));

      await page.waitForFunction(() => (window as never as { __clipmakerPreview?: { ready(): boolean } }).__clipmakerPreview?.ready());
      const results: Record<string, unknown>[] = [];
      for (const f of FRAMES) {
        await page.evaluate((n) => (window as never as { __clipmakerPreview: { drawFrame(f: number): Promise<void> } }).__clipmakerPreview.drawFrame(n), f);
        await page.waitForFunction(() => (window as never as { __clipmakerPreview: { imagesLoading(): number } }).__clipmakerPreview.imagesLoading() === 0);
        const png = await within(30_000, `PixiJS frame ${f}`, page.evaluate(async (n) => {
          const p = (window as never as { __clipmakerPreview: { drawFrame(f: number, full: boolean): Promise<void>; png(): string } }).__clipmakerPreview;
          await p.drawFrame(n, true);
          return p.png();
        }, f));
        const pixi = path.join(work, `pixi-${f}.png`);
        writeFileSync(pixi, Buffer.from(png.replace(/^data:image\/png;base64,/, ''), 'base64'));
        const farm = path.join(work, `farm-${f}.png`);
        const wasm = path.join(work, `wasm-${f}.png`);
        ffmpeg(['-i', farmMp4, '-vf', `select=eq(n\\,${f})`, '-frames:v', '1', farm]);
        ffmpeg(['-i', wasmMp4, '-vf', `select=eq(n\\,${f})`, '-frames:v', '1', wasm]);
        const scores = { frame: f, pixiVsFarm: ssim(pixi, farm), wasmVsFarm: ssim(wasm, farm), pixiVsWasm: ssim(pixi, wasm) };
        const decoded = Object.fromEntries(['pixi', 'wasm', 'farm'].map((k) => {
          const px = gray(path.join(work, `${k}-${f}.png`));
          return [k, { main: readFrameIndexIn(px, W, MAIN), pip: f >= 10 && f < 70 ? readFrameIndexIn(px, W, PIP) : null }];
        }));
        results.push({ ...scores, decoded });
      }
      console.log('layered fidelity', JSON.stringify(results));
      console.log('preview videos', JSON.stringify(await page.evaluate(() => (window as never as { __clipmakerPreview: { videos(): unknown } }).__clipmakerPreview.videos())));
      for (const res of results) {
        const f = res.frame as number;
        expect(res.wasmVsFarm, `frame ${f} wasm vs farm`).toBeGreaterThanOrEqual(0.97);
        expect(res.pixiVsFarm, `frame ${f} pixi vs farm`).toBeGreaterThanOrEqual(0.97);
        expect(res.pixiVsWasm, `frame ${f} pixi vs wasm`).toBeGreaterThanOrEqual(0.97);
        const want = expectedMain(f);
        for (const k of ['pixi', 'wasm', 'farm']) {
          const d = (res.decoded as Record<string, { main: number; pip: number | null }>)[k]!;
          if (want !== null) expect(d.main, `frame ${f} main picture (${k})`).toBe(want);
          if (d.pip !== null) expect(d.pip, `frame ${f} PiP (${k})`).toBe(150 + f - 10);
        }
      }
      expect(readFileSync(specPath, 'utf8')).not.toContain('"overlays"');
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await page.screenshot({ path: path.join(tmpdir(), 'cm-fidelity-layers-failure.png'), fullPage: true }).catch(() => {});
      throw failure(err, app.logs());
    } finally {
      await page.close();
    }
  });
});
