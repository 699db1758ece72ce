/**
 * `pnpm start` builds the app only when its sources changed since the last build: the newest
 * modification time among the build's inputs (files AND directories, so an added or deleted file
 * counts too) against app/build/handler.js's. Whoever built it (`pnpm build`, `pnpm test`, an
 * earlier start) the check is the same. Tests and the bench run scripts/start.ts without it.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';

/** What the app bundle is built from (relative to the repository root). */
const INPUTS = ['app/src', 'app/static', 'app/svelte.config.js', 'app/vite.config.ts', 'app/package.json', 'app/tsconfig.json', 'shared', 'drizzle', 'pnpm-lock.yaml'];
/** Inside those: never part of the bundle. */
const SKIP_DIRS = new Set(['node_modules', 'build', '.svelte-kit', 'test', 'tests', 'migrations']);
const SKIP_PATHS = new Set(['app/static/ffmpeg']); // copied in by the build itself
const SKIP_FILE = /\.(test|spec)\.[cm]?[jt]s$|\.md$/;

function stat(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** Newest mtime (ms) under `rel`, and the path that has it. */
export function newestInput(root: string, rels: string[] = INPUTS): { mtimeMs: number; path: string | null } {
  let best = { mtimeMs: 0, path: null as string | null };
  const visit = (rel: string) => {
    if (SKIP_PATHS.has(rel)) return;
    const st = stat(path.join(root, rel));
    if (!st) return;
    if (st.isDirectory()) {
      if (st.mtimeMs > best.mtimeMs) best = { mtimeMs: st.mtimeMs, path: `${rel}/` };
      for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
        if (e.isDirectory() ? SKIP_DIRS.has(e.name) : SKIP_FILE.test(e.name)) continue;
        visit(`${rel}/${e.name}`);
      }
    } else if (st.mtimeMs > best.mtimeMs) best = { mtimeMs: st.mtimeMs, path: rel };
  };
  for (const r of rels) visit(r);
  return best;
}

/** Why a build is needed, or null when app/build is newer than every input. */
export function buildReason(root: string): string | null {
  const built = stat(path.join(root, 'app/build/handler.js'));
  if (!built) return 'no build yet';
  const newest = newestInput(root);
  return newest.mtimeMs > built.mtimeMs ? `${newest.path} changed since the last build` : null;
}

/**
 * Builds when needed. The bundler's output (long, with timing blocks) goes to `logFile`; on failure
 * its tail is printed. Resolves false when no build was needed.
 */
export async function buildIfChanged(root: string, logFile: string, say: (msg: string) => void): Promise<boolean> {
  const reason = buildReason(root);
  if (!reason) return false;
  say(`building the app (${reason}); bundler output in ${logFile}`);
  const out = createWriteStream(logFile);
  const started = Date.now();
  const child = spawn('pnpm', ['--filter', '@clipmaker/app', 'build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer) => {
    out.write(d);
    tail = (tail + d.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  await new Promise<void>((resolve) => out.end(resolve));
  if (code !== 0) throw new Error(`the app build failed (exit ${code}); see ${logFile}:\n${tail}`);
  say(`app built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}
