/**
 * WYSIWYG for word-timed captions (issue 16, docs/CAPTIONS.md): the same word-styled captions drawn
 * three ways — the PixiJS preview, ffmpeg.wasm in the page (the same ASS script and builder, wasm
 * target) and the farm's render code (`pnpm render`) — at frames in the middle of a word, on the
 * last frame of a word, on the first frame of the next word (the word change) and during its pop-in.
 * Pairwise SSIM (ffmpeg's ssim filter, "All:") >= 0.97 at every one of those frames, for two styles:
 * highlight colour + scale + pop-in (upper-case), and highlight colour + box behind the word. Each
 * frame also has to show the RIGHT word lit: the highlight (or box) colour lies on the word the
 * timing rule names (a word starting at t ms is active from the frame nearest t), found from the
 * drawn picture itself (the caption line split into words at the gaps between them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { transcriptToCues } from '../../shared/captions/index.ts';
import type { WordStyle } from '../../shared/render-spec/schema.ts';
import { launchChromium, uploadMedia } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';
import { customSizeProject, ssim, watchPage, within } from '../support/fidelity.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const W = 360;
const H = 640;
const FPS = { num: 30, den: 1 };
const FRAMES_TOTAL = 150;
const FONT_SIZE = 40;

/** Word times in ms (pauses under 300 ms inside a cue, so three words share a caption). */
const WORDS = [
  { text: 'Say', start: 110, end: 420 },
  { text: 'it', start: 455, end: 700 },
  { text: 'loud', start: 890, end: 1380 },
  { text: 'on', start: 1750, end: 1960 },
  { text: 'the', start: 2010, end: 2240 },
  { text: 'dot', start: 2290, end: 2780 },
  // Too wide for one line at this size: libass wraps it (WrapStyle 0), and so must the preview.
  { text: 'Wonderful', start: 3300, end: 3800 },
  { text: 'shiny', start: 3850, end: 4200 },
  { text: 'fireworks', start: 4250, end: 4800 },
];

/** The timing rule, independent of the builder: a word is active from the frame nearest its start until the next word starts. */
function activeWordAt(frame: number): number {
  let k = -1;
  WORDS.forEach((w, i) => {
    if (Math.round((w.start * FPS.num) / (FPS.den * 1000)) <= frame) k = i;
  });
  return k;
}
const startFrame = (i: number) => Math.round((WORDS[i]!.start * FPS.num) / (FPS.den * 1000));
const midFrame = (i: number) => Math.floor((startFrame(i) + Math.round((WORDS[i]!.end * FPS.num) / (FPS.den * 1000))) / 2);

/** Mid-word, the last frame of a word, the word change, one frame into the change (pop), again in the second caption. */
const FRAMES = [...new Set([midFrame(0), startFrame(1) - 1, startFrame(1), startFrame(1) + 1, midFrame(1), startFrame(2) - 1, startFrame(2), midFrame(2), startFrame(3), startFrame(4), startFrame(4) + 2, midFrame(5), midFrame(6), startFrame(7), startFrame(8) + 1])].sort((a, b) => a - b);

const STYLES: Record<string, { style: WordStyle; mark: string }> = {
  // The highlight colour marks the active word.
  pop: { style: { mode: 'highlight', activeColor: '#FFD400', activeScale: 125, activeBoxColor: null, popMs: 120, uppercase: true }, mark: '#FFD400' },
  // The box colour marks it (the word itself is drawn in another colour on top).
  box: { style: { mode: 'highlight', activeColor: '#00E5FF', activeScale: 110, activeBoxColor: '#7C3AED', popMs: 0, uppercase: false }, mark: '#7C3AED' },
};

interface Rgb {
  px: Uint8Array;
  w: number;
  h: number;
}

function rgb(file: string): Rgb {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 26 });
  if (r.status !== 0 || r.stdout.length !== W * H * 3) throw new Error(`could not read ${file}: ${r.stderr}`);
  return { px: new Uint8Array(r.stdout), w: W, h: H };
}

const near = (p: Uint8Array, i: number, hex: string, tol: number) => [1, 3, 5].every((o, c) => Math.abs(p[i + c]! - parseInt(hex.slice(o, o + 2), 16)) < tol);
const bright = (p: Uint8Array, i: number) => 0.299 * p[i]! + 0.587 * p[i + 1]! + 0.114 * p[i + 2]! > 150;

/**
 * The words of the (one-line) caption as column ranges: columns holding text fill (bright, or the
 * active colour) in the lower half, split where the gap between them is wider than any letter gap
 * (a space is ~16 px at this size; letters of a word scaled to 125 % stand up to ~9 px apart).
 */
function wordColumns(f: Rgb, activeColor: string): [number, number][] {
  const ink = new Array<boolean>(f.w).fill(false);
  for (let y = Math.floor(f.h / 2); y < f.h; y++)
    for (let x = 0; x < f.w; x++) {
      const i = (y * f.w + x) * 3;
      if (bright(f.px, i) || near(f.px, i, activeColor, 60)) ink[x] = true;
    }
  const runs: [number, number][] = [];
  let gap = Infinity;
  for (let x = 0; x < f.w; x++) {
    if (!ink[x]) {
      gap++;
      continue;
    }
    if (gap > 11 || runs.length === 0) runs.push([x, x]);
    else runs.at(-1)![1] = x;
    gap = 0;
  }
  return runs;
}

/** Pixels of the mark colour in the lower half: how many, and how many inside [x0, x1]. */
function marked(f: Rgb, hex: string, x0: number, x1: number): { count: number; inside: number; meanX: number } {
  let count = 0;
  let inside = 0;
  let sx = 0;
  for (let y = Math.floor(f.h / 2); y < f.h; y++)
    for (let x = 0; x < f.w; x++) {
      if (!near(f.px, (y * f.w + x) * 3, hex, 40)) continue;
      count++;
      sx += x;
      if (x >= x0 && x <= x1) inside++;
    }
  return { count, inside, meanX: count ? sx / count : -1 };
}

type Editor = { op(name: string, ...args: unknown[]): unknown; spec(): unknown; renderRangeBase64(s: number, e: number): Promise<string> };

async function op(page: Page, name: string, ...args: unknown[]): Promise<unknown> {
  return page.evaluate(([n, a]) => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.op(n as string, ...(a as unknown[])), [name, args] as const);
}

describe('word-styled caption fidelity: PixiJS vs ffmpeg.wasm vs farm', () => {
  let app: RunningApp;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-fidelity-captions-'));
    // A plain dark picture: nothing bright, yellow or purple in it but the captions.
    ffmpeg(['-f', 'lavfi', '-i', `color=c=0x203040:s=${W}x${H}:r=30:d=5`, '-frames:v', String(FRAMES_TOTAL), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '10', path.join(work, 'talk.mp4')]);
    [app, browser] = await Promise.all([startApp(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (!process.env.CM_KEEP_FIDELITY) rmSync(work, { recursive: true, force: true });
    else console.log(`fidelity frames kept in ${work}`);
  });

  it('draws the same frames mid-word and at word changes (SSIM >= 0.97) with the right word lit', { timeout: 420_000 }, async () => {
    const page = await browser.newPage();
    const { pageErrors, failure } = watchPage(page);
    try {
      await customSizeProject(page, app.url, { name: 'Word Fidelity', email: 'wordfi@example.com' }, 'Word captions', W, H);
      await uploadMedia(page, path.join(work, 'talk.mp4'));
      await page.waitForSelector('[data-testid=add-to-timeline]');
      await page.click('[data-testid=add-to-timeline]');
      await page.waitForSelector('[data-testid=timeline-clip]');

      // The words become cues with the same builder the Auto-captions button uses.
      const cues = transcriptToCues(WORDS.map((w) => ({ ...w })), { fps: FPS, rules: 'three-words', mediaEndMs: 5000 });
      expect(cues.map((c) => c.text)).toEqual(['Say it loud', 'on the dot', 'Wonderful shiny fireworks']);
      await op(page, 'setCaptionCues', cues);
      await op(page, 'setSubtitleStyle', { fontSize: FONT_SIZE, marginV: 140 });

      const results: Record<string, unknown>[] = [];
      for (const [tag, { style, mark }] of Object.entries(STYLES)) {
        await op(page, 'setWordStyle', style);
        const spec = (await page.evaluate(() => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.spec())) as { subtitles: { wordStyle: unknown; cues: { words?: unknown[] }[] } };
        expect(spec.subtitles.wordStyle).toEqual(style);
        expect(spec.subtitles.cues.every((c) => c.words?.length === 3)).toBe(true);
        const specPath = path.join(work, `spec-${tag}.json`);
        writeFileSync(specPath, JSON.stringify(spec));
        // The farm: the CLI renders the spec with the worker's code.
        const farmMp4 = path.join(work, `farm-${tag}.mp4`);
        const r = spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), ['render-farm/src/cli.ts', specPath, farmMp4, '--media-root', path.join(app.dataDir, 'storage'), '--target', 'cpu'], { cwd: ROOT, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`pnpm render failed: ${r.stderr.slice(-2000)}`);
        // ffmpeg.wasm: the timeline in the page.
        const wasmB64 = await within(300_000, 'ffmpeg.wasm render', page.evaluate((n) => (window as never as { __clipmakerEditor: Editor }).__clipmakerEditor.renderRangeBase64(0, n), FRAMES_TOTAL));
        const wasmMp4 = path.join(work, `wasm-${tag}.mp4`);
        writeFileSync(wasmMp4, Buffer.from(wasmB64, 'base64'));

        await page.waitForFunction(() => (window as never as { __clipmakerPreview?: { ready(): boolean } }).__clipmakerPreview?.ready());
        for (const f of FRAMES) {
          const png = await within(30_000, `PixiJS frame ${f}`, page.evaluate(async (n) => {
            const p = (window as never as { __clipmakerPreview: { drawFrame(f: number, full: boolean): Promise<void>; png(): string } }).__clipmakerPreview;
            await p.drawFrame(n, true);
            return p.png();
          }, f));
          const files = { pixi: path.join(work, `${tag}-pixi-${f}.png`), wasm: path.join(work, `${tag}-wasm-${f}.png`), farm: path.join(work, `${tag}-farm-${f}.png`) };
          writeFileSync(files.pixi, Buffer.from(png.replace(/^data:image\/png;base64,/, ''), 'base64'));
          ffmpeg(['-i', farmMp4, '-vf', `select=eq(n\\,${f})`, '-frames:v', '1', files.farm]);
          ffmpeg(['-i', wasmMp4, '-vf', `select=eq(n\\,${f})`, '-frames:v', '1', files.wasm]);
          const want = activeWordAt(f);
          const inCue = want % 3;
          const lit = Object.fromEntries(
            (['pixi', 'wasm', 'farm'] as const).map((k) => {
              const pic = rgb(files[k]);
              const cols = wordColumns(pic, style.activeColor);
              const [x0, x1] = cols[inCue] ?? [-1, -1];
              // The box grows the word by its outline; the text colour stays on the word.
              const pad = style.activeBoxColor ? Math.max(8, Math.round(FONT_SIZE * 0.18)) + 3 : 2;
              return [k, { words: cols.length, word: [x0, x1], ...marked(pic, mark, x0 - pad, x1 + pad) }];
            }),
          );
          results.push({ style: tag, frame: f, activeWord: want, pixiVsFarm: ssim(files.pixi, files.farm), wasmVsFarm: ssim(files.wasm, files.farm), pixiVsWasm: ssim(files.pixi, files.wasm), lit });
        }
      }
      console.log('word caption fidelity', JSON.stringify(results));
      for (const res of results) {
        const at = `${res.style} frame ${res.frame}`;
        expect(res.wasmVsFarm, `${at} wasm vs farm`).toBeGreaterThanOrEqual(0.97);
        expect(res.pixiVsFarm, `${at} pixi vs farm`).toBeGreaterThanOrEqual(0.97);
        expect(res.pixiVsWasm, `${at} pixi vs wasm`).toBeGreaterThanOrEqual(0.97);
        // The wrapped caption (two lines) is compared by SSIM only; the lit word is checked on one-line captions.
        if ((res.activeWord as number) >= 6) continue;
        for (const [k, l] of Object.entries(res.lit as Record<string, { words: number; count: number; inside: number; meanX: number; word: [number, number] }>)) {
          // Three words on the line; the mark colour sits on the active one, not its neighbours.
          expect(l.words, `${at} ${k}: words on the caption line`).toBe(3);
          expect(l.count, `${at} ${k}: highlighted pixels`).toBeGreaterThan(40);
          expect(l.inside / l.count, `${at} ${k}: highlight on word ${res.activeWord as number}`).toBeGreaterThanOrEqual(0.95);
          expect(l.meanX, `${at} ${k}: highlight centre`).toBeGreaterThan(l.word[0]);
          expect(l.meanX, `${at} ${k}: highlight centre`).toBeLessThan(l.word[1]);
        }
      }
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await page.screenshot({ path: path.join(tmpdir(), 'cm-fidelity-captions-failure.png'), fullPage: true }).catch(() => {});
      throw failure(err, app.logs());
    } finally {
      await page.close();
    }
  });
});
