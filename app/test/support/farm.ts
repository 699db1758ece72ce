/**
 * Fault-test harness for the render farm: a redis-server of the test's own (AOF on) that can be
 * stopped and started again on the same port, real worker processes (`render-farm/src/main.ts`), the
 * app's render side as a process (render-app.ts), projects whose renders carry their frame numbers,
 * and the checks every fault scenario ends with.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, link, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as Y from 'yjs';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { appendUpdate, loadDocumentState } from '@clipmaker/db/documents';
import { addAsset, addClip, setAspect } from '@clipmaker/shared/timeline';
import { signUp } from '../../src/lib/server/services/accounts/index.ts';
import { createProject } from '../../src/lib/server/services/projects.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { decodeGrayFrames, makeFrameIndexVideo, readFrameIndex } from '../../../render-farm/test/support/media.ts';
import { freePort } from '../../../tests/support/app-server.ts';
import { setRenderMinutes } from './minutes.ts';

export const ROOT = resolve(import.meta.dirname, '../../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function onExit(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

/** Keeps the last lines a child wrote, for failure messages. */
function tail(child: ChildProcess, lines: string[], max = 40): void {
  const add = (d: Buffer) => {
    for (const l of d.toString('utf8').split('\n')) if (l.trim()) lines.push(l.slice(0, 400));
    if (lines.length > max) lines.splice(0, lines.length - max);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
}

// ---------------------------------------------------------------- redis-server

export interface RedisServer {
  readonly url: string;
  /** SIGTERM (Redis writes its AOF and exits), waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data folder; resolves once it answers PING. */
  start(): Promise<void>;
  cli(...args: string[]): string;
}

export async function startRedisServer(dir: string): Promise<RedisServer> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  let child: ChildProcess | null = null;
  const cli = (...args: string[]) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--loglevel', 'warning'], { stdio: 'ignore' });
      for (let i = 0; i < 200; i++) {
        if (cli('PING') === 'PONG') return;
        await sleep(50);
      }
      throw new Error('redis-server did not start');
    },
    async stop() {
      if (!child) return;
      const c = child;
      child = null;
      c.kill('SIGTERM');
      await onExit(c);
    },
    cli,
  };
  await server.start();
  return server;
}

// ---------------------------------------------------------------- worker processes

export interface WorkerProcess {
  id: string;
  child: ChildProcess;
  lines: string[];
  readonly alive: boolean;
}

export class WorkerFleet {
  readonly workers = new Map<string, WorkerProcess>();
  private n = 0;
  constructor(private readonly env: Record<string, string>) {}

  spawn(): WorkerProcess {
    const id = `w${++this.n}`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'render-farm/src/main.ts'], { cwd: ROOT, env: { ...process.env, ...this.env, WORKER_ID: id }, stdio: ['ignore', 'pipe', 'pipe'] });
    const w: WorkerProcess = {
      id,
      child,
      lines: [],
      get alive() {
        return child.exitCode === null && child.signalCode === null;
      },
    };
    tail(child, w.lines);
    // An exit nobody asked for: say why (its last log lines) where the test output shows it.
    child.once('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL' && signal !== 'SIGTERM') process.stderr.write(`[worker ${id}] exited (code ${code}, signal ${signal}); last lines:\n${w.lines.slice(-15).join('\n')}\n`);
    });
    this.workers.set(id, w);
    return w;
  }

  alive(): WorkerProcess[] {
    return [...this.workers.values()].filter((w) => w.alive);
  }

  async kill9(w: WorkerProcess): Promise<void> {
    w.child.kill('SIGKILL');
    await onExit(w.child);
  }

  /** SIGTERM: a graceful stop (running jobs finish), then waits. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.alive().map(async (w) => {
        w.child.kill('SIGTERM');
        const t = setTimeout(() => w.child.kill('SIGKILL'), 30_000);
        await onExit(w.child);
        clearTimeout(t);
      }),
    );
  }

  exits(): { id: string; code: number | null; signal: string | null }[] {
    return [...this.workers.values()].filter((w) => !w.alive).map((w) => ({ id: w.id, code: w.child.exitCode, signal: w.child.signalCode }));
  }
}

// ---------------------------------------------------------------- the app's render side

export class AppProcess {
  private child: ChildProcess | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, (m: { ok: boolean; value?: unknown; error?: string }) => void>();
  readonly lines: string[] = [];
  constructor(private readonly env: Record<string, string>) {}

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'app/test/support/render-app.ts'], { cwd: ROOT, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    tail(child, this.lines);
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m: { op?: string; id?: number; ok: boolean; value?: unknown; error?: string }) => {
        if (m.op === 'started') resolve();
        else if (m.id !== undefined) this.pending.get(m.id)?.(m), this.pending.delete(m.id);
      });
      child.once('exit', (code) => reject(new Error(`the app process exited (${code}) before it started: ${this.lines.join('\n')}`)));
    });
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  private request<T>(msg: Record<string, unknown>): Promise<{ ok: boolean; value?: T; error?: string }> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve as never);
      this.child!.send({ id, ...msg });
    });
  }

  submit(userId: string, projectId: string) {
    return this.request<string>({ op: 'submit', userId, projectId });
  }

  readiness() {
    return this.request<{ ok: boolean; scripts: string; error: string | null }>({ op: 'readiness' });
  }

  async kill9(): Promise<void> {
    const c = this.child;
    if (!c) return;
    c.kill('SIGKILL');
    await onExit(c);
    this.child = null;
  }
}

// ---------------------------------------------------------------- projects

export const FPS = 30;
export const SOURCE_FRAMES = 150;

export interface RenderPlan {
  projectId: string;
  sourceIn: number;
  sourceOut: number;
  /** Its source file is missing from storage: the render must fail (permanently) and be refunded. */
  broken: boolean;
}

/** One user and org with `quota` minutes; one 320x180 project per plan, cutting [sourceIn, sourceOut) from a frame-numbered source. */
export async function prepareProjects(ctx: AppContext, storageDir: string, label: string, plans: Omit<RenderPlan, 'projectId'>[], quota = 1000) {
  const db = ctx.db.db;
  const { user, org } = await signUp(db, { email: `${label}@example.com`, name: 'Faulty', password: 'password-123' });
  await setRenderMinutes(db, org.id, quota);
  const master = join(storageDir, 'media', `master-${label}.mp4`);
  await makeFrameIndexVideo(master, { width: 640, height: 360, fps: FPS, frames: SOURCE_FRAMES, audio: true });
  const out: RenderPlan[] = [];
  for (const [i, p] of plans.entries()) {
    const project = await createProject(ctx, user.id, { name: `${label}-${i}`, aspect: '16:9', fps: FPS });
    const key = `media/${project.id}/src.mp4`;
    await mkdir(join(storageDir, 'media', project.id), { recursive: true });
    if (!p.broken) await link(master, join(storageDir, key));
    const [asset] = await db
      .insert(schema.assets)
      .values({ orgId: org.id, projectId: project.id, kind: 'video', name: 'src.mp4', storageKey: key, bytes: 1, sha256: 'f'.repeat(64), width: 640, height: 360, fpsNum: FPS, fpsDen: 1, durationUs: (SOURCE_FRAMES / FPS) * 1e6, durationFrames: SOURCE_FRAMES, hasAudio: true })
      .returning();
    const doc = new Y.Doc();
    Y.applyUpdate(doc, (await loadDocumentState(db, project.id)).state);
    const sv = Y.encodeStateVector(doc);
    setAspect(doc, 'custom', { width: 320, height: 180 });
    addAsset(doc, { id: asset!.id, key, kind: 'video', name: 'src.mp4', width: 640, height: 360, fps: { num: FPS, den: 1 }, durationFrames: SOURCE_FRAMES, durationUs: (SOURCE_FRAMES / FPS) * 1e6, hasAudio: true, sha256: asset!.sha256 });
    addClip(doc, { assetId: asset!.id, sourceIn: p.sourceIn, sourceOut: p.sourceOut });
    await appendUpdate(db, project.id, Y.encodeStateAsUpdate(doc, sv), user.id);
    doc.destroy();
    out.push({ ...p, projectId: project.id });
  }
  return { user, org, plans: out, quota };
}

// ---------------------------------------------------------------- checks

export type RenderRow = typeof schema.renders.$inferSelect;

/** Frame numbers of every output frame (the source's frames carry their number in luma bands). */
export async function outputFrameNumbers(file: string): Promise<number[]> {
  const frames = await decodeGrayFrames(file, 320, 180);
  return frames.map((f) => readFrameIndex(f, 320, 180));
}

/** Processes (any) whose command line names something under `folder`: orphans if the folder's worker is dead. */
export async function processesUnder(folder: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(`${folder}/`)) found.push(pid);
  }
  return found;
}

/** The per-worker temp folders under WORK_DIR and the job folders inside each. */
export async function workFolders(workDir: string): Promise<{ folder: string; jobs: string[] }[]> {
  const out: { folder: string; jobs: string[] }[] = [];
  for (const name of await readdir(workDir).catch(() => [] as string[])) {
    const folder = join(workDir, name);
    const jobs = (await readdir(folder).catch(() => [] as string[])).filter((n) => n !== 'owner.json');
    out.push({ folder, jobs });
  }
  return out;
}
