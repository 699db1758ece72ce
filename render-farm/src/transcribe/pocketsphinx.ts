/**
 * CMU PocketSphinx (Debian's pocketsphinx + pocketsphinx-en-us, offline, BSD-2): the embedded
 * default engine. Recognise mode decodes with the en-us language model (draft quality, ~0.3 RTF);
 * align mode decodes against a linear JSGF grammar of the known words (near-exact timings, ~0.02
 * RTF). The audio file path is ours (the job folder), never user text; the grammar holds only
 * dictionary words, so no user text reaches the decoder either.
 */
import { spawn } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { normaliseWord, scriptWords } from '@clipmaker/shared/captions';
import { PermanentError, RenderAbortedError } from '../errors.ts';
import type { EngineProbe, EngineRun, EngineWord, SpeechEngine } from './engine.ts';

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
    const p = spawn('pocketsphinx_continuous', ['-h'], { stdio: 'ignore' });
    p.on('error', () => resolve(false));
    p.on('close', () => resolve(true));
  });
  if (!ok) return { id: 'pocketsphinx', available: false, reason: 'pocketsphinx_continuous not on PATH (apt install pocketsphinx)', engine: null };
  return { id: 'pocketsphinx', available: true, reason: null, engine: new PocketsphinxEngine(m) };
}

const ALIGN_BEAMS: string[][] = [
  ['-beam', '1e-80', '-pbeam', '1e-80', '-wbeam', '1e-60'],
  ['-beam', '1e-120', '-pbeam', '1e-120', '-wbeam', '1e-100', '-maxhmmpf', '100000'],
];

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

/** Output lines of `-time yes`: "word start end confidence" (seconds). */
export function parseTimedLine(line: string): EngineWord | null {
  const m = /^(\S+) (\d+\.\d+) (\d+\.\d+) (-?\d+(?:\.\d+)?(?:e-?\d+)?)$/.exec(line.trim());
  if (!m) return null;
  const text = m[1]!.replace(/\(\d+\)$/, '');
  if (text.startsWith('<') || text.startsWith('[') || text.startsWith('++')) return null; // <s> </s> <sil> [NOISE] ++fillers++
  return { text, start: Math.round(Number(m[2]) * 1000), end: Math.round(Number(m[3]) * 1000), confidence: Math.min(1, Math.max(0, Number(m[4]))) };
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
    const args = ['-infile', run.wavPath, '-hmm', this.model.hmm, '-dict', this.model.dict, '-time', 'yes', '-logfn', '/dev/null'];
    if (run.mode === 'recognise') return this.decode([...args, '-lm', this.model.lm], run);
    return this.align(args, run);
  }

  /**
   * Known text: the dictionary words become a linear grammar decoded over the whole file as one
   * utterance (VAD off), so silences between sentences are <sil> and the word order is fixed.
   * Words the dictionary lacks (names, numbers as digits) get times interpolated between their
   * aligned neighbours; the caller keeps the script's spelling and punctuation.
   */
  private async align(args: string[], run: EngineRun): Promise<EngineWord[]> {
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
    // Noisy audio can prune the grammar's last state away with the default beams: retry wider.
    let aligned: EngineWord[] = [];
    for (const beams of ALIGN_BEAMS) {
      aligned = await this.decode([...args, '-jsgf', gram, '-remove_silence', 'no', ...beams], run);
      if (aligned.length === grammarWords.length) break;
    }
    if (aligned.length !== grammarWords.length)
      throw new PermanentError(`pocketsphinx could not align the script to the audio (${aligned.length} of ${grammarWords.length} words matched); check that the text is what is spoken`);
    const out: EngineWord[] = [];
    let k = 0;
    for (let i = 0; i < script.length; i++) {
      if (known[i]) out.push({ ...aligned[k++]!, text: script[i]! });
      else out.push({ text: script[i]!, start: -1, end: -1, confidence: 0 });
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

  private decode(args: string[], run: EngineRun): Promise<EngineWord[]> {
    return new Promise((resolve, reject) => {
      if (run.signal?.aborted) return reject(new RenderAbortedError());
      const p = spawn('pocketsphinx_continuous', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const words: EngineWord[] = [];
      let buf = '';
      let stderr = '';
      const onAbort = () => p.kill('SIGKILL');
      run.signal?.addEventListener('abort', onAbort, { once: true });
      p.stdout.setEncoding('utf8');
      p.stdout.on('data', (chunk: string) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const w = parseTimedLine(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (w) {
            words.push(w);
            if (run.durationMs > 0) run.onProgress?.(Math.min(1, w.end / run.durationMs));
          }
        }
      });
      p.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      p.on('error', (err) => reject(new Error(`cannot run pocketsphinx_continuous: ${err.message}`)));
      p.on('close', (code) => {
        run.signal?.removeEventListener('abort', onAbort);
        if (run.signal?.aborted) return reject(new RenderAbortedError());
        if (code !== 0) return reject(new Error(`pocketsphinx_continuous exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`));
        words.sort((a, b) => a.start - b.start);
        resolve(words);
      });
    });
  }
}
