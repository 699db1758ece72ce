/**
 * Speech engines behind one interface. A worker probes which engines it can run (binaries,
 * models, bindings) at start; only then does it consume the transcribe queues, so a job is only
 * ever taken by a worker that can do it (capability-based routing, docs/CAPTIONS.md).
 */
import type { TranscriptEngineId } from '@clipmaker/shared/captions';

export interface EngineWord {
  text: string;
  start: number;
  end: number;
  confidence: number;
}

export interface EngineRun {
  /** 16 kHz mono s16le WAV. */
  wavPath: string;
  durationMs: number;
  mode: 'recognise' | 'align';
  /** Known text (align mode). */
  script: string | null;
  language: string;
  signal?: AbortSignal;
  /** 0..1 of the audio processed. */
  onProgress?: (fraction: number) => void;
  workDir: string;
}

export interface SpeechEngine {
  readonly id: TranscriptEngineId;
  /** Shown in the UI: pocketsphinx recognition is a draft, aligned known text is not. */
  quality(mode: 'recognise' | 'align'): 'draft' | 'standard' | 'aligned';
  readonly languages: readonly string[];
  readonly modes: readonly ('recognise' | 'align')[];
  transcribe(run: EngineRun): Promise<EngineWord[]>;
}

export interface EngineProbe {
  id: TranscriptEngineId;
  available: boolean;
  /** Why not, for the admin and the logs. */
  reason: string | null;
  engine: SpeechEngine | null;
}

/** Picks the engine a job asked for, or the best this worker has ('auto': whisper, then pocketsphinx). */
export function chooseEngine(engines: readonly SpeechEngine[], wanted: TranscriptEngineId | 'auto', mode: 'recognise' | 'align', language: string): SpeechEngine | null {
  const ok = engines.filter((e) => e.modes.includes(mode) && e.languages.includes(language));
  if (wanted !== 'auto') return ok.find((e) => e.id === wanted) ?? null;
  return ok.find((e) => e.id === 'whisper') ?? ok.find((e) => e.id === 'pocketsphinx') ?? null;
}
