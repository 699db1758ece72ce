/**
 * Two users' ripple cuts, filler removals, undos and redos over the same clips, in random orders,
 * on two Y.Docs synced with Y.applyUpdate: after both undo everything, every source frame and
 * caption word is back exactly once; in the fixed scenarios the timeline equals the original.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as Y from 'yjs';
import { addAsset, addClip, initTimeline, readTimeline, removeFillersAndPauses, rippleDeleteRanges, setCaptionCues, setClipVolume, trimClip, type TimelineSnapshot } from '@clipmaker/shared/timeline';
import { transcriptToCues } from '@clipmaker/shared/captions';
import { LOCAL_ORIGIN, createUndoManager } from './undo.ts';

const FPS = { num: 30, den: 1 };
const FRAMES = 300;
const SETUP = { setup: true };

/** Two peers wired like y-websocket (updates relayed at once, with the provider as origin). */
function world() {
  const a = new Y.Doc();
  const b = new Y.Doc();
  const pa = { provider: 'a' };
  const pb = { provider: 'b' };
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== pb && Y.applyUpdate(b, u, pb));
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== pa && Y.applyUpdate(a, u, pa));
  initTimeline(a, { fps: FPS, aspect: '9:16' }, SETUP);
  addAsset(a, { id: 'v', key: 'k/v.mp4', kind: 'video', name: 'v.mp4', width: 1920, height: 1080, fps: FPS, durationFrames: FRAMES, durationUs: 10_000_000, hasAudio: true, sha256: null }, SETUP);
  addClip(a, { assetId: 'v' }, SETUP);
  addClip(a, { assetId: 'v', trackId: 'a1' }, SETUP); // its sound on an audio track: every track ripples
  const words: [string, number, number][] = [];
  const vocab = ['so', 'um', 'this', 'uh', 'is', 'the', 'plan', 'um', 'we', 'ship', 'it', 'uh', 'today', 'and', 'then', 'um', 'rest'];
  let t = 150;
  for (const [i, w] of vocab.entries()) {
    words.push([w, t, t + 300 + (i % 3) * 60]);
    t += 420 + (i % 4) * 150; // pauses of 120-570 ms, all within the media
  }
  setCaptionCues(a, transcriptToCues(words.map(([text, start, end]) => ({ text, start, end })), { fps: FPS, rules: 'three-words', mediaEndMs: 10_000 }), SETUP);
  return { docs: [a, b] as const, undo: [createUndoManager(a), createUndoManager(b)] as const };
}

/** Source frames of asset `v` on a track, as sorted [in, out) ranges (contiguous ones joined). */
function covered(tl: TimelineSnapshot, trackId: string): [number, number][] {
  const r = tl.clips.flatMap((c) => (c.trackId === trackId && (c.kind === 'video' || c.kind === 'audio') ? [[c.sourceIn, c.sourceOut] as [number, number]] : [])).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const x of r) {
    const last = out.at(-1);
    if (last && x[0] === last[1]) last[1] = x[1];
    else out.push([...x]);
  }
  return out;
}

/** Total source frames on a track (counts a frame twice if it is on the track twice). */
const total = (tl: TimelineSnapshot, trackId: string) => covered(tl, trackId).reduce((n, [x, y]) => n + y - x, 0);

/** The timeline without ids: clips per track merged where one continues the other, cues. */
function shape(tl: TimelineSnapshot) {
  const clips: { trackId: string; start: number; sourceIn: number; sourceOut: number }[] = [];
  for (const c of tl.clips) {
    if (c.kind !== 'video' && c.kind !== 'audio') continue;
    const last = clips.at(-1);
    if (last && last.trackId === c.trackId && last.sourceOut === c.sourceIn && last.start + (last.sourceOut - last.sourceIn) === c.start) last.sourceOut = c.sourceOut;
    else clips.push({ trackId: c.trackId, start: c.start, sourceIn: c.sourceIn, sourceOut: c.sourceOut });
  }
  // Every caption word is back in its cue. Word order and timings are compared exactly in the fixed
  // scenarios below only: where the two users' cuts overlap a word's edges, a restored word can come
  // back a few frames off, even swapped with its neighbour (docs/CAPTIONS.md, "Undo of ripple cuts").
  return { clips, words: tl.cues.map((c) => c.text.split(/\s+/u).sort().join(' ')) };
}

const allWords = (tl: TimelineSnapshot) => tl.cues.flatMap((c) => c.text.split(/\s+/u)).sort();

type Op =
  | { user: 0 | 1; kind: 'cut'; at: number; len: number }
  | { user: 0 | 1; kind: 'word'; pick: number }
  | { user: 0 | 1; kind: 'fillers'; pause: number }
  | { user: 0 | 1; kind: 'undo' }
  | { user: 0 | 1; kind: 'redo' };

const user = fc.constantFrom<0 | 1>(0, 1);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ user, kind: fc.constant('cut' as const), at: fc.nat({ max: 1000 }), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ user, kind: fc.constant('word' as const), pick: fc.nat({ max: 1000 }) }),
  fc.record({ user, kind: fc.constant('fillers' as const), pause: fc.integer({ min: 3, max: 12 }) }),
  fc.record({ user, kind: fc.constant('undo' as const) }),
  fc.record({ user, kind: fc.constant('undo' as const) }),
  fc.record({ user, kind: fc.constant('redo' as const) }),
);

function apply(w: ReturnType<typeof world>, o: Op): void {
  const doc = w.docs[o.user];
  const um = w.undo[o.user];
  um.stopCapturing();
  const tl = readTimeline(doc);
  const end = tl.clips.reduce((n, c) => Math.max(n, c.start + (c.kind === 'video' || c.kind === 'audio' ? c.sourceOut - c.sourceIn : 0)), 0);
  if (o.kind === 'cut') {
    if (end > 1) rippleDeleteRanges(doc, [[o.at % (end - 1), Math.min(end, (o.at % (end - 1)) + o.len)]], LOCAL_ORIGIN);
  } else if (o.kind === 'word') {
    const words = tl.cues.flatMap((c) => c.words ?? []);
    const wd = words[o.pick % Math.max(1, words.length)];
    if (wd) rippleDeleteRanges(doc, [[wd.start, wd.end]], LOCAL_ORIGIN);
  } else if (o.kind === 'fillers') removeFillersAndPauses(doc, { maxPauseFrames: o.pause }, LOCAL_ORIGIN);
  else if (o.kind === 'undo') um.undo();
  else um.redo();
  um.stopCapturing();
}

function undoAll(w: ReturnType<typeof world>, order: readonly (0 | 1)[]): void {
  for (const u of order) while (w.undo[u].canUndo()) w.undo[u].undo();
  for (const u of [0, 1] as const) while (w.undo[u].canUndo()) w.undo[u].undo();
}

describe('per-user undo of ripple cuts (property)', () => {
  it('random interleavings: docs agree, no frame is ever on a track twice, undoing everything brings every frame and word back exactly once', { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 14 }), fc.array(user, { minLength: 1, maxLength: 3 }), (ops, order) => {
        const w = world();
        const original = readTimeline(w.docs[0]);
        for (const o of ops) {
          apply(w, o);
          const tl = readTimeline(w.docs[0]);
          expect(readTimeline(w.docs[1])).toEqual(tl);
          for (const t of ['v1', 'a1']) {
            // Frames only ever go missing through a cut, never come back twice.
            const ranges = tl.clips.filter((c) => c.trackId === t && c.kind !== 'text' && c.kind !== 'image').map((c) => (c.kind === 'video' || c.kind === 'audio' ? [c.sourceIn, c.sourceOut] : [0, 0])).sort((x, y) => x[0]! - y[0]!);
            for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]!);
          }
        }
        undoAll(w, order);
        const after = readTimeline(w.docs[0]);
        expect(readTimeline(w.docs[1])).toEqual(after);
        for (const t of ['v1', 'a1']) {
          expect(covered(after, t)).toEqual([[0, FRAMES]]);
          expect(total(after, t)).toBe(FRAMES);
        }
        // Every caption word is back (order and timing: the fixed scenarios below).
        expect(allWords(after)).toEqual(allWords(original));
        // Not asserted here: that the pieces merge back into the original clips. Interleaved filler
        // removals over the same pause can leave the media back in several adjacent clips (every frame
        // exactly once: checked above); the fixed scenarios below assert exact
        // equality where it holds.
      }),
      { numRuns: 120 },
    );
  });

  it('both orders of undo after interleaved cuts over the same clip restore all media', { timeout: 60_000 }, () => {
    for (const order of [[0, 1], [1, 0]] as const) {
      const w = world();
      const original = readTimeline(w.docs[0]);
      rippleDeleteRanges(w.docs[1], [[100, 130]], LOCAL_ORIGIN);
      removeFillersAndPauses(w.docs[0], { maxPauseFrames: 6 }, LOCAL_ORIGIN);
      rippleDeleteRanges(w.docs[1], [[20, 40]], LOCAL_ORIGIN);
      undoAll(w, order);
      expect(shape(readTimeline(w.docs[0]))).toEqual(shape(original));
      expect(readTimeline(w.docs[0]).clips).toHaveLength(2); // merged back: one clip per track
      expect(readTimeline(w.docs[0]).cues.map((c) => [c.start, c.end, c.words])).toEqual(original.cues.map((c) => [c.start, c.end, c.words]));
    }
  });

  // KNOWN BUG (docs/CAPTIONS.md "Not done yet"): all media comes back, but B's re-inserted piece
  // lands after the clip A's undo restored instead of before it. Drop `.fails` when fixed.
  it.fails('undoing all in random order puts every piece back in its place (counterexample found by the property)', () => {
    const w = world();
    const original = readTimeline(w.docs[0]);
    for (const o of [{ user: 1, kind: 'word', pick: 121 }, { user: 0, kind: 'fillers', pause: 3 }, { user: 0, kind: 'fillers', pause: 3 }] as Op[]) apply(w, o);
    undoAll(w, [1, 0]);
    expect(covered(readTimeline(w.docs[0]), 'v1')).toEqual([[0, FRAMES]]);
    expect(shape(readTimeline(w.docs[0]))).toEqual(shape(original));
  });

  it("my undo of a cut keeps the other user's later edit of a piece", () => {
    const w = world();
    rippleDeleteRanges(w.docs[1], [[100, 130]], LOCAL_ORIGIN);
    const left = readTimeline(w.docs[0]).clips.find((c) => c.trackId === 'v1' && c.start === 0)!;
    setClipVolume(w.docs[0], left.id, 0.5, LOCAL_ORIGIN);
    w.undo[1].undo();
    const tl = readTimeline(w.docs[0]);
    const v1 = tl.clips.filter((c) => c.trackId === 'v1');
    expect(covered(tl, 'v1')).toEqual([[0, FRAMES]]);
    expect(v1.find((c) => c.id === left.id)).toMatchObject({ audio: { volume: 0.5 } });
  });

  it('alone: trim, cut, undo, undo gives the untrimmed clip back (Yjs undo is used when nobody else wrote)', () => {
    const w = world();
    const clip = readTimeline(w.docs[0]).clips.find((c) => c.trackId === 'v1')!;
    trimClip(w.docs[0], clip.id, { sourceOut: 250 }, LOCAL_ORIGIN);
    w.undo[0].stopCapturing();
    rippleDeleteRanges(w.docs[0], [[50, 70]], LOCAL_ORIGIN);
    w.undo[0].undo();
    w.undo[0].redo();
    w.undo[0].undo();
    w.undo[0].undo();
    expect(readTimeline(w.docs[0]).clips.find((c) => c.trackId === 'v1')).toMatchObject({ id: clip.id, sourceIn: 0, sourceOut: FRAMES });
  });
});
