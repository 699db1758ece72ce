/**
 * Presence: what each collaborator is looking at, shared through the provider's awareness
 * (y-protocols). Presence is synced but never saved, and it may drop: a lost cursor message is
 * replaced by the next one. States of peers that disconnect are removed (by y-websocket on close
 * and by the server when their socket leaves); states nobody renewed for 30 s are removed by the
 * awareness' outdated check.
 */
import type { Awareness } from 'y-protocols/awareness';

export interface PresenceUser {
  id: string;
  name: string;
  color: string;
}

export interface PresenceState {
  user: PresenceUser;
  /** Timeline frame of the playhead. */
  playhead: number;
  selectedClipId: string | null;
  /** Pointer over the timeline: x as a fraction of its width (0..1), y in CSS pixels; null when away. */
  cursor: { x: number; y: number } | null;
  /** Selected timeline items, as the editor names them (e.g. "clip:<id>", "cue:<id>"). */
  selection: string[];
  /** Where the pointer is on the main timeline or over the preview picture; null when elsewhere. */
  pointer: PresencePointer | null;
}

/**
 * A pointer in document terms, so it lands on the same spot whatever the viewer's zoom or window:
 * on the timeline a frame and a track (null: the ruler); on the preview a fraction (0..1) of the
 * output picture.
 */
export type PresencePointer = { area: 'timeline'; frame: number; trackId: string | null } | { area: 'preview'; x: number; y: number };

export interface Peer extends PresenceState {
  /** Awareness client id (one user may have several tabs). */
  clientId: number;
}

/** sRGB channels (0..1) of an HSL colour; hue in degrees, s and l in 0..1. */
export function hslToRgb(hue: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    return l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return [channel(0), channel(8), channel(4)];
}

/** WCAG relative luminance of sRGB channels (0..1). */
export function relativeLuminance([r, g, b]: readonly [number, number, number]): number {
  const lin = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/**
 * Lowest luminance a presence colour may have: the names on it are dark text (#111, luminance
 * 0.0056), which then reads at >= 5.5:1 (WCAG AA asks 4.5:1), with room for the 0.9 opacity of a
 * peer's playhead over the dark timeline.
 */
export const PRESENCE_MIN_LUMINANCE = 0.26;

/**
 * A stable, readable colour for a user id (the same in every browser): the hue comes from the id,
 * the lightness is raised from 60 % until dark text on it passes the contrast check (blues and
 * purples at 60 % are too dark for it).
 */
export function colorForUser(userId: string): string {
  let h = 2166136261;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  const hue = (h >>> 0) % 360;
  let lightness = 60;
  while (lightness < 90 && relativeLuminance(hslToRgb(hue, 0.7, lightness / 100)) < PRESENCE_MIN_LUMINANCE) lightness += 2;
  return `hsl(${hue} 70% ${lightness}%)`;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const unit = (v: number) => Math.max(0, Math.min(1, v));

function parsePointer(raw: unknown): PresencePointer | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  if (r.area === 'timeline' && finite(r.frame) && r.frame >= 0) return { area: 'timeline', frame: Math.round(r.frame), trackId: typeof r.trackId === 'string' ? r.trackId.slice(0, 64) : null };
  if (r.area === 'preview' && finite(r.x) && finite(r.y)) return { area: 'preview', x: unit(r.x), y: unit(r.y) };
  return null;
}

/** Validates one remote awareness state; anything a buggy or hostile peer sends is dropped. */
export function parsePresence(raw: unknown): PresenceState | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  const u = r.user as Record<string, unknown> | undefined;
  if (!u || typeof u.id !== 'string' || typeof u.name !== 'string') return null;
  // The colour is the user id's, whatever the peer sent: every browser shows the same one, and names
  // drawn on it keep their contrast (an older or hostile client could send a dark one).
  const color = colorForUser(u.id);
  const c = r.cursor as Record<string, unknown> | null | undefined;
  return {
    user: { id: u.id.slice(0, 100), name: u.name.slice(0, 100), color },
    playhead: finite(r.playhead) && r.playhead >= 0 ? Math.round(r.playhead) : 0,
    selectedClipId: typeof r.selectedClipId === 'string' ? r.selectedClipId.slice(0, 64) : null,
    cursor: c && finite(c.x) && finite(c.y) ? { x: Math.max(0, Math.min(1, c.x)), y: c.y } : null,
    selection: Array.isArray(r.selection) ? r.selection.filter((x): x is string => typeof x === 'string').slice(0, 50).map((x) => x.slice(0, 80)) : [],
    pointer: parsePointer(r.pointer),
  };
}

/** Every other client's presence (my own client excluded), ordered by name then client id. */
export function readPeers(awareness: Awareness): Peer[] {
  const peers: Peer[] = [];
  for (const [clientId, raw] of awareness.getStates()) {
    if (clientId === awareness.clientID) continue;
    const p = parsePresence(raw);
    if (p) peers.push({ ...p, clientId });
  }
  return peers.sort((a, b) => a.user.name.localeCompare(b.user.name) || a.clientId - b.clientId);
}

export function initialPresence(user: { id: string; name: string }): PresenceState {
  return { user: { id: user.id, name: user.name, color: colorForUser(user.id) }, playhead: 0, selectedClipId: null, cursor: null, selection: [], pointer: null };
}

/** A peer as the overlays draw it: who, in which colour. */
export interface PeerMark {
  clientId: number;
  userId: string;
  name: string;
  color: string;
}

const markOf = (p: Peer): PeerMark => ({ clientId: p.clientId, userId: p.user.id, name: p.user.name, color: p.user.color });

/** Clip id -> the peers that have that clip selected (their "clip:<id>" selection keys). */
export function peerSelections(peers: readonly Peer[]): Map<string, PeerMark[]> {
  const out = new Map<string, PeerMark[]>();
  for (const p of peers)
    for (const key of p.selection) {
      if (!key.startsWith('clip:')) continue;
      const id = key.slice('clip:'.length);
      out.set(id, [...(out.get(id) ?? []), markOf(p)]);
    }
  return out;
}

/** Each peer's playhead (one line per client). */
export const peerPlayheads = (peers: readonly Peer[]): (PeerMark & { frame: number })[] => peers.map((p) => ({ ...markOf(p), frame: p.playhead }));

/** The peers whose pointer is in `area`, with where. */
export function peerPointers<A extends PresencePointer['area']>(peers: readonly Peer[], area: A): (PeerMark & { at: Extract<PresencePointer, { area: A }> })[] {
  const out: (PeerMark & { at: Extract<PresencePointer, { area: A }> })[] = [];
  for (const p of peers) if (p.pointer?.area === area) out.push({ ...markOf(p), at: p.pointer as Extract<PresencePointer, { area: A }> });
  return out;
}
