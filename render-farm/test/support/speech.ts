/**
 * Synthesised speech with known words and known word times, for transcription tests and the
 * captions bench. flite (slt voice) speaks each sentence; `-psdur` gives every phone's end time and
 * speaking each word alone gives its phones, so each word's [start, end] in the sentence is known
 * to the phone (flite's own segmentation: the truth, not an estimate). Sentences are joined with
 * known silences; optional pink-ish noise at a given SNR.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { normaliseWord } from '@clipmaker/shared/captions';

const exec = promisify(execFile);

export interface TruthWord {
  text: string;
  start: number;
  end: number;
}

export const SENTENCES = [
  'the quick brown fox jumps over the lazy dog',
  'we will meet at the station tomorrow morning',
  'please send the final report before friday',
  'the weather is cold and windy today',
  'she bought three apples and a loaf of bread',
  'our team finished the project ahead of schedule',
  'turn left at the next corner and keep going',
  'the children played in the park after school',
  'he reads the newspaper every single day',
  'this video shows how to cook a simple meal',
  'the museum opens at nine in the morning',
  'my phone battery is almost empty again',
] as const;

async function phones(text: string, out: string): Promise<{ phone: string; end: number }[]> {
  const { stdout } = await exec('flite', ['-voice', 'slt', '-psdur', '-t', text, '-o', out]);
  return stdout
    .trim()
    .split(/\s+/)
    .map((p) => {
      const i = p.lastIndexOf(':');
      return { phone: p.slice(0, i), end: Math.round(Number(p.slice(i + 1)) * 1000) };
    });
}

/** One sentence -> 16 kHz mono WAV + word truth (ms from the file start). */
export async function speakSentence(text: string, dir: string, name: string): Promise<{ wav: string; words: TruthWord[]; durationMs: number }> {
  const raw = join(dir, `${name}.raw.wav`);
  const segs = await phones(text, raw);
  const words = text.split(' ');
  const per: number[] = [];
  for (const w of words) per.push((await phones(w, join(dir, `${name}.w.wav`))).filter((p) => p.phone !== 'pau').length);
  const speech = segs.map((s, i) => ({ ...s, start: i === 0 ? 0 : segs[i - 1]!.end })).filter((s) => s.phone !== 'pau');
  if (per.reduce((a, b) => a + b, 0) !== speech.length) throw new Error(`flite phones of "${text}" do not split into its words`);
  const truth: TruthWord[] = [];
  let k = 0;
  for (let i = 0; i < words.length; i++) {
    truth.push({ text: words[i]!, start: speech[k]!.start, end: speech[k + per[i]! - 1]!.end });
    k += per[i]!;
  }
  const wav = join(dir, `${name}.wav`);
  await exec('ffmpeg', ['-v', 'error', '-y', '-i', raw, '-ar', '16000', '-ac', '1', wav]);
  return { wav, words: truth, durationMs: segs.at(-1)!.end };
}

/**
 * Several sentences joined by `gapMs` of silence, optionally with noise at `snrDb`, written as
 * `<name>.wav` (16 kHz mono) — or any container via `outputArgs` (e.g. an MP4 with a video track).
 */
export async function speakScript(sentences: readonly string[], dir: string, name: string, opts: { gapMs?: number; leadMs?: number; snrDb?: number | null } = {}): Promise<{ wav: string; words: TruthWord[]; durationMs: number; text: string }> {
  const gap = opts.gapMs ?? 600;
  const lead = opts.leadMs ?? 300;
  const words: TruthWord[] = [];
  const pcm: Buffer[] = [Buffer.alloc(Math.round(lead * 16) * 2)];
  let t = lead;
  for (const [i, s] of sentences.entries()) {
    const one = await speakSentence(s, dir, `${name}-${i}`);
    const { stdout } = await exec('ffmpeg', ['-v', 'error', '-i', one.wav, '-f', 's16le', '-ar', '16000', '-ac', '1', '-'], { encoding: 'buffer', maxBuffer: 1 << 28 });
    for (const w of one.words) words.push({ text: w.text, start: w.start + t, end: w.end + t });
    pcm.push(stdout as Buffer, Buffer.alloc(Math.round(gap * 16) * 2));
    t += stdout.length / 32 + gap;
  }
  return writeSpeech(Buffer.concat(pcm), words, sentences, dir, name, opts.snrDb);
}

/**
 * A second, different voice (espeak-ng, male en-us): each word is spoken alone, its leading and
 * trailing silence trimmed (sox), and the words joined with `wordGapMs` (sentences with `gapMs`),
 * so every word's [start, end] is known exactly. Less fluent than flite's sentences (no
 * coarticulation across words), but a different synthesiser, so nothing is tuned to one voice.
 */
export async function speakScriptEspeak(sentences: readonly string[], dir: string, name: string, opts: { gapMs?: number; wordGapMs?: number; leadMs?: number; snrDb?: number | null } = {}): Promise<{ wav: string; words: TruthWord[]; durationMs: number; text: string }> {
  const gap = opts.gapMs ?? 600;
  const wordGap = opts.wordGapMs ?? 60;
  const words: TruthWord[] = [];
  const pcm: Buffer[] = [Buffer.alloc(Math.round((opts.leadMs ?? 300) * 16) * 2)];
  let t = opts.leadMs ?? 300;
  const cache = new Map<string, Buffer>();
  for (const s of sentences) {
    for (const w of s.split(' ')) {
      let one = cache.get(w);
      if (!one) {
        const raw = join(dir, `${name}-espeak.wav`);
        const trimmed = join(dir, `${name}-espeak-t.wav`);
        await exec('espeak-ng', ['-v', 'en-us', '-s', '170', '-w', raw, w]);
        await exec('sox', [raw, '-r', '16000', '-c', '1', '-b', '16', trimmed, 'silence', '1', '0.005', '0.3%', 'reverse', 'silence', '1', '0.005', '0.3%', 'reverse']);
        const { stdout } = await exec('ffmpeg', ['-v', 'error', '-i', trimmed, '-f', 's16le', '-ar', '16000', '-ac', '1', '-'], { encoding: 'buffer', maxBuffer: 1 << 26 });
        one = stdout as Buffer;
        cache.set(w, one);
      }
      words.push({ text: w, start: Math.round(t), end: Math.round(t + one.length / 32) });
      pcm.push(one, Buffer.alloc(wordGap * 32));
      t += one.length / 32 + wordGap;
    }
    pcm.push(Buffer.alloc((gap - wordGap) * 32));
    t += gap - wordGap;
  }
  return writeSpeech(Buffer.concat(pcm), words, sentences, dir, name, opts.snrDb);
}

/** Joined PCM (+ noise at `snrDb`) -> `<name>.wav` and the script of the sentences. */
async function writeSpeech(all: Buffer, words: TruthWord[], sentences: readonly string[], dir: string, name: string, snrDb: number | null | undefined) {
  if (snrDb != null) addNoise(all, snrDb);
  const rawPath = join(dir, `${name}.s16`);
  await writeFile(rawPath, all);
  const wav = join(dir, `${name}.wav`);
  await exec('ffmpeg', ['-v', 'error', '-y', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i', rawPath, wav]);
  return { wav, words, durationMs: Math.round(all.length / 32), text: sentences.join('. ') + '.' };
}

/** Adds deterministic noise so that speech power / noise power = snrDb (over the non-silent samples). */
function addNoise(pcm: Buffer, snrDb: number): void {
  const n = pcm.length / 2;
  let power = 0;
  let active = 0;
  for (let i = 0; i < n; i++) {
    const v = pcm.readInt16LE(i * 2);
    if (Math.abs(v) > 300) {
      power += v * v;
      active++;
    }
  }
  const sigma = Math.sqrt(power / Math.max(1, active) / 10 ** (snrDb / 10));
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    // Box-Muller, lightly low-passed (speech-band-ish noise).
    const g = Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    prev = 0.6 * prev + 0.8 * g;
    const v = pcm.readInt16LE(i * 2) + prev * sigma;
    pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v))), i * 2);
  }
}


/** Start errors (ms) of hypothesis words matched in order to the truth by text (greedy, within 1 s). */
export function matchedStartErrors(hyp: readonly { text: string; start: number }[], ref: readonly TruthWord[]): number[] {
  const errs: number[] = [];
  let j = 0;
  for (const r of ref) {
    for (let k = j; k < hyp.length && hyp[k]!.start < r.start + 1000; k++) {
      if (normaliseWord(hyp[k]!.text) === normaliseWord(r.text) && Math.abs(hyp[k]!.start - r.start) < 1000) {
        errs.push(Math.abs(hyp[k]!.start - r.start));
        j = k + 1;
        break;
      }
    }
  }
  return errs;
}
