/** Helpers of the fidelity tests: SSIM between two pictures, a step that must finish in time. */
import { spawnSync } from 'node:child_process';

/** ffmpeg's ssim filter between two pictures ("All:" value). */
export function ssim(a: string, b: string): number {
  const r = spawnSync(
    process.env.FFMPEG_PATH ?? 'ffmpeg',
    ['-hide_banner', '-i', a, '-i', b, '-lavfi', '[0:v]format=yuv420p[x];[1:v]format=yuv420p[y];[x][y]ssim', '-f', 'null', '-'],
    { encoding: 'utf8' },
  );
  const m = /All:([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`ssim failed: ${r.stderr.slice(-1500)}`);
  return Number(m[1]);
}

/** A step that must finish in time, so a hang fails with its name instead of the test timeout. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
