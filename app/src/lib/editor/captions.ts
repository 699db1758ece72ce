/**
 * Pure helpers behind the editor's Auto-captions button and transcript panel (docs/CAPTIONS.md):
 * transcript words (ms of the asset) -> caption cues on the timeline under the clip that plays that
 * asset, and the flat word list the panel shows (from the document's caption cues, so edits,
 * ripple-cuts and collaborators' changes are what it lists).
 */
import { transcriptToCues, type CaptionCue, type CaptionPreset, type TranscriptWord } from '@clipmaker/shared/captions';
import type { Fps } from '@clipmaker/shared/render-spec';
import type { AssetInfo, ClipSnapshot, CueSnapshot, MediaClipSnapshot } from '@clipmaker/shared/timeline';

/** The clip Auto-captions transcribes: the selected one if it plays audio, else the first such clip in time. */
export function captionSourceClip(clips: readonly ClipSnapshot[], assets: readonly AssetInfo[], selectedId: string | null): MediaClipSnapshot | null {
  const withAudio = clips.filter((c): c is MediaClipSnapshot => (c.kind === 'video' || c.kind === 'audio') && assets.some((a) => a.id === c.assetId && a.hasAudio));
  return withAudio.find((c) => c.id === selectedId) ?? [...withAudio].sort((a, b) => a.start - b.start)[0] ?? null;
}

/** The clip's source in/out points in ms of its asset (source frames at the asset's fps; audio at the timeline's). */
export function clipSourceMs(clip: Pick<MediaClipSnapshot, 'sourceIn' | 'sourceOut'>, asset: Pick<AssetInfo, 'fps'>, fps: Fps): { inMs: number; outMs: number } {
  const f = asset.fps ?? fps;
  const ms = (frames: number) => Math.round((frames * f.den * 1000) / f.num);
  return { inMs: ms(clip.sourceIn), outMs: ms(clip.sourceOut) };
}

/**
 * Caption cues for the words the clip plays: words outside its in/out points are left out, the rest
 * land at clip.start + (word time - in point). Speed changes are refused (words would drift).
 * Words the transcript rated below LOW_CONFIDENCE carry `low: true` into the document.
 */
export function captionCuesForClip(words: readonly TranscriptWord[], clip: MediaClipSnapshot, asset: AssetInfo, fps: Fps, preset: CaptionPreset): CaptionCue[] {
  if (clip.speed.num !== clip.speed.den || clip.reverse) throw new Error('Auto-captions needs the clip at normal speed, not reversed');
  const { inMs, outMs } = clipSourceMs(clip, asset, fps);
  const inside = words.filter((w) => w.start >= inMs && w.end <= outMs).map((w) => ({ ...w, start: w.start - inMs, end: w.end - inMs }));
  return transcriptToCues(inside, { fps, rules: preset, offsetFrames: clip.start, mediaEndMs: outMs - inMs });
}

export interface PanelWord {
  cueId: string;
  /** Index of the word inside its cue (what editCaptionWord takes). */
  index: number;
  text: string;
  start: number;
  end: number;
  /** The transcript rated it below LOW_CONFIDENCE and nobody has fixed or confirmed it yet. */
  low: boolean;
}

/** Every word of every caption cue (those with word timings), in time order. */
export function panelWords(cues: readonly CueSnapshot[]): PanelWord[] {
  const out: PanelWord[] = [];
  for (const c of cues) {
    if (!c.words) continue;
    const tokens = c.text.split(/\s+/u).filter(Boolean);
    if (tokens.length !== c.words.length) continue;
    c.words.forEach((w, index) => out.push({ cueId: c.id, index, text: tokens[index]!, start: w.start, end: w.end, low: w.low === true }));
  }
  return out.sort((a, b) => a.start - b.start || a.index - b.index);
}

/**
 * The next low-confidence word after the word at index `from` (-1: from the start), wrapping round
 * to the first; null when none is flagged.
 */
export function nextUncertain(words: readonly PanelWord[], from: number): number | null {
  for (let k = 1; k <= words.length; k++) {
    const i = (((from + k) % words.length) + words.length) % words.length;
    if (words[i]!.low) return i;
  }
  return null;
}

/** Frame ranges [start, end) of the selected words, for rippleDeleteRanges. */
export function selectedRanges(words: readonly PanelWord[], selected: ReadonlySet<string>): [number, number][] {
  return words.filter((w) => selected.has(wordKey(w))).map((w) => [w.start, w.end]);
}

export function wordKey(w: Pick<PanelWord, 'cueId' | 'index'>): string {
  return `${w.cueId}:${w.index}`;
}

export function msToFrames(ms: number, fps: Fps): number {
  return Math.round((ms * fps.num) / (fps.den * 1000));
}

/** m:ss.cc of a timeline frame. */
export function frameClock(frame: number, fps: Fps): string {
  const s = (frame * fps.den) / fps.num;
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(2).padStart(5, '0')}`;
}
