/** `pnpm start`'s rebuild decision (scripts/build-if-changed.ts) on a scratch tree with set mtimes. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildReason } from './build-if-changed.ts';

let root: string;
const T0 = new Date('2026-01-01T00:00:00Z');
const later = (s: number) => new Date(T0.getTime() + s * 1000);

function file(rel: string, at: Date) {
  const p = path.join(root, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, rel);
  utimesSync(p, at, at);
}
/** Directories get the base time too (creating files bumped them). */
function settleDirs(at: Date) {
  for (const d of ['app', 'app/src', 'app/src/lib', 'app/src/routes', 'shared', 'shared/timeline', 'app/build', 'app/static', 'app/static/ffmpeg'])
    try {
      utimesSync(path.join(root, d), at, at);
    } catch {
      // not in this tree
    }
}

function tree() {
  root = mkdtempSync(path.join(tmpdir(), 'cm-build-check-'));
  file('app/src/lib/a.ts', T0);
  file('app/src/routes/+page.svelte', T0);
  file('shared/timeline/t.ts', T0);
  file('app/build/handler.js', later(10));
  settleDirs(T0);
}

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('buildReason', () => {
  it('asks for a build when there is none', () => {
    tree();
    unlinkSync(path.join(root, 'app/build/handler.js'));
    expect(buildReason(root)).toBe('no build yet');
  });

  it('does not rebuild when the build is newer than every input', () => {
    tree();
    expect(buildReason(root)).toBeNull();
  });

  it('rebuilds when an app or shared source changed, naming it', () => {
    tree();
    file('shared/timeline/t.ts', later(20));
    expect(buildReason(root)).toBe('shared/timeline/t.ts changed since the last build');
  });

  it('notices a deleted file through its directory', () => {
    tree();
    unlinkSync(path.join(root, 'app/src/routes/+page.svelte'));
    utimesSync(path.join(root, 'app/src/routes'), later(30), later(30));
    expect(buildReason(root)).toMatch(/^app\/src\/routes\/ changed/);
  });

  it('ignores tests, docs and what the build copies in itself', () => {
    tree();
    file('app/src/lib/a.test.ts', later(40));
    file('shared/timeline/README.md', later(40));
    file('app/static/ffmpeg/core.wasm', later(40));
    settleDirs(T0);
    utimesSync(path.join(root, 'app/src/lib'), T0, T0);
    expect(buildReason(root)).toBeNull();
  });
});
