/**
 * whisper.cpp through a maintained Node binding (@fugood/whisper.node: prebuilt linux-x64 CPU and
 * CUDA variants). No package ships a model: the operator points WHISPER_MODEL at a ggml file
 * (e.g. ggml-base.en.bin). The binding is an optional dependency of the worker, loaded only when a
 * model is configured; this machine's CI has neither, so the probe's clear reasons are what runs.
 */
import { open, stat } from 'node:fs/promises';
import type { EngineProbe, EngineRun, EngineWord, SpeechEngine } from './engine.ts';

export const WHISPER_BINDING = '@fugood/whisper.node';

/** ggml / gguf model files start with one of these magics (little-endian "ggml", "ggjt", "GGUF"). */
const MAGICS = ['lmgg', 'tjgg', 'GGUF'];

/** Validates the operator's model file: present, a regular file of plausible size, a ggml magic. */
export async function checkWhisperModel(path: string): Promise<string | null> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return `WHISPER_MODEL ${path} does not exist`;
  }
  if (!st.isFile()) return `WHISPER_MODEL ${path} is not a file`;
  if (st.size < 1024 * 1024) return `WHISPER_MODEL ${path} is ${st.size} bytes: not a whisper.cpp ggml model (the smallest, tiny, is ~75 MB)`;
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    if (!MAGICS.includes(head.toString('latin1'))) return `WHISPER_MODEL ${path} is not a ggml model (bad magic ${JSON.stringify(head.toString('latin1'))})`;
  } finally {
    await fh.close();
  }
  return null;
}

interface WhisperBinding {
  initWhisper(opts: { filePath: string; useGpu?: boolean }, variant?: string): Promise<{
    transcribeFile(path: string, opts: Record<string, unknown>): { stop(): Promise<void>; promise: Promise<{ segments?: { text: string; t0: number; t1: number }[] }> };
    release(): Promise<void>;
  }>;
}

export async function probeWhisper(opts: { gpu: boolean; importer?: (name: string) => Promise<unknown> } = { gpu: false }): Promise<EngineProbe> {
  const model = process.env.WHISPER_MODEL;
  if (!model) return { id: 'whisper', available: false, reason: 'WHISPER_MODEL is not set (operator-provided ggml model)', engine: null };
  const bad = await checkWhisperModel(model);
  if (bad) return { id: 'whisper', available: false, reason: bad, engine: null };
  let binding: WhisperBinding;
  try {
    binding = (await (opts.importer ?? ((n) => import(n)))(WHISPER_BINDING)) as WhisperBinding;
  } catch (err) {
    return { id: 'whisper', available: false, reason: `whisper binding ${WHISPER_BINDING} is not installed on this worker (${(err as Error).message.split('\n')[0]})`, engine: null };
  }
  return { id: 'whisper', available: true, reason: null, engine: new WhisperEngine(binding, model, opts.gpu) };
}

class WhisperEngine implements SpeechEngine {
  readonly id = 'whisper' as const;
  readonly languages = ['en', 'en-us'] as const;
  readonly modes = ['recognise'] as const;
  constructor(
    private readonly binding: WhisperBinding,
    private readonly model: string,
    private readonly gpu: boolean,
  ) {}

  quality() {
    return 'standard' as const;
  }

  async transcribe(run: EngineRun): Promise<EngineWord[]> {
    const ctx = await this.binding.initWhisper({ filePath: this.model, useGpu: this.gpu }, this.gpu ? 'cuda' : 'default');
    try {
      // One token per segment (max_len 1 + split_on_word) gives word-level times in centiseconds.
      const job = ctx.transcribeFile(run.wavPath, { language: run.language.slice(0, 2), maxLen: 1, tokenTimestamps: true, onProgress: (p: number) => run.onProgress?.(p / 100) });
      run.signal?.addEventListener('abort', () => void job.stop(), { once: true });
      const res = await job.promise;
      const words: EngineWord[] = [];
      for (const s of res.segments ?? []) {
        const text = s.text.trim();
        if (text) words.push({ text, start: s.t0 * 10, end: s.t1 * 10, confidence: 1 });
      }
      return words;
    } finally {
      await ctx.release();
    }
  }
}
