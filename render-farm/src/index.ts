/** Public surface of the render farm (the worker process and the CLI are built from these). */
export { startWorker, PRIORITIES, NOT_STARTED_MESSAGE, type RenderWorker, type WorkerOptions } from './worker.ts';
export { runRenderJob, parseJobData, loadSpecJson, outputKeys, type RenderJobDeps } from './render-job.ts';
export { renderSpecToFile, parseRenderSpec, referencedSources, bundledFontsDir, type RenderSpecOptions, type RenderOutcome, type RenderStageProgress } from './render.ts';
export { makePoster, posterTimeSeconds, POSTER_MAX_WIDTH, THUMB_WIDTH, type PosterFiles } from './poster.ts';
export { probeCapabilities, chooseTarget, type Capabilities, type EncoderCapability, type RenderTarget, type TargetChoice, type VideoCodec } from './capabilities.ts';
export { run as runFfmpeg, probe as probeMedia, execTool, ffmpegBinary, ffprobeBinary, FfmpegError, MediaProbeError, FILTER_SCRIPT_THRESHOLD_BYTES, type RunOptions, type RunResult, type FfmpegProgress, type MediaInfo } from './ffmpeg/adapter.ts';
export { LocalDiskStorage, defaultStorageDir, keyToPath, assertStorageKey, StorageKeyError, StorageNotFoundError, S3Storage, S3Error, s3OptionsFromEnv, type S3Options, type Storage, type StorageStat, type LocalFile } from './storage/index.ts';
export { PermanentError, isPermanentError, RenderAbortedError } from './errors.ts';
export { workerKey } from './heartbeat.ts';
export { createLogger } from './logger.ts';
