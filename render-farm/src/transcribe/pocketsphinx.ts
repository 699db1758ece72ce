/**
 * CMU PocketSphinx (Debian's pocketsphinx + pocketsphinx-en-us, offline, BSD-2): the embedded
 * default engine, run as pocketsphinx_batch over the speech segments an energy VAD finds.
 * Recognise mode decodes with the en-us language model (draft quality); align mode decodes against
 * a linear JSGF grammar of the known words (near-exact timings on clean speech, per-word confidence
 * in noise). Figures: docs/BENCHMARKS.md. The audio file path is ours (the job folder), never user text; the grammar holds only
 * dictionary words, so no user text reaches the decoder either.
 */
import { spawn } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { LOW_CONFIDENCE, normaliseWord, scriptWords } from '@clipmaker/shared/captions';
import { PermanentError, RenderAbortedError } from '../errors.ts';
import type { EngineProbe, EngineRun, EngineWord, SpeechEngine } from './engine.ts';
import { energyLevels, FRAME_MS, frameEnergies, pool, speechSegments, wavData, type Segment } from './speech-segments.ts';

export const DEFAULT_POCKETSPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

export function pocketsphinxModelDir(): string {
  return process.env.POCKETSPHINX_MODEL_DIR || DEFAULT_POCKETSPHINX_MODEL_DIR;
}

interface Model {
  hmm: string;
  lm: string;
  dict: string;
}

function modelFiles(dir: string): Model {
  return { hmm: join(dir, 'en-us'), lm: join(dir, 'en-us.lm.bin'), dict: join(dir, 'cmudict-en-us.dict') };
}

export async function probePocketsphinx(): Promise<EngineProbe> {
  const dir = pocketsphinxModelDir();
  const m = modelFiles(dir);
  try {
    await access(m.hmm);
    await access(m.lm);
    await access(m.dict);
  } catch {
    return { id: 'pocketsphinx', available: false, reason: `pocketsphinx model not found in ${dir} (apt install pocketsphinx-en-us, or set POCKETSPHINX_MODEL_DIR)`, engine: null };
  }
  const ok = await new Promise<boolean>((resolve) => {
    const p = spawn('pocketsphinx_batch', ['-h'], { stdio: 'ignore' });
    p.on('error', () => resolve(false));
    p.on('close', () => resolve(true));
  });
  if (!ok) return { id: 'pocketsphinx', available: false, reason: 'pocketsphinx_batch not on PATH (apt install pocketsphinx)', engine: null };
  return { id: 'pocketsphinx', available: true, reason: null, engine: new PocketsphinxEngine(m) };
}

/**
 * Align scores each frame with the 16 best Gaussians of each codebook (`-topn`; the default 4 is a
 * speed shortcut for the LM search): in noise the 4-best approximation let the grammar slide words
 * into the wrong stretch (a sentence's first word into the pause before it, -1.4 s) and gave a p95
 * start error of 92 ms instead of 75 at 15 dB SNR. 32, 64 and 128 align the same as 16
 * (docs/BENCHMARKS.md); 16 costs ~1.4x the align CPU (still ~0.04 RTF).
 */
const ALIGN_SCORING = ['-topn', '16'];
const ALIGN_BEAMS: string[][] = [
  ['-beam', '1e-80', '-pbeam', '1e-80', '-wbeam', '1e-60'],
  ['-beam', '1e-120', '-pbeam', '1e-120', '-wbeam', '1e-100', '-maxhmmpf', '100000'],
];
/**
 * Recognise search limits: in noise the default (30 000 HMMs a frame) search grows ~4x for no
 * better words; these cap it at ~1.3x of clean speech with the same clean WER (docs/BENCHMARKS.md).
 */
const RECOGNISE_LIMITS = ['-maxhmmpf', '3000', '-maxwpf', '10'];
/**
 * pocketsphinx's own VAD (`-remove_silence`, on by default) drops the frames it calls silence and
 * then counts word times without them: every word after dropped padding came out early (recognise
 * median start error 25 ms instead of 10 on clean speech). Our segments are already speech.
 */
const KEEP_ALL_FRAMES = ['-remove_silence', 'no'];
/** Audio per pocketsphinx_batch run in recognise mode (one model load each; the unit of parallelism and progress). */
const CHUNK_FRAMES = 3000;
/**
 * Align rejects a script whose aligned words score worse than this per frame (hypseg acoustic
 * score, FSG search, this model): the right text scores about -11 on clean speech and -35 at 15 dB
 * SNR, unrelated text about -60 on clean speech (in noise it does not align at all).
 */
const ALIGN_MIN_WORD_SCORE_PER_FRAME = -48;
/** A word under this confidence is marked as a guess (docs/CAPTIONS.md); the editor flags the same words. */
export { LOW_CONFIDENCE };

/** Per-worker parallel decodes (TRANSCRIBE_CONCURRENCY; default: the cores). */
export function transcribeConcurrency(): number {
  const n = Number(process.env.TRANSCRIBE_CONCURRENCY);
  return Number.isInteger(n) && n > 0 ? n : Math.max(1, availableParallelism());
}

let dictCache: { path: string; words: Set<string> } | null = null;
async function dictionary(path: string): Promise<Set<string>> {
  if (dictCache?.path === path) return dictCache.words;
  const words = new Set<string>();
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const w = line.slice(0, line.indexOf(' ')).replace(/\(\d+\)$/, '');
    if (w) words.add(w);
  }
  dictCache = { path, words };
  return words;
}

/** <s> </s> <sil> [NOISE] ++fillers++ */
const isFiller = (w: string) => w.startsWith('<') || w.startsWith('[') || w.startsWith('++');

export interface HypsegWord {
  text: string;
  /** Frames (10 ms) from the utterance start; end exclusive. */
  start: number;
  end: number;
  ascr: number;
  filler: boolean;
}

/** One `-hypseg` line: "uttid S s T t A a L l {sf ascr lscr word}* ef"; null when the utterance failed. */
export function parseHypseg(line: string): { uttid: string; words: HypsegWord[] } | null {
  const p = line.trim().split(' ');
  if (p.length < 14 || p[1] !== 'S') return null;
  const items: HypsegWord[] = [];
  for (let i = 9; i + 3 < p.length; i += 4) {
    const text = p[i + 3]!.replace(/\(\d+\)$/, '');
    items.push({ text, start: Number(p[i]), end: 0, ascr: Number(p[i + 1]), filler: isFiller(text) });
  }
  const ef = Number(p.at(-1));
  items.forEach((w, k) => (w.end = k + 1 < items.length ? items[k + 1]!.start : ef + 1));
  return { uttid: p[0]!, words: items };
}

/** One `-ctm` line: "uttid 1 start duration word confidence" (seconds from the utterance start). */
export function parseCtmLine(line: string): { uttid: string; word: EngineWord } | null {
  const p = line.trim().split(/\s+/);
  if (p.length < 6) return null;
  const text = p[4]!.replace(/\(\d+\)$/, '');
  if (isFiller(text)) return null;
  const start = Math.round(Number(p[2]) * 1000);
  return { uttid: p[0]!, word: { text, start, end: start + Math.round(Number(p[3]) * 1000), confidence: Math.min(1, Math.max(0, Number(p[5]))) } };
}

class PocketsphinxEngine implements SpeechEngine {
  readonly id = 'pocketsphinx' as const;
  readonly languages = ['en', 'en-us'] as const;
  readonly modes = ['recognise', 'align'] as const;
  constructor(private readonly model: Model) {}

  quality(mode: 'recognise' | 'align') {
    return mode === 'align' ? ('aligned' as const) : ('draft' as const);
  }

  async transcribe(run: EngineRun): Promise<EngineWord[]> {
    if (!run.wavPath.endsWith('.wav')) throw new Error(`pocketsphinx reads a .wav file, got ${run.wavPath}`);
    const { offset } = await wavData(run.wavPath);
    // pocketsphinx_batch, not _continuous: it normalises cepstra over each utterance (batch CMN).
    // _continuous's live CMN lags behind steady noise and loses the speech under it entirely
    // (15 dB SNR: no word recognised or aligned); batch CMN aligns the same audio.
    const args = ['-hmm', this.model.hmm, '-dict', this.model.dict, '-adcin', 'yes', '-cepdir', dirname(run.wavPath), '-cepext', '.wav', '-adchdr', String(offset), '-logfn', '/dev/null'];
    const energies = await frameEnergies(run.wavPath);
    const segments = speechSegments(energies);
    if (run.mode === 'recognise') return this.recognise(args, segments, run);
    return this.align(args, segments, energies, run);
  }

  /**
   * Each speech segment (energy VAD, split at pauses) is an utterance; segments are grouped into
   * chunks of about 30 s decoded in parallel (TRANSCRIBE_CONCURRENCY processes), in file order.
   */
  private async recognise(args: string[], segments: Segment[], run: EngineRun): Promise<EngineWord[]> {
    const chunks: Segment[][] = [];
    for (const s of segments) {
      const last = chunks.at(-1);
      if (last && last.reduce((a, x) => a + x.end - x.start, 0) + s.end - s.start <= CHUNK_FRAMES) last.push(s);
      else chunks.push([s]);
    }
    const total = segments.reduce((a, s) => a + s.end - s.start, 0);
    let done = 0;
    const name = basename(run.wavPath, '.wav');
    const results = await pool(
      chunks.map((chunk, c) => async () => {
        const ctl = join(run.workDir, `recognise-${c}.ctl`);
        const ctm = join(run.workDir, `recognise-${c}.ctm`);
        await writeFile(ctl, chunk.map((s, i) => `${name} ${s.start} ${s.end - 1} u${i}\n`).join(''));
        await this.batch([...args, '-lm', this.model.lm, ...RECOGNISE_LIMITS, ...KEEP_ALL_FRAMES, '-ctl', ctl, '-ctm', ctm], run);
        const words: EngineWord[] = [];
        for (const line of (await readFile(ctm, 'utf8')).split('\n')) {
          const w = parseCtmLine(line);
          if (!w) continue;
          const seg = chunk[Number(w.uttid.slice(1))];
          if (!seg) continue;
          const off = seg.start * FRAME_MS;
          words.push({ ...w.word, start: w.word.start + off, end: w.word.end + off });
        }
        done += chunk.reduce((a, s) => a + s.end - s.start, 0);
        if (total > 0) run.onProgress?.(done / total);
        return words;
      }),
      transcribeConcurrency(),
    );
    return results.flat().sort((a, b) => a.start - b.start);
  }

  /**
   * Known text: the dictionary words become a linear grammar decoded over the whole file as one
   * utterance, so silences between sentences are <sil> and the word order is fixed. Words the
   * dictionary lacks (names, numbers as digits) get times interpolated between their aligned
   * neighbours; the caller keeps the script's spelling and punctuation. A script that aligns but
   * scores like unrelated text is refused; each word's confidence says how well it fits the audio.
   * Word starts are then refined against the frame energies (`refineStarts`).
   */
  private async align(args: string[], segments: Segment[], energies: Float64Array, run: EngineRun): Promise<EngineWord[]> {
    const script = scriptWords(run.script ?? '');
    if (script.length === 0) throw new PermanentError('align mode needs the known text (script) and it has no words');
    const dict = await dictionary(this.model.dict);
    const norm = script.map((w) => normaliseWord(w));
    const known = norm.map((w) => dict.has(w));
    const grammarWords = norm.filter((_, i) => known[i]);
    if (grammarWords.length === 0) throw new PermanentError('none of the script words are in the pocketsphinx dictionary: cannot align');
    const gram = join(run.workDir, 'script.gram');
    // Dictionary words are [a-z0-9'.-] only: nothing here can break out of the grammar syntax.
    await writeFile(gram, `#JSGF V1.0;\ngrammar script;\npublic <script> = ${grammarWords.join(' ')};\n`);
    const ctl = join(run.workDir, 'align.ctl');
    const hypseg = join(run.workDir, 'align.hypseg');
    await writeFile(ctl, `${basename(run.wavPath, '.wav')}\n`);
    // Noisy audio can prune the grammar's last state away with the default beams: retry wider.
    let aligned: HypsegWord[] = [];
    for (const beams of ALIGN_BEAMS) {
      await this.batch([...args, '-jsgf', gram, ...KEEP_ALL_FRAMES, ...ALIGN_SCORING, ...beams, '-ctl', ctl, '-hypseg', hypseg], run);
      aligned = (await readFile(hypseg, 'utf8')).split('\n').flatMap((l) => parseHypseg(l)?.words ?? []).filter((w) => !w.filler);
      if (aligned.length === grammarWords.length) break;
    }
    if (aligned.length !== grammarWords.length)
      throw new PermanentError(`pocketsphinx could not align the script to the audio (${aligned.length} of ${grammarWords.length} words matched); check that the text is what is spoken`);
    const frames = aligned.reduce((a, w) => a + w.end - w.start, 0);
    const perFrame = aligned.reduce((a, w) => a + w.ascr, 0) / Math.max(1, frames);
    if (perFrame < ALIGN_MIN_WORD_SCORE_PER_FRAME)
      throw new PermanentError(`the script does not match the audio (acoustic score ${perFrame.toFixed(1)} per frame, below ${ALIGN_MIN_WORD_SCORE_PER_FRAME}); check that the text is what is spoken`);
    run.onProgress?.(1);
    // Confidence is the decoder's fit of its own segmentation, before the starts are refined.
    const confidences = wordConfidences(aligned, segments);
    const starts = refineStarts(aligned, energies);
    const out: EngineWord[] = [];
    let k = 0;
    for (let i = 0; i < script.length; i++) {
      if (known[i]) {
        const w = aligned[k]!;
        out.push({ text: script[i]!, start: starts[k]! * FRAME_MS, end: w.end * FRAME_MS, confidence: confidences[k++]! });
      } else out.push({ text: script[i]!, start: -1, end: -1, confidence: 0 });
    }
    // Interpolate unknown words inside the gap between their aligned neighbours.
    for (let i = 0; i < out.length; i++) {
      if (out[i]!.start >= 0) continue;
      let j = i;
      while (j < out.length && out[j]!.start < 0) j++;
      const from = i > 0 ? out[i - 1]!.end : 0;
      const to = j < out.length ? out[j]!.start : run.durationMs;
      const step = Math.max(0, to - from) / (j - i);
      for (let q = i; q < j; q++) Object.assign(out[q]!, { start: Math.round(from + step * (q - i)), end: Math.round(from + step * (q - i + 1)) });
      i = j - 1;
    }
    return out;
  }

  private batch(args: string[], run: EngineRun): Promise<void> {
    return new Promise((resolve, reject) => {
      if (run.signal?.aborted) return reject(new RenderAbortedError());
      const p = spawn('pocketsphinx_batch', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      const onAbort = () => p.kill('SIGKILL');
      run.signal?.addEventListener('abort', onAbort, { once: true });
      p.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      p.on('error', (err) => reject(new Error(`cannot run pocketsphinx_batch: ${err.message}`)));
      p.on('close', (code) => {
        run.signal?.removeEventListener('abort', onAbort);
        if (run.signal?.aborted) return reject(new RenderAbortedError());
        if (code !== 0) return reject(new Error(`pocketsphinx_batch exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`));
        resolve();
      });
    });
  }
}

/**
 * How well each aligned word fits: its acoustic score per frame against the file's median word
 * (1 = at least as good; a word scoring twice as badly gets 0.5), halved when most of the word lies
 * outside the detected speech (the grammar forced it into a pause or into noise), and low for a
 * word squeezed under 30 ms. Below LOW_CONFIDENCE a word's timing is a guess.
 */
export function wordConfidences(words: readonly HypsegWord[], segments: readonly Segment[]): number[] {
  const per = words.map((w) => w.ascr / Math.max(1, w.end - w.start));
  const sorted = [...per].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return words.map((w, i) => {
    let c = per[i]! >= median || per[i]! >= 0 ? 1 : median / per[i]!;
    const inSpeech = segments.reduce((a, s) => a + Math.max(0, Math.min(s.end, w.end) - Math.max(s.start, w.start)), 0);
    if (inSpeech * 2 < w.end - w.start) c *= 0.5;
    if (w.end - w.start < 3) c *= 0.5;
    return Math.round(Math.min(1, Math.max(0, c)) * 1000) / 1000;
  });
}

/**
 * Starts are refined only when the file's speech stands this far above its noise floor (95th vs
 * 10th percentile frame energy): in noise (15 dB SNR speech has ~19 dB) a "speech-level" run before
 * a word is as often the noise's own fluctuation (pink or babble noise at 10-15 dB SNR: p95 worse
 * by up to 25 ms) as the word's onset.
 */
const REFINE_MIN_CONTRAST_DB = 30;
/** Frames of a speech-level onset must be within this of the word's loudest frame (not a faint breath or hum). */
const ONSET_WITHIN_DB = 20;

/**
 * Word starts (frames) refined against the frame energies (dB): where the aligner put silence
 * between two words but the frames just before a word's start are speech-level (above the VAD
 * threshold and within ONSET_WITHIN_DB of the word's loudest frame) back to a quieter frame after
 * the previous word, those frames are the word's own onset that the silence model took (a nasal,
 * a vowel, a burst in noise): the start moves back to where that energy rises. Only on that clear
 * evidence: a run of at least 2 frames, separated from the previous word by a quiet frame (so it
 * is not the previous word's tail); otherwise the aligner's start stays. Starts only move earlier,
 * never before the previous word's end; and only in files whose speech stands REFINE_MIN_CONTRAST_DB
 * over their noise floor (otherwise the aligner's starts are returned).
 */
export function refineStarts(words: readonly HypsegWord[], db: Float64Array): number[] {
  const levels = energyLevels(db);
  if (!levels || levels.peak - levels.floor < REFINE_MIN_CONTRAST_DB) return words.map((w) => w.start);
  const threshold = levels.threshold;
  return words.map((w, i) => {
    const prevEnd = i > 0 ? words[i - 1]!.end : 0;
    if (w.start - prevEnd < 2 || w.start >= db.length) return w.start;
    let peak = -Infinity;
    for (let f = w.start; f < Math.min(db.length, Math.max(w.end, w.start + 1)); f++) peak = Math.max(peak, db[f]!);
    const level = Math.max(threshold, peak - ONSET_WITHIN_DB);
    let f = w.start;
    while (f - 1 >= prevEnd && db[f - 1]! > level) f--;
    return w.start - f >= 2 && f > prevEnd ? f : w.start;
  });
}
