/**
 * Media upload: stream to a temp file under a size limit while hashing, sniff the real media with
 * ffprobe (never trust the name or the Content-Type), enforce the duration limit, then move it into
 * storage under a key we build (the client's file name is display-only).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import type { AppContext } from '../context.ts';
import { previewRenditionReason } from '@clipmaker/shared/media';
import { probeFile, MediaProbeError, writePreviewRendition } from '../media.ts';
import { EDIT_ROLES, requireProjectRole } from './accounts/index.ts';
import { ServiceError } from './errors.ts';
import { assetView } from './projects.ts';
import { requestEditProxy } from './edit-proxies.ts';

const EXT_BY_KIND = { video: 'mp4', audio: 'm4a', image: 'png' } as const;

function extensionFor(kind: 'video' | 'audio' | 'image', formatName: string): string {
  const f = formatName.split(',');
  if (kind === 'video') return f.includes('webm') ? 'webm' : f.includes('matroska') ? 'mkv' : f.includes('mov') ? 'mp4' : 'bin';
  if (kind === 'image') return f.includes('jpeg_pipe') ? 'jpg' : f.includes('webp_pipe') ? 'webp' : f.includes('png_pipe') ? 'png' : EXT_BY_KIND.image;
  return f.includes('mp3') ? 'mp3' : f.includes('wav') ? 'wav' : f.includes('ogg') ? 'ogg' : f.includes('mov') ? 'm4a' : 'bin';
}

/** Longest side of a stored image (logos/watermarks): overlays never need more. */
export const MAX_IMAGE_SIDE = 1024;

/**
 * Images (logo watermarks) are normalised with sharp on upload: EXIF rotation applied, bounded to
 * MAX_IMAGE_SIDE, stored as PNG with alpha, so the preview (PixiJS), ffmpeg.wasm and the farm all
 * read the same pixels.
 */
async function normaliseImage(input: string, output: string): Promise<{ width: number; height: number; bytes: Buffer }> {
  const { default: sharp } = await import('sharp');
  const { data, info } = await sharp(input)
    .rotate()
    .resize({ width: MAX_IMAGE_SIDE, height: MAX_IMAGE_SIDE, fit: 'inside', withoutEnlargement: true })
    .ensureAlpha()
    .png()
    .toBuffer({ resolveWithObject: true });
  await writeFile(output, data);
  return { width: info.width, height: info.height, bytes: data };
}

/** Display name: no path, no control characters, bounded. */
export function cleanFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const cleaned = base.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
  return cleaned || 'upload';
}

export async function uploadAsset(ctx: AppContext, userId: string, projectId: string, fileName: string, body: ReadableStream<Uint8Array>) {
  // Refused before a byte is streamed; ingestFile checks the role again (it may have changed since).
  await requireProjectRole(ctx.db.db, userId, projectId, EDIT_ROLES);
  const tmpDir = path.join(ctx.config.DATA_DIR, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, `upload-${randomUUID()}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const limit = ctx.config.MAX_UPLOAD_BYTES;
  try {
    await pipeline(
      Readable.fromWeb(body as never),
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          if (bytes > limit) return cb(tooLargeError(limit));
          hash.update(chunk);
          cb(null, chunk);
        },
      }),
      createWriteStream(tmp),
    );
    return await ingestFile(ctx, userId, projectId, fileName, tmp, { bytes, sha256: hash.digest('hex') });
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The refusal of a file over MAX_UPLOAD_BYTES, the same words for every upload path. */
export function tooLargeError(limit: number): ServiceError {
  return new ServiceError('payload-too-large', `the file is larger than the ${Math.round(limit / 1024 / 1024)} MB limit`);
}

/** bytes and sha256 of a file on disk (a finished resumable upload, whose chunks came in many requests). */
export async function hashFile(file: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * THE server-side pipeline every upload ends in (the streamed POST and finished tus uploads alike):
 * role check, ffprobe sniffing (hostile formats refused by media.ts), the duration limit, image
 * normalisation, storage under a key we build, the asset row. `tmp` is a private file of the
 * caller's, moved into storage on success; on refusal it is left for the caller to delete, and
 * nothing is stored.
 */
export async function ingestFile(ctx: AppContext, userId: string, projectId: string, fileName: string, tmp: string, file: { bytes: number; sha256: string }) {
  const db = ctx.db.db;
  const { project } = await requireProjectRole(db, userId, projectId, EDIT_ROLES);
  let { bytes } = file;
  if (bytes > ctx.config.MAX_UPLOAD_BYTES) throw tooLargeError(ctx.config.MAX_UPLOAD_BYTES);
  try {
    if (bytes === 0) throw new ServiceError('bad-request', 'the file is empty');
    let info;
    try {
      info = await probeFile(ctx.config.FFPROBE_PATH, tmp);
    } catch (err) {
      if (err instanceof MediaProbeError) throw new ServiceError('bad-request', `${err.reason === 'undecodable' ? 'unsupported media' : 'not a media file'}: ${err.message}`);
      throw err;
    }
    if (info.durationUs / 1e6 > ctx.config.MAX_UPLOAD_DURATION_SECONDS)
      throw new ServiceError('bad-request', `the media is longer than the ${ctx.config.MAX_UPLOAD_DURATION_SECONDS} s limit`);
    const id = randomUUID();
    let stored = tmp;
    let ext = extensionFor(info.kind, info.formatName);
    let sha256 = file.sha256;
    if (info.kind === 'image') {
      stored = `${tmp}.png`;
      try {
        const img = await normaliseImage(tmp, stored);
        info = { ...info, width: img.width, height: img.height };
        bytes = img.bytes.length;
        sha256 = createHash('sha256').update(await readFile(stored)).digest('hex');
        ext = 'png';
      } catch (err) {
        throw new ServiceError('bad-request', `the image could not be processed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const key = `orgs/${project.orgId}/projects/${project.id}/assets/${id}/original.${ext}`;
    // Browsers cannot open some containers or count time from the container's start: the preview
    // plays a remux (written before the original is moved into storage; a failure stores nothing).
    const previewKey = info.kind === 'video' && previewRenditionReason(info) ? `orgs/${project.orgId}/projects/${project.id}/assets/${id}/preview.mp4` : null;
    if (previewKey) {
      try {
        // A transcode (HEVC, ProRes, MPEG-2) runs at several times real time on a small server.
        await writePreviewRendition(ctx.config.FFMPEG_PATH, info, tmp, `${tmp}.preview.mp4`, Math.max(300_000, 4 * (info.durationUs / 1000)));
      } catch (err) {
        throw new ServiceError('bad-request', `the video could not be prepared for the editor's preview (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    await ctx.storage.putFile(key, stored);
    if (previewKey) await ctx.storage.putFile(previewKey, `${tmp}.preview.mp4`);
    const [row] = await db
      .insert(schema.assets)
      .values({
        id,
        orgId: project.orgId,
        projectId: project.id,
        kind: info.kind,
        name: cleanFileName(fileName),
        storageKey: key,
        previewKey,
        // The farm makes the edit proxy once the row exists (requestEditProxy below).
        proxyStatus: info.kind === 'video' ? 'queued' : null,
        proxyJobId: info.kind === 'video' ? id : null,
        proxyRequestedAt: info.kind === 'video' ? new Date() : null,
        bytes,
        sha256,
        width: info.width,
        height: info.height,
        fpsNum: info.fps?.num ?? null,
        fpsDen: info.fps?.den ?? null,
        durationUs: info.durationUs,
        durationFrames: info.durationFrames,
        hasAudio: info.hasAudio,
        videoCodec: info.videoCodec,
        // Images are stored as the PNG sharp wrote; everything else exactly as uploaded.
        container: info.kind === 'image' ? 'png_pipe' : info.container,
        videoStartUs: info.videoStartUs,
        audioStartUs: info.audioStartUs,
        rotation: info.rotation,
        sarNum: info.sar.num,
        sarDen: info.sar.den,
        vfr: info.vfr,
        colorTransfer: info.colorTransfer,
        createdBy: userId,
      })
      .returning();
    await requestEditProxy(ctx, row!);
    const [now] = await db.select().from(schema.assets).where(eq(schema.assets.id, id));
    return assetView(now ?? row!);
  } finally {
    await rm(`${tmp}.png`, { force: true });
    await rm(`${tmp}.preview.mp4`, { force: true });
  }
}
