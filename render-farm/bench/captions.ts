/**
 * `pnpm bench:captions`: transcription quality and speed of the default engine on a speech set it
 * generates (12 known sentences spoken by flite, word times from flite's phone segmentation; the
 * same sentences word by word in espeak-ng's voice), clean and with noise at 15 dB SNR. Prints JSON: WER, word start error median/p95 (recognise and align),
 * real-time factor (wall / audio, this machine's cores). docs/BENCHMARKS.md records a run.
 */
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Transcript, wordErrorRate } from '@clipmaker/shared/captions';
import { LocalDiskStorage } from '../src/storage/index.ts';
import { LOW_CONFIDENCE, probePocketsphinx, runTranscribeJob, transcribeConcurrency } from '../src/transcribe/index.ts';
import { matchedStartErrors, SENTENCES, speakScript, speakScriptEspeak } from '../test/support/speech.ts';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : null;
};

const dir = await mkdtemp(join(tmpdir(), 'clipmaker-bench-captions-'));
try {
  const storage = new LocalDiskStorage(join(dir, 'storage'));
  await mkdir(join(dir, 'storage', 'media'), { recursive: true });
  const engine = (await probePocketsphinx()).engine;
  if (!engine) throw new Error('pocketsphinx is not installed (apt install pocketsphinx pocketsphinx-en-us)');
  const log = pino({ level: 'silent' });
  const results: Record<string, unknown> = {};
  const sets = [
    ['clean', null, speakScript],
    ['noisy15db', 15, speakScript],
    ['espeak_clean', null, speakScriptEspeak],
    ['espeak_noisy15db', 15, speakScriptEspeak],
  ] as const;
  for (const [name, snrDb, speak] of sets) {
    const speech = await speak(SENTENCES, dir, name, { gapMs: 600, snrDb });
    await copyFile(speech.wav, join(dir, 'storage', 'media', `${name}.wav`));
    const run = async (mode: 'recognise' | 'align') => {
      const key = `transcripts/${name}-${mode}.json`;
      const res = await runTranscribeJob({ transcriptId: randomUUID(), mediaKey: `media/${name}.wav`, mode, script: mode === 'align' ? speech.text : null, outputKey: key }, { storage, engines: [engine], workerId: 'bench', logger: log });
      const t = Transcript.parse(JSON.parse(await readFile(join(dir, 'storage', key), 'utf8')));
      const errs = mode === 'align' ? t.words.map((w, i) => Math.abs(w.start - speech.words[i]!.start)) : matchedStartErrors(t.words, speech.words);
      return {
        wer: Number(wordErrorRate(speech.words.map((w) => w.text), t.words.map((w) => w.text)).toFixed(3)),
        wordsMatched: errs.length,
        wordStartErrorMs: { median: pct(errs, 0.5), p95: pct(errs, 0.95) },
        realTimeFactor: Number(res.realTimeFactor.toFixed(3)),
        ...(mode === 'align' ? { lowConfidenceWords: t.words.filter((w) => w.confidence < LOW_CONFIDENCE).length } : {}),
      };
    };
    const attempt = (mode: 'recognise' | 'align') => run(mode).catch((err: Error) => ({ error: err.message }));
    results[name] = { audioSeconds: speech.durationMs / 1000, words: speech.words.length, recognise: await attempt('recognise'), align: await attempt('align') };
  }
  console.log(JSON.stringify({ bench: 'captions', engine: 'pocketsphinx', sentences: SENTENCES.length, cores: cpus().length, concurrency: transcribeConcurrency(), loadAverage: loadavg().map((x) => Number(x.toFixed(1))), targets: { alignP95Ms: 80, defaultEngineRtf: 0.5 }, ...results }, null, 2));
} finally {
  await rm(dir, { recursive: true, force: true });
}
