/**
 * Auto-captions, app side, with every real component: an uploaded MKV of flite speech (known word
 * times), Postgres, Redis, a render-farm worker running pocketsphinx. The app's transcript service
 * enqueues through the one queue repository, follows progress from the job's events, and stores
 * the word-timed result in transcript_words; the reconciler repairs a row whose job ended unheard.
 * transcriptUpdates (transcripts.onUpdate, the editor's SSE stream) delivers the farm's progress as it
 * is reported and ends with the finished row, without the page asking again.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '@clipmaker/db';
import type { TranscribeProgress } from '@clipmaker/shared/jobs';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { LocalDiskStorage } from '../../../render-farm/src/storage/index.ts';
import { probePocketsphinx } from '../../../render-farm/src/transcribe/index.ts';
import { startWorker, type RenderWorker } from '../../../render-farm/src/worker.ts';
import { ffmpeg, tempDir } from '../../../render-farm/test/support/media.ts';
import { matchedStartErrors, SENTENCES, speakScript, type TruthWord } from '../../../render-farm/test/support/speech.ts';
import { loadConfig } from '../../src/lib/server/config.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { RenderQueueProducer } from '../../src/lib/server/queue.ts';
import { testContext } from '../support/context.ts';
import { LocalStorage } from '../../src/lib/server/storage.ts';
import { signUp } from '../../src/lib/server/services/accounts/index.ts';
import { uploadAsset } from '../../src/lib/server/services/assets.ts';
import { createProject } from '../../src/lib/server/services/projects.ts';
import { cancelTranscript, createTranscript, getTranscript, handleTranscribeEvents, listTranscripts, reconcileTranscripts, transcriptUpdates, type TranscriptView } from '../../src/lib/server/services/transcripts.ts';

const prefix = uniquePrefix('transcripts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let t: TestDb;
let dir: string;
let ctx: AppContext;
let worker: RenderWorker;
let userId: string;
let outsiderId: string;
let projectId: string;
let assetId: string;
let truth: TruthWord[];
let scriptText: string;
/** While false, the app "misses" every job event (as when it is down): only the reconciler helps. */
let listening = true;
const progressSeen: TranscribeProgress[] = [];

beforeAll(async () => {
  t = await createTestDb();
  dir = await tempDir('app-transcripts');
  const storageDir = join(dir, 'storage');
  await mkdir(storageDir, { recursive: true });
  const config = loadConfig({ ...process.env, DATA_DIR: dir, STORAGE_DIR: storageDir, QUEUE_PREFIX: prefix, REDIS_URL: TEST_REDIS_URL } as NodeJS.ProcessEnv);
  ctx = testContext({ config, db: t.handle, storage: new LocalStorage(storageDir) });
  const events = handleTranscribeEvents(ctx);
  ctx.queue = new RenderQueueProducer(TEST_REDIS_URL, prefix, {
    onProgress() {},
    onSucceeded() {},
    onFailed() {},
    onRetrying() {},
    onTranscribeProgress: (p) => listening && (progressSeen.push(p), events.onTranscribeProgress!(p)),
    onTranscribeSucceeded: (r) => listening && events.onTranscribeSucceeded!(r),
    onTranscribeFailed: (id, m) => listening && events.onTranscribeFailed!(id, m),
  });
  await ctx.queue.ready();
  const probe = await probePocketsphinx();
  if (!probe.engine) throw new Error(`pocketsphinx unavailable: ${probe.reason}`);
  worker = await startWorker({ redisUrl: TEST_REDIS_URL, storage: new LocalDiskStorage(storageDir), prefix, workerId: 'app-transcriber', logger: pino({ level: 'silent' }), target: 'cpu', progressIntervalMs: 0, heartbeatIntervalMs: 500, workRoot: dir, engines: [probe.engine] });

  const owner = await signUp(t.handle.db, { email: 'captions@example.com', name: 'Cap', password: 'password-123' });
  userId = owner.user.id;
  outsiderId = (await signUp(t.handle.db, { email: 'outsider@example.com', name: 'Out', password: 'password-123' })).user.id;
  projectId = (await createProject(ctx, userId, { name: 'talk', aspect: '16:9', fps: 25 })).id;
  const speech = await speakScript(SENTENCES.slice(0, 3), dir, 'speech', { gapMs: 600 });
  truth = speech.words;
  scriptText = speech.text;
  const mkv = join(dir, 'talk.mkv');
  await ffmpeg(['-f', 'lavfi', '-i', `testsrc2=s=320x180:r=25:d=${(speech.durationMs / 1000).toFixed(2)}`, '-i', speech.wav, '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'flac', '-shortest', mkv]);
  const bytes = await readFile(mkv);
  const asset = await uploadAsset(ctx, userId, projectId, 'talk.mkv', new Blob([bytes]).stream());
  assetId = asset.id;
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await ctx?.queue.close();
  await t?.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function until(id: string, statuses: string[]) {
  for (let i = 0; i < 600; i++) {
    const v = await getTranscript(ctx, userId, id);
    if (statuses.includes(v.status)) return v;
    await sleep(100);
  }
  throw new Error(`transcript ${id} never reached ${statuses.join('/')}`);
}

describe('transcripts: app -> farm -> Postgres', () => {
  it('recognise: queued, progress, then a draft word-timed transcript stored in transcript_words', async () => {
    const created = await createTranscript(ctx, userId, { projectId, assetId });
    expect(created).toMatchObject({ status: 'queued', version: 1, assetId, mode: 'recognise' });
    const done = await until(created.id, ['succeeded', 'failed']);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'succeeded', engine: 'pocketsphinx', quality: 'draft', draft: true, percent: 100 });
    expect(progressSeen.some((p) => p.transcriptId === created.id && p.stage === 'recognising' && p.percent > 0 && p.percent < 100)).toBe(true);
    expect(done.words.length).toBe(done.wordCount);
    expect(done.words.length).toBeGreaterThan(12);
    for (let i = 1; i < done.words.length; i++) expect(done.words[i]!.start).toBeGreaterThanOrEqual(done.words[i - 1]!.start);
    const rows = await t.handle.db.select().from(schema.transcriptWords).where(eq(schema.transcriptWords.transcriptId, created.id));
    expect(rows.length).toBe(done.words.length);
    const errs = matchedStartErrors(done.words, truth).sort((a, b) => a - b);
    expect(errs.length).toBeGreaterThan(truth.length / 2);
    expect(errs[Math.floor(errs.length / 2)]!).toBeLessThan(100);
  });

  it('align: the known text gets word times within 100 ms of the truth, as version 2', async () => {
    const created = await createTranscript(ctx, userId, { projectId, assetId, mode: 'align', script: scriptText });
    expect(created.version).toBe(2);
    const done = await until(created.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'succeeded', quality: 'aligned', draft: false });
    expect(done.words.map((w) => w.text.toLowerCase().replace(/[^a-z']/g, ''))).toEqual(truth.map((w) => w.text));
    const errs = done.words.map((w, i) => Math.abs(w.start - truth[i]!.start)).sort((a, b) => a - b);
    expect(errs[Math.floor(errs.length * 0.9)]!).toBeLessThan(100);
    expect((await listTranscripts(ctx, userId, projectId)).map((v) => v.version)).toEqual([2, 1]);
  });

  it('live updates: a subscriber sees queued, the farm\'s progress, then the finished transcript, and the stream ends', async () => {
    const created = await createTranscript(ctx, userId, { projectId, assetId });
    const ac = new AbortController();
    // The recheck is far off: everything seen comes from the events the farm reports.
    const stream = await transcriptUpdates(ctx, userId, created.id, ac.signal, 600_000);
    const seen: TranscriptView[] = [];
    const ended = (async () => {
      for await (const u of stream) seen.push(u);
    })();
    await Promise.race([ended, sleep(60_000).then(() => ac.abort())]);
    expect(ac.signal.aborted).toBe(false);
    expect(seen[0]).toMatchObject({ id: created.id });
    expect(['queued', 'transcribing']).toContain(seen[0]!.status);
    const progress = seen.filter((u) => u.status === 'transcribing' && u.percent > 0 && u.percent < 100);
    expect(progress.length).toBeGreaterThan(0);
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ status: 'succeeded', percent: 100, engine: 'pocketsphinx', draft: true });
    expect(last.wordCount).toBeGreaterThan(12);
    expect(seen.filter((u) => u.status === 'succeeded')).toHaveLength(1);
    expect((await getTranscript(ctx, userId, created.id)).words).toHaveLength(last.wordCount!);
    // A finished transcript: the stream gives its row and ends; outsiders are refused before any stream.
    const again: TranscriptView[] = [];
    for await (const u of await transcriptUpdates(ctx, userId, created.id)) again.push(u);
    expect(again.map((u) => u.status)).toEqual(['succeeded']);
    await expect(transcriptUpdates(ctx, outsiderId, created.id)).rejects.toMatchObject({ code: 'not-found' });
  });

  it('live updates: cancelling ends the stream with the cancelled row', async () => {
    const created = await createTranscript(ctx, userId, { projectId, assetId });
    const stream = await transcriptUpdates(ctx, userId, created.id, undefined, 600_000);
    const seen: string[] = [];
    const ended = (async () => {
      for await (const u of stream) {
        seen.push(u.status);
        if (seen.length === 1) await cancelTranscript(ctx, userId, created.id);
      }
    })();
    await Promise.race([ended, sleep(20_000).then(() => Promise.reject(new Error(`stream did not end: ${seen.join(',')}`)))]);
    expect(seen.at(-1)).toBe('cancelled');
  });

  it('bad requests: outsiders see nothing, align needs text, an asset of another project is not found', async () => {
    const [first] = await listTranscripts(ctx, userId, projectId);
    await expect(getTranscript(ctx, outsiderId, first!.id)).rejects.toMatchObject({ code: 'not-found' });
    await expect(createTranscript(ctx, outsiderId, { projectId, assetId })).rejects.toMatchObject({ code: 'not-found' });
    await expect(createTranscript(ctx, userId, { projectId, assetId, mode: 'align', script: '  ' })).rejects.toMatchObject({ code: 'invalid-input' });
    const other = await createProject(ctx, userId, { name: 'other', aspect: '16:9', fps: 25 });
    await expect(createTranscript(ctx, userId, { projectId: other.id, assetId })).rejects.toMatchObject({ code: 'not-found' });
  });

  it('cancel: the row is cancelled at once and a job that still finishes does not revive it', async () => {
    const created = await createTranscript(ctx, userId, { projectId, assetId });
    const cancelled = await cancelTranscript(ctx, userId, created.id);
    expect(cancelled.status).toBe('cancelled');
    for (let i = 0; i < 100 && !['succeeded', 'failed'].includes((await ctx.queue.transcribeJobRecord(created.id))?.status ?? 'gone'); i++) await sleep(100);
    await sleep(300);
    expect(await getTranscript(ctx, userId, created.id)).toMatchObject({ status: 'cancelled', words: [] });
  });

  it('a job that ended while the app was not listening is repaired by the reconciler', async () => {
    listening = false;
    const created = await createTranscript(ctx, userId, { projectId, assetId, mode: 'align', script: scriptText });
    for (let i = 0; i < 600 && (await ctx.queue.transcribeJobRecord(created.id))?.status !== 'succeeded'; i++) await sleep(100);
    expect((await getTranscript(ctx, userId, created.id)).status).toBe('queued');
    const reports = await Promise.all([reconcileTranscripts(ctx), reconcileTranscripts(ctx)]);
    expect(reports.reduce((n, r) => n + r.succeeded, 0)).toBe(1);
    const v = await getTranscript(ctx, userId, created.id);
    expect(v).toMatchObject({ status: 'succeeded', quality: 'aligned' });
    expect(v.words.length).toBe(truth.length);
    expect(await reconcileTranscripts(ctx)).toEqual({ succeeded: 0, failed: 0 });
  });
});
