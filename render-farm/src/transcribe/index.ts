export { chooseEngine, type SpeechEngine, type EngineProbe, type EngineWord } from './engine.ts';
export { probePocketsphinx, parseHypseg, parseCtmLine, wordConfidences, refineStarts, transcribeConcurrency, LOW_CONFIDENCE, pocketsphinxModelDir, DEFAULT_POCKETSPHINX_MODEL_DIR } from './pocketsphinx.ts';
export { speechSegments, speechThreshold, energyLevels, frameEnergies, wavData } from './speech-segments.ts';
export { probeWhisper, checkWhisperModel, WHISPER_BINDING } from './whisper.ts';
export { runTranscribeJob, parseTranscribeJobData, decodeArgs } from './transcribe-job.ts';

import { probePocketsphinx } from './pocketsphinx.ts';
import { probeWhisper } from './whisper.ts';
import type { EngineProbe } from './engine.ts';

/** Every engine this worker could run, with the reason for those it cannot. */
export async function probeEngines(opts: { gpu: boolean }): Promise<EngineProbe[]> {
  return Promise.all([probeWhisper({ gpu: opts.gpu }), probePocketsphinx()]);
}
