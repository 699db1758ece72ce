/** Streams a stored file with HTTP Range support (video players seek with it); ServiceError not-found when missing. */
import { Readable } from 'node:stream';
import type { AppStorage } from './storage.ts';
import { ServiceError } from './services/errors.ts';

const TYPES: Record<string, string> = { mp4: 'video/mp4', m4a: 'audio/mp4', mp3: 'audio/mpeg', wav: 'audio/wav', ogg: 'audio/ogg', webm: 'video/webm', mkv: 'video/x-matroska', jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp', json: 'application/json' };

export async function fileResponse(storage: AppStorage, key: string, rangeHeader: string | null, downloadName?: string): Promise<Response> {
  const st = await storage.stat(key);
  if (!st) throw new ServiceError('not-found');
  const type = TYPES[key.split('.').pop() ?? ''] ?? 'application/octet-stream';
  const headers = new Headers({ 'content-type': type, 'accept-ranges': 'bytes', 'cache-control': 'private, max-age=300' });
  if (downloadName) headers.set('content-disposition', `attachment; filename="${downloadName.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
  const m = rangeHeader ? /^bytes=(\d*)-(\d*)$/.exec(rangeHeader) : null;
  if (m && (m[1] || m[2])) {
    let start = m[1] ? Number(m[1]) : Math.max(0, st.size - Number(m[2]));
    let end = m[1] && m[2] ? Number(m[2]) : st.size - 1;
    end = Math.min(end, st.size - 1);
    if (start > end || start >= st.size) return new Response(null, { status: 416, headers: { 'content-range': `bytes */${st.size}` } });
    headers.set('content-range', `bytes ${start}-${end}/${st.size}`);
    headers.set('content-length', String(end - start + 1));
    return new Response(Readable.toWeb(storage.read(key, { start, end })) as ReadableStream, { status: 206, headers });
  }
  headers.set('content-length', String(st.size));
  return new Response(Readable.toWeb(storage.read(key)) as ReadableStream, { status: 200, headers });
}
