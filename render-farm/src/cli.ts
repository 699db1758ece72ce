/**
 * `pnpm render <spec.json> <out.mp4> [--media-root DIR] [--target auto|cpu|cuda]`
 *
 * Renders a RenderSpec file with the worker's own render code, for admins and benchmarks. Source
 * keys resolve under --media-root (default: the spec file's folder) through LocalDiskStorage, with
 * the same key checks as the farm. Progress goes to stderr, a JSON summary to stdout.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PERMANENT_ERROR_PREFIX } from '@clipmaker/shared/jobs';
import { chooseTarget, probeCapabilities, type RenderTarget } from './capabilities.ts';
import { errorMessage } from './errors.ts';
import { createLogger } from './logger.ts';
import { renderSpecToFile, type RenderStageProgress } from './render.ts';
import { LocalDiskStorage } from './storage/index.ts';

const USAGE = 'usage: pnpm render <spec.json> <out.mp4> [--media-root DIR] [--target auto|cpu|cuda]';

class UsageError extends Error {}

function parseCli(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'media-root': { type: 'string' },
        target: { type: 'string', default: 'auto' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  if (parsed.values.help) return null;
  const [specPath, outPath, ...extra] = parsed.positionals;
  if (!specPath || !outPath || extra.length > 0) throw new UsageError('expected exactly two arguments: the spec file and the output file');
  const target = parsed.values.target;
  if (target !== 'auto' && target !== 'cpu' && target !== 'cuda') throw new UsageError(`--target must be auto, cpu or cuda (got ${target})`);
  const spec = resolve(specPath);
  return { specPath: spec, outPath: resolve(outPath), mediaRoot: resolve(parsed.values['media-root'] ?? dirname(spec)), target: target as RenderTarget | 'auto' };
}

async function readSpec(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read spec file ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`spec file ${path} is not valid JSON: ${errorMessage(err)}`);
  }
}

function progressLine(p: RenderStageProgress, totalFrames: number | null): string {
  const parts = [p.stage.padEnd(9), `${(p.percent ?? 0).toFixed(1).padStart(5)}%`];
  if (p.stage === 'rendering') {
    parts.push(`frame ${p.frame}${totalFrames ? `/${totalFrames}` : ''}`);
    if (p.fps !== null) parts.push(`${p.fps.toFixed(1)} fps`);
    if (p.etaSeconds !== null) parts.push(`eta ${Math.ceil(p.etaSeconds)}s`);
  }
  return parts.join('  ');
}

async function main(argv: string[]): Promise<number> {
  const args = parseCli(argv);
  if (!args) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const spec = await readSpec(args.specPath);
  const storage = new LocalDiskStorage(args.mediaRoot);
  // Warnings (cuda fallback, frame-count mismatch) as JSON lines on stderr; progress is plain text.
  const logger = createLogger({ name: 'render-cli', level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });

  let target: RenderTarget = 'cpu';
  let videoEncoder: string | undefined;
  if (args.target !== 'cpu') {
    const caps = await probeCapabilities();
    const codec = (spec as { output?: { video?: { codec?: unknown } } })?.output?.video?.codec === 'hevc' ? 'hevc' : 'h264';
    const choice = chooseTarget(caps, codec, args.target);
    target = choice.target;
    videoEncoder = choice.videoEncoder;
    process.stderr.write(`target ${target} (${videoEncoder}): ${choice.reason}\n`);
  }

  await mkdir(dirname(args.outPath), { recursive: true });
  const totalFrames = (spec as { output?: { durationFrames?: unknown } })?.output?.durationFrames;
  let lastLineAt = 0;
  const outcome = await renderSpecToFile(spec, {
    storage,
    outPath: args.outPath,
    target,
    videoEncoder,
    logger,
    onProgress: (p) => {
      const now = Date.now();
      if (p.stage === 'rendering' && now - lastLineAt < 1000 && p.percent !== 100) return;
      lastLineAt = now;
      process.stderr.write(`${progressLine(p, typeof totalFrames === 'number' ? totalFrames : null)}\n`);
    },
  });

  const { size } = await stat(args.outPath);
  const summary = {
    output: args.outPath,
    bytes: size,
    width: outcome.output.width,
    height: outcome.output.height,
    frames: outcome.output.durationFrames,
    hasAudio: outcome.output.hasAudio,
    durationMs: outcome.durationMs,
    target: outcome.target,
    encoder: outcome.encoder,
    fellBack: outcome.fellBack,
    ffmpegArgs: outcome.ffmpegArgs,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n${USAGE}\n`);
      process.exit(2);
    }
    // The permanent/transient distinction matters to the queue, not to a person at a terminal.
    process.stderr.write(`error: ${errorMessage(err).replace(PERMANENT_ERROR_PREFIX, '').trim()}\n`);
    process.exit(1);
  },
);
