/**
 * One transcribe job, queue-agnostic: media from storage -> 16 kHz mono WAV (ffmpeg, restricted
 * input) -> speech engine -> Transcript JSON in storage -> TranscribeResult. worker.ts wires it to
 * the transcribe queues; tests and the bench call it directly.
 */
import { mkdtemp, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transcript, type TranscriptWord } from '@clipmaker/shared/captions';
import { TranscribeJobData, TranscribeResult, type TranscribeProgress } from '@clipmaker/shared/jobs';
import type { Logger } from 'pino';
import { PermanentError, RenderAbortedError } from '../errors.ts';
import { execTool, ffmpegBinary, probe } from '../ffmpeg/adapter.ts';
import { StorageNotFoundError, type Storage } from '../storage/index.ts';
import { chooseEngine, type SpeechEngine } from './engine.ts';

export interface TranscribeJobDeps {
  storage: Storage;
  engines: readonly SpeechEngine[];
  workerId: string;
  logger: Logger;
  workRoot?: string;
  signal?: AbortSignal;
  onProgress?: (progress: TranscribeProgress) => void;
}

export function parseTranscribeJobData(data: unknown): TranscribeJobData {
  const parsed = TranscribeJobData.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new PermanentError(`invalid transcribe job data: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}

/**
 * The decode command. The input is our own local copy of a storage object, opened as a file only
 * (-protocol_whitelist file: no http, concat, subfile or data references from inside a hostile
 * container) and, when ingest recorded one, with that demuxer forced.
 */
export function decodeArgs(input: string, output: string, o: { demuxer: string | null; range: { startMs: number; endMs: number } | null }): string[] {
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-protocol_whitelist', 'file'];
  if (o.demuxer) args.push('-f', o.demuxer);
  if (o.range) args.push('-ss', (o.range.startMs / 1000).toFixed(3), '-t', ((o.range.endMs - o.range.startMs) / 1000).toFixed(3));
  args.push('-i', input, '-map', '0:a:0', '-vn', '-sn', '-dn', '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', '-f', 'wav', '-y', output);
  return args;
}

export async function runTranscribeJob(rawData: unknown, deps: TranscribeJobDeps): Promise<TranscribeResult> {
  const started = performance.now();
  const data = parseTranscribeJobData(rawData);
  const log = deps.logger.child({ transcriptId: data.transcriptId });
  const engine = chooseEngine(deps.engines, data.engine, data.mode, data.language);
  if (!engine) throw new PermanentError(`no speech engine on this worker for ${data.engine} ${data.mode} in ${data.language} (engines: ${deps.engines.map((e) => e.id).join(', ') || 'none'})`);
  let lastPct = -1;
  const progress = (stage: TranscribeProgress['stage'], percent: number) => {
    const pct = Math.round(percent);
    if (stage !== 'recognising' && stage !== 'aligning') lastPct = -1;
    else if (pct === lastPct) return;
    else lastPct = pct;
    const elapsed = (performance.now() - started) / 1000;
    const eta = percent > 0 && percent < 100 ? (elapsed * (100 - percent)) / percent : null;
    deps.onProgress?.({ transcriptId: data.transcriptId, workerId: deps.workerId, stage, percent: pct, etaSeconds: eta });
  };

  progress('decoding', 0);
  let local;
  try {
    local = await deps.storage.localPath(data.mediaKey);
  } catch (err) {
    if (err instanceof StorageNotFoundError) throw new PermanentError(`media ${data.mediaKey} is missing from storage`);
    throw err;
  }
  const work = await mkdtemp(join(deps.workRoot ?? tmpdir(), `clipmaker-transcribe-${data.transcriptId}-`));
  try {
    const info = await probe(local.path, { signal: deps.signal }).catch((err: Error) => {
      if (err.name === 'AbortError') throw err;
      throw new PermanentError(`media ${data.mediaKey}: ${err.message}`);
    });
    if (info.kind === 'image' || (info.kind === 'video' && !info.hasAudio)) throw new PermanentError(`media ${data.mediaKey} has no audio track to transcribe`);
    const wav = join(work, 'speech.wav');
    const res = await execTool(ffmpegBinary(), decodeArgs(local.path, wav, { demuxer: data.demuxer, range: data.range }), { timeoutMs: 30 * 60_000, signal: deps.signal });
    if (res.code !== 0) throw new PermanentError(`could not decode the audio of ${data.mediaKey}: ${res.stderr.trim().split('\n').pop() ?? `ffmpeg exited with ${res.code}`}`);
    const wavBytes = (await stat(wav)).size;
    const durationMs = Math.round(Math.max(0, wavBytes - 44) / 32);
    const stage = data.mode === 'align' ? 'aligning' : 'recognising';
    progress(stage, 0);
    const words = await engine.transcribe({
      wavPath: wav,
      durationMs,
      mode: data.mode,
      script: data.script,
      language: data.language,
      signal: deps.signal,
      workDir: work,
      onProgress: (f) => progress(stage, Math.min(99, f * 100)),
    });
    if (deps.signal?.aborted) throw new RenderAbortedError();
    const offset = data.range?.startMs ?? 0;
    const transcript = Transcript.parse({
      version: 1,
      language: data.language,
      engine: engine.id,
      quality: engine.quality(data.mode),
      mode: data.mode,
      durationMs,
      words: words
        .filter((w) => w.text.trim() !== '')
        .map((w): TranscriptWord => ({ text: w.text.replace(/\s+/gu, ''), start: w.start + offset, end: Math.max(w.start, w.end) + offset, confidence: Math.min(1, Math.max(0, w.confidence)), speaker: null })),
    });
    progress('uploading', 100);
    const out = join(work, 'transcript.json');
    await writeFile(out, JSON.stringify(transcript));
    await deps.storage.put(data.outputKey, out, { contentType: 'application/json' });
    const wall = Math.round(performance.now() - started);
    const result = TranscribeResult.parse({
      transcriptId: data.transcriptId,
      transcriptKey: data.outputKey,
      engine: engine.id,
      quality: transcript.quality,
      wordCount: transcript.words.length,
      mediaDurationMs: durationMs,
      durationMs: wall,
      realTimeFactor: durationMs > 0 ? wall / durationMs : 0,
      workerId: deps.workerId,
    });
    progress('done', 100);
    log.info({ engine: engine.id, mode: data.mode, words: result.wordCount, rtf: result.realTimeFactor }, 'transcription done');
    return result;
  } finally {
    await local.release();
    await rm(work, { recursive: true, force: true });
  }
}
