import { json } from '@sveltejs/kit';
import { spawn } from 'node:child_process';
import { getContext } from '$lib/server/context';
import type { RequestHandler } from './$types';

function ffmpegVersion(bin: string): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(bin, ['-hide_banner', '-version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', () => resolve(null));
    child.on('close', (code) => resolve(code === 0 ? (/ffmpeg version (\S+)/.exec(out)?.[1] ?? 'unknown') : null));
  });
}

/** Liveness of every dependency; 200 when all are up, 503 otherwise, always JSON. */
export const GET: RequestHandler = async () => {
  const ctx = await getContext();
  const [db, redis, ffmpeg] = await Promise.all([ctx.db.ping(), ctx.queue.ping(), ffmpegVersion(ctx.config.FFMPEG_PATH)]);
  const ok = db && redis && ffmpeg !== null;
  return json(
    { ok, db: { ok: db, kind: ctx.db.kind }, redis: { ok: redis }, ffmpeg: { ok: ffmpeg !== null, version: ffmpeg } },
    { status: ok ? 200 : 503, headers: { 'cache-control': 'no-store' } },
  );
};
