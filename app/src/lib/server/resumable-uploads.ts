/**
 * Resumable uploads (the tus 1.0 protocol, @tus/server + @tus/file-store), mounted as SvelteKit
 * endpoints under /api/projects/:projectId/uploads (routes/api/projects/[projectId]/uploads).
 *
 * The endpoints check everything before @tus/server sees a request: the session (locals.user), the
 * caller's project role (editor or above, on every request: a role taken away stops the next chunk),
 * and for an existing upload that it was created by this user for this project (else 404, as for
 * anything not yours). CSRF (hooks.server.ts crossSite) and the body cap (body-limit.ts: a PATCH
 * streams under MAX_UPLOAD_BYTES) apply as to every route. A creation must declare Upload-Length
 * (no deferred length) and one over MAX_UPLOAD_BYTES is refused with 413 before any byte is sent.
 *
 * Partial uploads live in DATA_DIR/tmp/tus (mode 0700), named by a random id; the client's file
 * name is display-only metadata. When the last byte arrives, onUploadFinish runs THE ingest pipeline
 * (services/assets.ts ingestFile: ffprobe sniffing with hostile-format refusal, duration limit,
 * storage, asset row) and answers the asset as JSON, or the same 4xx { code, message } the streamed
 * POST gives; either way the partial file and its .json are deleted. Uploads not finished within
 * UPLOAD_EXPIRY_HOURS are refused (410) and swept (sweepUploads, at start and every 15 minutes).
 *
 * One app process owns the folder and the in-memory lock (MemoryLocker): run a single app instance
 * per DATA_DIR, or route an upload's requests to one instance (docs/OPERATIONS.md).
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { MemoryLocker, Server, type ServerOptions } from '@tus/server';
import { FileStore } from '@tus/file-store';
import type { Upload } from '@tus/server';
import type { AppContext } from './context.ts';
import { asServiceError, logUnexpected, internalErrorMessage } from './http.ts';
import { logger } from './logger.ts';
import { cleanFileName, hashFile, ingestFile } from './services/assets.ts';

/** @tus/server's upload ids (Uid.rand: 16 random bytes, hex); anything else is not one of ours. */
export const UPLOAD_ID = /^[0-9a-f]{32}$/;
const SWEEP_EVERY_MS = 15 * 60 * 1000;

/** Who a request acts for, set by the endpoint before @tus/server handles it. */
interface Caller {
  userId: string;
  projectId: string;
}

/** Thrown from a tus hook: @tus/server answers status_code with body. */
interface TusAnswer {
  status_code: number;
  body: string;
}

export interface ResumableUploads {
  server: Server;
  store: FileStore;
  dir: string;
  /** Answer one tus request (POST, HEAD, PATCH, DELETE, OPTIONS) for an authorised caller. */
  handle(request: Request, caller: Caller): Promise<Response>;
  /** The upload's server-set owner, or null when there is no such upload. */
  owner(id: string): Promise<Caller | null>;
}

export function uploadsDir(ctx: Pick<AppContext, 'config'>): string {
  return path.join(ctx.config.DATA_DIR, 'tmp', 'tus');
}

function expiryMs(ctx: Pick<AppContext, 'config'>): number {
  return ctx.config.UPLOAD_EXPIRY_HOURS * 3600 * 1000;
}

function answer(status: number, body: unknown): TusAnswer {
  return { status_code: status, body: JSON.stringify(body) };
}

/** Deletes an upload's data and its .json (finished, refused, or expired). */
async function removeUpload(dir: string, id: string): Promise<void> {
  await rm(path.join(dir, id), { force: true });
  await rm(path.join(dir, `${id}.json`), { force: true });
  await rm(path.join(dir, `${id}.png`), { force: true });
}

/**
 * Deletes uploads created more than UPLOAD_EXPIRY_HOURS ago (finished or not: a finished one is
 * normally gone already, so one still here was abandoned by a crash mid-ingest), and stray files
 * with no .json older than that. Returns how many uploads were removed.
 */
export async function sweepUploads(ctx: Pick<AppContext, 'config'>, now = Date.now()): Promise<number> {
  const dir = uploadsDir(ctx);
  const maxAge = expiryMs(ctx);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  const ids = new Set(names.map((n) => n.replace(/\.(json|png)$/, '')).filter((n) => UPLOAD_ID.test(n)));
  for (const id of ids) {
    let created: number;
    try {
      const info = JSON.parse(await readFile(path.join(dir, `${id}.json`), 'utf8')) as { creation_date?: string };
      created = info.creation_date ? new Date(info.creation_date).getTime() : NaN;
    } catch {
      created = NaN;
    }
    if (Number.isNaN(created)) created = (await stat(path.join(dir, id)).catch(() => null))?.mtimeMs ?? 0;
    if (now - created > maxAge) {
      await removeUpload(dir, id);
      removed++;
    }
  }
  return removed;
}

const created = new WeakMap<AppContext, Promise<ResumableUploads>>();

/** The context's tus server (one per process), its folder made private and the sweeper started. */
export function resumableUploads(ctx: AppContext): Promise<ResumableUploads> {
  let r = created.get(ctx);
  if (!r) {
    r = createResumableUploads(ctx);
    created.set(ctx, r);
  }
  return r;
}

async function createResumableUploads(ctx: AppContext): Promise<ResumableUploads> {
  const dir = uploadsDir(ctx);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const store = new FileStore({ directory: dir, expirationPeriodInMilliseconds: expiryMs(ctx) });
  const callers = new WeakMap<object, Caller>();
  const callerOf = (req: object): Caller => {
    const c = callers.get(req);
    if (!c) throw answer(500, { code: 'internal', message: 'upload request without a caller' });
    return c;
  };

  const options: ServerOptions & { datastore: FileStore } = {
    path: '/api/projects/uploads',
    datastore: store,
    // One app process per DATA_DIR (see the top of this file): an in-memory lock per upload id.
    locker: new MemoryLocker(),
    maxSize: ctx.config.MAX_UPLOAD_BYTES,
    // Same-origin only (hooks refuse cross-site writes): never an Access-Control-Allow-Origin.
    allowedOrigins: () => false,
    // The endpoint validated the id from the route; the URL's last segment is it.
    getFileIdFromRequest: (_req, last) => (last && UPLOAD_ID.test(last) ? last : undefined),
    generateUrl: (req, { id }) => `/api/projects/${callerOf(req).projectId}/uploads/${id}`,
    async onUploadCreate(req, upload) {
      const caller = callerOf(req);
      // Server-set owner; of the client's metadata only the display name is kept.
      const name = cleanFileName(upload.metadata?.filename ?? 'upload');
      return { metadata: { filename: name, userId: caller.userId, projectId: caller.projectId } };
    },
    async onUploadFinish(req, upload) {
      const caller = callerOf(req);
      return finish(ctx, dir, caller, upload);
    },
  };
  const server = new Server(options);

  void sweepUploads(ctx).catch((err: unknown) => logger.warn({ err }, 'upload sweep failed'));
  setInterval(() => void sweepUploads(ctx).catch((err: unknown) => logger.warn({ err }, 'upload sweep failed')), SWEEP_EVERY_MS).unref();

  return {
    server,
    store,
    dir,
    async handle(request, caller) {
      callers.set(request, caller);
      return server.handleWeb(request);
    },
    async owner(id) {
      if (!UPLOAD_ID.test(id)) return null;
      try {
        const upload = await store.getUpload(id);
        const m = upload.metadata ?? {};
        return m.userId && m.projectId ? { userId: m.userId, projectId: m.projectId } : null;
      } catch {
        return null;
      }
    },
  };
}

/** The last byte is in: the one ingest pipeline, then the partial upload is gone either way. */
async function finish(ctx: AppContext, dir: string, caller: Caller, upload: Upload) {
  const file = path.join(dir, upload.id);
  try {
    const { bytes, sha256 } = await hashFile(file);
    const asset = await ingestFile(ctx, caller.userId, caller.projectId, upload.metadata?.filename ?? 'upload', file, { bytes, sha256 });
    return { status_code: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(asset) };
  } catch (err) {
    const e = asServiceError(err);
    if (e) throw answer(e.status, e.toBody());
    const id = logUnexpected(err, { route: 'tus finish', upload: upload.id });
    throw answer(500, { code: 'internal', message: internalErrorMessage(id) });
  } finally {
    await removeUpload(dir, upload.id);
  }
}
