/**
 * Auto-captions end to end on the farm: flite speech in an MP4 -> align job -> word-timed cues ->
 * karaoke render through libass -> decoded frames show the active word in the highlight colour
 * exactly from its first frame, moving word by word, and nothing highlighted before a cue's first word.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Transcript, transcriptToCues, captionAt, WORD_STYLE_PRESETS } from '@clipmaker/shared/captions';
import { RenderSpec, type WordStyle } from '@clipmaker/shared/render-spec';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { renderSpecToFile } from '../../src/render.ts';
import { probePocketsphinx, runTranscribeJob } from '../../src/transcribe/index.ts';
import { ffmpeg, tempDir } from '../support/media.ts';
import { frameIndexSpec } from '../support/spec.ts';
import { SENTENCES, speakScript, type TruthWord } from '../support/speech.ts';

const W = 640;
const H = 360;
const FPS = 30;
const log = pino({ level: 'silent' });
let dir: string;
let storage: LocalDiskStorage;
let truth: TruthWord[];
let frames: number;

beforeAll(async () => {
  dir = await tempDir('captions-render');
  storage = new LocalDiskStorage(join(dir, 'storage'));
  await mkdir(join(dir, 'storage', 'media'), { recursive: true });
  const speech = await speakScript(SENTENCES.slice(0, 2), dir, 'speech', { gapMs: 500 });
  truth = speech.words;
  frames = Math.floor((speech.durationMs / 1000) * FPS);
  await ffmpeg(['-f', 'lavfi', '-i', `color=c=black:s=${W}x${H}:r=${FPS}`, '-i', speech.wav, '-frames:v', String(frames), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-c:a', 'aac', '-ar', '48000', join(dir, 'storage', 'media', 'talk.mp4')]);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function yellowBox(rgb: Buffer, f: number): { n: number; cx: number } {
  let n = 0;
  let sx = 0;
  const base = f * W * H * 3;
  for (let i = 0; i < W * H; i++) {
    const r = rgb[base + i * 3]!;
    const g = rgb[base + i * 3 + 1]!;
    const b = rgb[base + i * 3 + 2]!;
    if (r > 200 && g > 200 && b < 80) {
      n++;
      sx += i % W;
    }
  }
  return { n, cx: n ? sx / n : -1 };
}

describe('word-highlight captions rendered by the farm', () => {
  it('the active word is highlighted at the right frames', async () => {
    await runTranscribeJob(
      { transcriptId: randomUUID(), mediaKey: 'media/talk.mp4', mode: 'align', script: SENTENCES.slice(0, 2).join('. '), outputKey: 'transcripts/t.json' },
      { storage, engines: [(await probePocketsphinx()).engine!], workerId: 't', logger: log },
    );
    const t = Transcript.parse(JSON.parse(await readFile(join(dir, 'storage', 'transcripts', 't.json'), 'utf8')));
    const cues = transcriptToCues(t.words, { fps: { num: FPS, den: 1 }, rules: 'three-words', mediaEndMs: (frames / FPS) * 1000 });
    const style: WordStyle = { ...WORD_STYLE_PRESETS.karaoke, activeColor: '#FFFF00' };
    const spec = frameIndexSpec({ key: 'media/talk.mp4', sourceFrames: frames, width: W, height: H, hasAudio: true, clips: [{ sourceIn: 0, sourceOut: frames }] });
    spec.subtitles.cues = cues.filter((c) => c.end <= frames);
    spec.subtitles.wordStyle = style;
    spec.subtitles.style = { ...spec.subtitles.style, fontSize: 40 };
    const out = join(dir, 'out.mp4');
    await renderSpecToFile(RenderSpec.parse(spec), { storage, outPath: out, target: 'cpu', videoEncoder: 'libx264', workDir: dir, logger: log });
    const rgb = await ffmpeg(['-i', out, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
    const decoded = rgb.length / (W * H * 3);
    expect(decoded).toBe(frames);

    let checkedChanges = 0;
    for (const cue of spec.subtitles.cues) {
      const ws = cue.words!;
      let prevCx = -1;
      for (let k = 0; k < ws.length; k++) {
        // Middle of the word: highlighted, and to the right of the previous word's highlight.
        const mid = Math.floor((ws[k]!.start + Math.min(ws[k]!.end, ws[k + 1]?.start ?? cue.end)) / 2);
        expect(captionAt(cue, style, mid)!.words[k]!.state).toBe('active');
        const box = yellowBox(rgb, mid);
        expect(box.n, `frame ${mid}: word ${k} of "${cue.text}" highlighted`).toBeGreaterThan(30);
        expect(box.cx).toBeGreaterThan(prevCx);
        prevCx = box.cx;
        if (k > 0 && ws[k]!.start - 1 >= cue.start && ws[k]!.start < cue.end) {
          // Word change: the highlight jumps exactly at the word's first frame.
          const before = yellowBox(rgb, ws[k]!.start - 1);
          const at = yellowBox(rgb, ws[k]!.start);
          expect(at.cx, `frame ${ws[k]!.start}`).toBeGreaterThan(before.cx + 5);
          checkedChanges++;
        }
      }
    }
    expect(checkedChanges).toBeGreaterThan(5);
    // The truth: the highlighted word is the one being spoken (within 100 ms of flite's word start).
    for (let i = 0; i < t.words.length; i++) expect(Math.abs(t.words[i]!.start - truth[i]!.start)).toBeLessThan(100);
  }, 120_000);
});
