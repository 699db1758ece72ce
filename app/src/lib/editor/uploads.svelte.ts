/**
 * The media bin's upload queue: many files at once (picked or dropped), two at a time, each with
 * its own progress (bytes, percent, speed) and a cancel button; a failed file keeps its error next
 * to its row.
 *
 * Uploads are resumable (tus protocol, tus-js-client, against /api/projects/:id/uploads): the file
 * goes up in CHUNK_BYTES chunks (one PATCH each). When the browser goes offline the running uploads
 * stop at once ("paused — offline") and carry on from the server's offset when it is back online; a
 * failed request while online is retried (RETRY_DELAYS, then every RETRY_PAUSE_MS, shown as
 * "retrying"), or on "Resume". After a reload, picking the same file again continues where it stopped
 * (tus-js-client's fingerprint of the file and the project's endpoint maps to the upload URL in
 * localStorage; removed when the upload finishes or is cancelled). Cancel deletes the partial upload
 * on the server. The server runs the same checks on the finished file as on any upload and answers
 * the asset, or the refusal shown next to the row.
 */
import * as tus from 'tus-js-client';

export interface UploadItem {
  id: number;
  name: string;
  size: number;
  loaded: number;
  /** bytes per second, smoothed */
  speed: number;
  /** 'paused': the connection dropped; resumes from the offset when back online. */
  status: 'queued' | 'uploading' | 'paused' | 'done' | 'failed' | 'cancelled';
  /** Why it is not sending now: the browser is offline, or a failed request is being retried. */
  waiting: 'offline' | 'retrying' | null;
  error: string | null;
  /** It continues an upload of this file that a reload or a closed tab interrupted. */
  resumed: boolean;
}

/** A previous upload of this project that a reload interrupted: choose its file again to continue. */
export interface InterruptedUpload {
  name: string;
  size: number;
  key: string;
}

const CONCURRENCY = 2;
/** One PATCH per chunk: the most a dropped connection can lose (the server keeps what arrived). */
export const CHUNK_BYTES = 4 * 1024 * 1024;
/** Quick retries for a blip (ms); after them the row is paused and retried every RETRY_PAUSE_MS. */
const RETRY_DELAYS = [0, 1000, 3000];
const RETRY_PAUSE_MS = 5000;

const isOffline = () => typeof navigator !== 'undefined' && !navigator.onLine;

function errorMessage(err: Error): { message: string; network: boolean } {
  const res = (err as tus.DetailedError).originalResponse;
  if (!res || res.getStatus() === 0) return { message: 'the connection was lost; the upload resumes when you are back online', network: true };
  const status = res.getStatus();
  let message = `upload failed (${status})`;
  const body = res.getBody() ?? '';
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    if (body.trim()) message = body.trim().slice(0, 200);
  }
  // 5xx and 409/423 (offset moved, locked) are worth another try; other 4xx are the server's answer.
  return { message, network: status >= 500 || status === 409 || status === 423 };
}

export class UploadQueue<T> {
  items = $state<UploadItem[]>([]);
  interrupted = $state<InterruptedUpload[]>([]);
  private next = 1;
  private readonly uploads = new Map<number, tus.Upload>();
  private readonly files = new Map<number, File>();
  private watching = false;

  constructor(
    /** The tus creation URL (POST), e.g. /api/projects/:id/uploads. */
    private readonly endpoint: () => string,
    private readonly onUploaded: (body: T, file: File) => void,
  ) {}

  get active(): boolean {
    return this.items.some((i) => i.status === 'queued' || i.status === 'uploading' || i.status === 'paused');
  }

  /** Lists this project's uploads that a reload cut off (localStorage), to offer picking them again. */
  async loadInterrupted(): Promise<void> {
    if (typeof localStorage === 'undefined') return;
    const prefix = `${this.endpoint()}/`;
    const all = await tus.defaultOptions.urlStorage.findAllUploads().catch(() => [] as tus.PreviousUpload[]);
    this.interrupted = all
      .filter((u) => u.uploadUrl?.startsWith(prefix) && !this.items.some((i) => i.name === u.metadata.filename && i.size === u.size))
      .map((u) => ({ name: u.metadata.filename ?? 'upload', size: u.size ?? 0, key: u.urlStorageKey }));
  }

  /** Forgets an interrupted upload (the server deletes the partial file when it expires). */
  async forgetInterrupted(key: string): Promise<void> {
    await tus.defaultOptions.urlStorage.removeUpload(key);
    this.interrupted = this.interrupted.filter((u) => u.key !== key);
  }

  add(files: Iterable<File>): void {
    for (const f of files) {
      // The same file twice at once would resume one upload from two places.
      const same = [...this.files.entries()].some(([id, g]) => g.name === f.name && g.size === f.size && g.lastModified === f.lastModified && this.isLive(id));
      if (same) continue;
      const id = this.next++;
      this.files.set(id, f);
      this.items.push({ id, name: f.name, size: f.size, loaded: 0, speed: 0, status: 'queued', waiting: null, error: null, resumed: false });
      this.interrupted = this.interrupted.filter((u) => !(u.name === f.name && u.size === f.size));
    }
    this.watchConnection();
    this.pump();
  }

  /** Stops the upload and removes its row; abort(true) deletes it on the server and forgets its URL. */
  cancel(id: number): void {
    const item = this.items.find((i) => i.id === id);
    if (!item || !this.isLive(id)) return;
    item.status = 'cancelled';
    void this.uploads
      .get(id)
      ?.abort(true)
      .catch(() => {});
    this.uploads.delete(id);
    this.dismiss(id);
    this.pump();
  }

  /** Retries a paused row now (it also resumes by itself when the browser comes back online). */
  resume(id: number): void {
    const item = this.items.find((i) => i.id === id);
    const upload = this.uploads.get(id);
    if (!item || item.status !== 'paused' || !upload) return;
    if (isOffline()) {
      item.waiting = 'offline';
      return;
    }
    item.status = 'uploading';
    item.waiting = null;
    item.error = null;
    upload.start();
  }

  /** Forgets finished rows (done, cancelled); failed ones stay until dismissed. */
  dismiss(id: number): void {
    this.items = this.items.filter((i) => i.id !== id);
    this.files.delete(id);
  }

  private isLive(id: number): boolean {
    const s = this.items.find((i) => i.id === id)?.status;
    return s === 'queued' || s === 'uploading' || s === 'paused';
  }

  private pump(): void {
    while (this.items.filter((i) => i.status === 'uploading' || i.status === 'paused').length < CONCURRENCY) {
      const item = this.items.find((i) => i.status === 'queued');
      if (!item) return;
      void this.start(item);
    }
  }

  /**
   * Offline: every running upload stops now (no request left to time out; the server keeps the bytes
   * that arrived). Online again: every paused upload asks the server its offset and carries on.
   */
  private watchConnection(): void {
    if (this.watching || typeof window === 'undefined') return;
    this.watching = true;
    window.addEventListener('offline', () => {
      for (const i of this.items) {
        if (i.status !== 'uploading' && i.status !== 'paused') continue;
        const upload = this.uploads.get(i.id);
        if (!upload) continue;
        void upload.abort(false);
        i.status = 'paused';
        i.waiting = 'offline';
        i.speed = 0;
        i.error = null;
      }
    });
    window.addEventListener('online', () => {
      for (const i of this.items) if (i.status === 'paused') this.resume(i.id);
    });
  }

  private async start(item: UploadItem): Promise<void> {
    const file = this.files.get(item.id)!;
    item.status = 'uploading';
    const row = () => this.items.find((i) => i.id === item.id);
    // The first progress event of a (re)start is the baseline: a resumed upload starts at its offset.
    let last: { t: number; loaded: number } | null = null;
    const pause = (r: UploadItem, waiting: 'offline' | 'retrying') => {
      r.status = 'paused';
      r.waiting = waiting;
      r.speed = 0;
      last = null;
    };
    const upload = new tus.Upload(file, {
      endpoint: this.endpoint(),
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      metadata: { filename: file.name, filetype: file.type },
      removeFingerprintOnSuccess: true,
      onShouldRetry: (err) => {
        const retry = !isOffline() && errorMessage(err).network;
        const r = row();
        if (retry && r?.status === 'uploading') r.waiting = 'retrying';
        return retry;
      },
      onChunkComplete: () => {
        const r = row();
        if (r) r.waiting = null;
      },
      onProgress: (sent) => {
        const r = row();
        if (!r) return;
        if (r.waiting === 'retrying' && sent > r.loaded) r.waiting = null;
        const now = performance.now();
        const dt = last ? (now - last.t) / 1000 : 0;
        if (!last || sent < last.loaded || now - last.t > 3000) last = { t: now, loaded: sent };
        else if (dt > 0.2) {
          const inst = (sent - last.loaded) / dt;
          r.speed = r.speed ? r.speed * 0.6 + inst * 0.4 : inst;
          last = { t: now, loaded: sent };
        }
        r.loaded = sent;
      },
      onSuccess: ({ lastResponse }) => {
        this.uploads.delete(item.id);
        const r = row();
        let body: T | null = null;
        try {
          body = JSON.parse(lastResponse.getBody()) as T;
        } catch {
          /* not JSON */
        }
        if (!r || r.status !== 'uploading') return;
        if (!body) {
          r.status = 'failed';
          r.error = 'the server did not answer the uploaded file';
        } else {
          r.status = 'done';
          r.loaded = r.size;
          this.onUploaded(body, file);
          // A finished row clears itself after a moment; the asset is in the bin.
          setTimeout(() => {
            if (row()?.status === 'done') this.dismiss(item.id);
          }, 2500);
        }
        this.pump();
      },
      onError: (err) => {
        const r = row();
        if (!r || r.status !== 'uploading') return;
        const { message, network } = errorMessage(err);
        r.error = message;
        if (network) {
          // Kept: it carries on from the server's offset when the browser is online again, or soon.
          pause(r, isOffline() ? 'offline' : 'retrying');
          if (!isOffline()) setTimeout(() => this.resume(item.id), RETRY_PAUSE_MS);
        } else {
          r.status = 'failed';
          this.uploads.delete(item.id);
          this.pump();
        }
      },
    });
    this.uploads.set(item.id, upload);
    const previous = await upload.findPreviousUploads().catch(() => [] as tus.PreviousUpload[]);
    const r = row();
    if (!r || r.status === 'cancelled') return; // cancelled meanwhile
    const prev = previous[0];
    if (prev) {
      upload.resumeFromPreviousUpload(prev);
      // Older duplicates of this fingerprint would never be used again.
      for (const p of previous.slice(1)) void tus.defaultOptions.urlStorage.removeUpload(p.urlStorageKey);
    }
    r.resumed = !!prev;
    if (r.status === 'paused' || isOffline()) return pause(r, 'offline'); // the 'online' listener starts it
    upload.start();
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
