/**
 * Temp folders of one worker process, and the sweep that removes those of dead ones.
 *
 *   <WORK_DIR>/clipmaker-worker-<workerId>-<pid>-<random>/   this process's folder, owner.json inside
 *     <job label>-<random>/                                  one per job; removed when the job ends
 *
 * owner.json names the host, pid and kernel start time of the process that made the folder. The
 * sweep (at start, after every job, at stop) removes every folder whose owner is a dead process on
 * this host (a kill -9, a crash, an OOM kill): it first SIGKILLs any process still working in it (an
 * ffmpeg whose parent-death signal was missed), then deletes it. Folders of other hosts sharing the
 * WORK_DIR are left to their own workers.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';

const FOLDER_PREFIX = 'clipmaker-worker-';
/** A folder without a readable owner.json younger than this may be one being created right now. */
const OWNERLESS_GRACE_MS = 60_000;

interface Owner {
  workerId: string;
  host: string;
  pid: number;
  /** Kernel start time of the process (clock ticks since boot, /proc/<pid>/stat field 22); null off Linux. */
  startTime: string | null;
}

/** /proc/<pid>/stat field 22, or null when the process does not exist (or there is no /proc). */
async function processStartTime(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

const hasProc = existsSync('/proc/self/stat');

async function isAlive(owner: Owner): Promise<boolean> {
  if (owner.host !== hostname()) return true; // not ours to judge
  if (hasProc) {
    const start = await processStartTime(owner.pid);
    return start !== null && (owner.startTime === null || start === owner.startTime);
  }
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGKILLs every process of ours whose command line names something inside `folder` (Linux only). */
async function killProcessesIn(folder: string): Promise<number[]> {
  if (!hasProc) return [];
  const killed: number[] = [];
  const needle = `${folder}/`;
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes(needle)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // gone already, or not ours
    }
  }
  return killed;
}

export interface WorkDir {
  /** This process's folder. */
  readonly root: string;
  /** A fresh folder for one job (the worker folder is re-created if it went missing). */
  jobDir(label: string): Promise<string>;
  /** The path a job folder would have, not created yet (a coordinator needs one only to stitch). */
  jobDirPath(label: string): string;
  /** Removes a job folder and whatever the job left in it. */
  releaseJobDir(dir: string): Promise<void>;
  /** Removes the folders of dead workers on this host; returns the folders removed. */
  sweep(): Promise<string[]>;
  /** Sweeps, then removes this process's own folder. */
  close(): Promise<void>;
}

const safeLabel = (label: string) => label.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);

export async function openWorkDir(opts: { parent?: string; workerId: string; logger: Logger }): Promise<WorkDir> {
  const parent = opts.parent ?? tmpdir();
  const safeId = opts.workerId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  const owner: Owner = { workerId: opts.workerId, host: hostname(), pid: process.pid, startTime: await processStartTime(process.pid) };
  let root: string | null = null;

  const ensureRoot = async (): Promise<string> => {
    if (root && existsSync(root)) return root;
    await mkdir(parent, { recursive: true });
    const made = await mkdtemp(join(parent, `${FOLDER_PREFIX}${safeId}-${process.pid}-`));
    await writeFile(join(made, 'owner.json'), JSON.stringify(owner));
    root = made;
    return made;
  };

  const sweep = async (): Promise<string[]> => {
    const removed: string[] = [];
    const entries = await readdir(parent).catch(() => [] as string[]);
    for (const name of entries) {
      if (!name.startsWith(FOLDER_PREFIX)) continue;
      const folder = join(parent, name);
      if (folder === root) continue;
      const other = await readFile(join(folder, 'owner.json'), 'utf8')
        .then((t) => JSON.parse(t) as Owner)
        .catch(() => null);
      if (other) {
        if (await isAlive(other)) continue;
      } else {
        const age = await stat(folder).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age < OWNERLESS_GRACE_MS) continue;
      }
      const killed = await killProcessesIn(folder);
      await rm(folder, { recursive: true, force: true }).catch((err: unknown) => opts.logger.warn({ err, folder }, 'could not remove a dead worker folder'));
      removed.push(folder);
      opts.logger.info({ folder, deadWorker: other?.workerId ?? null, killed }, 'removed the temp folder of a dead worker');
    }
    return removed;
  };

  try {
    await ensureRoot();
  } catch (err) {
    // A broken WORK_DIR fails each job (transiently, so the blocklist can move them on), not the start.
    opts.logger.error({ err, parent }, 'cannot create the worker temp folder');
  }
  await sweep();

  return {
    get root() {
      return root ?? join(parent, `${FOLDER_PREFIX}${safeId}-${process.pid}`);
    },
    async jobDir(label: string) {
      const dir = await ensureRoot();
      return mkdtemp(join(dir, `${safeLabel(label)}-`));
    },
    jobDirPath(label: string) {
      return join(root ?? join(parent, `${FOLDER_PREFIX}${safeId}-${process.pid}`), `${safeLabel(label)}-${randomBytes(4).toString('hex')}`);
    },
    async releaseJobDir(dir: string) {
      await rm(dir, { recursive: true, force: true }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTDIR') throw err; // never made: its parent is not a folder
      });
    },
    sweep,
    async close() {
      await sweep();
      if (root) await rm(root, { recursive: true, force: true });
      root = null;
    },
  };
}
