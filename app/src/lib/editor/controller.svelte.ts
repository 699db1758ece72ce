/**
 * The editor page's one declared session store: what the panels share (playhead, selection, zoom,
 * marks, the remembered layout, renders) and the commands they run. Document changes go through
 * `session.edit` (my undoable edits); `edit()` here shows a refusal next to the timeline instead of
 * losing it. Panels get this object as a prop and read/write its fields; nothing else is global.
 */
import { TRPCClientError } from '@trpc/client';
import { clipLength, timelineLength, type AssetInfo } from '@clipmaker/shared/timeline';
import { compileRenderSpec, EXPORT_PRESETS, frameToSeconds, presetFit, type CropRect, type ExportPreset, type RenderSpec } from '@clipmaker/shared/render-spec';
import * as timelineOps from '@clipmaker/shared/timeline';
import { trpc } from '$lib/trpc';
import { PlaybackClock, shuttle } from './playback.ts';
import { selectionEnd, type DragCommit, type TimelineAction } from './timeline-edits.ts';
import type { SafeZone } from './transform-handles.ts';
import type { PresencePointer } from './presence.ts';
import { EditorSession, LOCAL_ORIGIN } from './session.svelte.ts';
import type { PageData } from '../../routes/projects/[projectId]/$types';

export type EditorPageData = PageData;
export type AssetView = PageData['assets'][number];
export type RenderView = PageData['renders'][number];
export type Edits = EditorSession['edit'];

/** Panel sizes (px) and their limits; remembered in this browser with zoom, magnetic and single keys. */
export const LAYOUT_KEY = 'clipmaker:editor-layout';
export const LAYOUT_LIMITS = { bin: [180, 560], insp: [240, 600], tl: [160, 720] } as const;
export type PanelName = keyof typeof LAYOUT_LIMITS;

/**
 * The timeline's default height: 300 px, less on short screens so that the preview keeps a usable
 * height (at 1280x720 about 230 px of timeline leaves the preview picture over 300 px).
 */
export function defaultTimelineHeight(viewportHeight: number): number {
  return Math.round(Math.max(LAYOUT_LIMITS.tl[0], Math.min(300, viewportHeight * 0.32)));
}

export function toAssetInfo(a: AssetView): AssetInfo {
  return {
    id: a.id, key: a.key, kind: a.kind, name: a.name, width: a.width, height: a.height, fps: a.fps, durationFrames: a.durationFrames, durationUs: a.durationUs, hasAudio: a.hasAudio, sha256: a.sha256,
    container: a.container, videoStartUs: a.videoStartUs, audioStartUs: a.audioStartUs, rotation: a.rotation as 0 | 90 | 180 | 270, sar: a.sar,
  } as AssetInfo;
}

export class EditorController {
  session = $state<EditorSession | null>(null);
  assets = $state<AssetView[]>([]);
  renders = $state<RenderView[]>([]);
  renderError = $state<string | null>(null);
  rendering = $state(false);
  /** The export preset the tray renders with; null: the project's own output. */
  exportPreset = $state<ExportPreset['id'] | null>(null);
  /** The last render that finished (the tray's notice), until dismissed. */
  finished = $state<RenderView | null>(null);
  /** The last refused edit's reason (shown in the timeline's header). */
  editError = $state<string | null>(null);
  playhead = $state(0);
  selectedClipId = $state<string | null>(null);
  /** Timeline selection keys: `clip:<id>`, `cue:<id>`, `tr:<clipId>`, `kf:<clipId>:<frame>`. */
  selection = $state<string[]>([]);
  pxPerFrame = $state(4);
  markIn = $state<number | null>(null);
  markOut = $state<number | null>(null);
  filmstrips = $state<Record<string, string>>({});
  waveforms = $state<Record<string, Float32Array>>({});
  readonly clock = new PlaybackClock();
  /** The playback rate shown (0: paused). */
  playing = $state(0);
  /** The preview stage component, for telling it playback changed. */
  previewStage = $state<{ playbackChanged(): void } | null>(null);
  layout = $state({ bin: 280, insp: 330, tl: 300 });
  magnetic = $state(true);
  showShortcuts = $state(false);
  /** WCAG 2.1.4: single-key shortcuts can be turned off (Ctrl/Cmd combinations stay). */
  singleKeys = $state(true);
  safeZone = $state<SafeZone | null>(null);
  /** The preview shows the selected video's full source frame with its crop rectangle beside the output. */
  showSource = $state(true);
  /** Clips copied with Ctrl+C (ids in this document; pasted as copies of what they are at paste time). */
  clipboard = $state<string[]>([]);
  /** Track row heights in px (this browser, per project); absent: the default for the kind. */
  trackHeights = $state<Record<string, number>>({});
  /** Where media from the bin goes (default: the first track of the kind). */
  targetVideoTrack = $state('v1');
  targetAudioTrack = $state('a1');

  /** Live: the collab server lowers it when the role is changed or the token expires (no reload). */
  readonly canEdit = $derived(this.session ? this.session.canWrite : this.mayEdit);
  readonly tl = $derived(this.session?.timeline ?? null);
  readonly fps = $derived(this.tl?.meta.fps ?? this.projectFps);
  readonly assetById = $derived(new Map((this.tl?.assets ?? []).map((a) => [a.id, a])));
  readonly clipsWithLength = $derived(
    (this.tl?.clips ?? []).map((c) => {
      const asset = c.kind === 'text' ? undefined : this.assetById.get(c.assetId);
      return { clip: c, asset, length: c.kind === 'text' || asset ? clipLength(c, asset, this.fps) : 0 };
    }),
  );
  readonly totalFrames = $derived(this.tl ? timelineLength(this.tl) : 0);
  /** The RenderSpec of the live document: what the preview draws and ffmpeg.wasm renders. */
  readonly spec = $derived.by((): RenderSpec | null => {
    if (!this.tl || this.totalFrames === 0) return null;
    try {
      return this.compile();
    } catch {
      return null;
    }
  });
  readonly videoTracks = $derived((this.tl?.tracks ?? []).filter((t) => t.kind === 'video'));
  readonly audioTracks = $derived((this.tl?.tracks ?? []).filter((t) => t.kind === 'audio'));
  readonly selectedClip = $derived.by(() => {
    const key = this.selection.find((x) => x.startsWith('clip:') || x.startsWith('tr:'));
    const id = key ? key.slice(key.indexOf(':') + 1) : this.selectedClipId;
    return (this.tl?.clips ?? []).find((c) => c.id === id) ?? null;
  });
  readonly selectedCue = $derived.by(() => {
    const key = this.selection.find((x) => x.startsWith('cue:'));
    return key ? ((this.tl?.cues ?? []).find((c) => c.id === key.slice(4)) ?? null) : null;
  });
  /** The clip the playhead tools act on: the selected one if under the playhead, else the topmost picture there. */
  readonly underPlayhead = $derived.by(() => {
    const here = this.clipsWithLength.filter((c) => this.playhead >= c.clip.start && this.playhead < c.clip.start + c.length);
    const order = new Map((this.tl?.tracks ?? []).map((t, i) => [t.id, t.kind === 'video' ? i : -1]));
    return here.find((c) => c.clip.id === this.selectedClip?.id) ?? [...here].sort((a, b) => (order.get(b.clip.trackId) ?? -1) - (order.get(a.clip.trackId) ?? -1))[0] ?? null;
  });

  /** The page's role allows editing (before the collab server says otherwise). */
  private get mayEdit(): boolean {
    return this.data.role === 'owner' || this.data.role === 'editor';
  }

  private get projectFps() {
    return this.data.project.fps;
  }

  /** The chosen preset and whether the project delivers it now (else what to change). */
  readonly presetStatus = $derived.by(() => {
    const preset = EXPORT_PRESETS.find((p) => p.id === this.exportPreset);
    if (!preset || !this.tl) return null;
    return { preset, fit: presetFit(preset, { width: this.tl.meta.width, height: this.tl.meta.height, fps: this.tl.meta.fps }) };
  });
  /** Renders queued or running (the tray's progress). */
  readonly activeRenders = $derived(this.renders.filter((r) => r.status === 'queued' || r.status === 'rendering'));
  /** Assets whose edit proxy is ready: the preview plays that (?rendition=proxy), else the preview rendition. */
  readonly proxied = $derived(new Set(this.assets.filter((a) => a.proxy?.status === 'ready').map((a) => a.id)));

  private readonly subscriptions = new Map<string, { unsubscribe(): void }>();
  private layoutLoaded = false;
  private readonly mediaRequested = new Set<string>();
  /** Review comments link here (?clip=<id>&offset=<n>, or ?cue=<id>). */
  private reviewTarget: { clip: string | null; cue: string | null; offset: number } | null;

  /** Must be constructed while a component initialises (it declares the page's effects). */
  constructor(readonly data: EditorPageData) {
    const q = new URLSearchParams(typeof location === 'undefined' ? '' : location.search);
    this.reviewTarget = q.get('clip') || q.get('cue') ? { clip: q.get('clip'), cue: q.get('cue'), offset: Math.max(0, Number(q.get('offset')) || 0) } : null;

    // Zoom and the magnetic switch are remembered too.
    $effect(() => {
      void this.magnetic;
      void this.pxPerFrame;
      void this.showSource;
      void JSON.stringify(this.trackHeights);
      if (this.layoutLoaded) this.saveLayout();
    });
    $effect(() => this.loadMedia());
    // The timeline's selection drives the presence "selected clip".
    $effect(() => {
      const first = this.selection.find((s) => s.startsWith('clip:'));
      if (first) this.selectedClipId = first.slice(5);
    });
    $effect(() => this.goToReviewTarget());
    // Presence: others see my playhead and selected clip (cursor messages may drop; edits may not).
    $effect(() => this.session?.setPresence({ playhead: this.playhead, selectedClipId: this.selectedClipId, selection: [...this.selection] }));
  }

  /** In the browser (onMount): the remembered layout, the document session and live renders. */
  open(): void {
    this.layout.tl = defaultTimelineHeight(window.innerHeight);
    this.loadLayout();
    this.layoutLoaded = true;
    const data = this.data;
    this.assets = data.assets;
    this.renders = data.renders;
    this.session = new EditorSession({
      canEdit: this.mayEdit,
      url: data.collab.url,
      projectId: data.project.id,
      token: data.collab.token,
      refreshToken: async () => (await trpc.collab.token.query({ projectId: data.project.id })).token,
      user: data.user ? { id: data.user.id, name: data.user.name } : undefined,
    });
    for (const r of this.renders) if (r.status === 'queued' || r.status === 'rendering') this.follow(r.id);
    for (const a of this.assets) this.followProxy(a);
    this.installTestHooks();
  }

  destroy(): void {
    for (const s of this.subscriptions.values()) s.unsubscribe();
    this.session?.destroy();
  }

  /** The live document compiled (throws what the compiler refuses). */
  compile(): RenderSpec {
    return compileRenderSpec($state.snapshot(this.tl!) as NonNullable<typeof this.tl>);
  }

  /**
   * Runs a command on the document as this user's undoable edit; shows its refusal instead of
   * losing it. Each command is its own undo step; continuous gestures (crop drag) pass merge.
   */
  edit<T>(fn: (e: Edits) => T, opts: { merge?: boolean } = {}): T | undefined {
    this.editError = null;
    const s = this.session;
    if (!s) {
      // Before the project's document has loaded there is nothing to edit: say so, never drop it silently.
      this.editError = 'Still connecting to the project: this edit was not made. Try again in a moment.';
      return undefined;
    }
    // The server would refuse it anyway (role lowered, token expired): never let the local doc diverge.
    if (!this.canEdit) {
      this.editError = 'Read-only: this edit was not made.';
      return undefined;
    }
    // The UndoManager would otherwise merge edits made within 400 ms (e.g. S then Delete).
    if (!opts.merge) s.undo.stopCapturing();
    try {
      return fn(s.edit);
    } catch (err) {
      this.editError = err instanceof Error ? err.message : String(err);
      return undefined;
    }
  }

  /** A number input that the document refused shows the document's value again (not the refused one). */
  commitNumber(e: Event, docValue: number, fn: (edits: Edits, v: number) => void): void {
    const input = e.currentTarget as HTMLInputElement;
    const v = Math.round(Number(input.value));
    this.edit((x) => fn(x, v));
    if (this.editError) input.value = String(docValue);
  }

  private selectedClipIds(): string[] {
    return this.selection.filter((x) => x.startsWith('clip:')).map((x) => x.slice(5));
  }

  /** Ctrl+C: the selected clips. */
  copy(): number {
    const ids = this.selectedClipIds();
    if (ids.length) this.clipboard = ids;
    return ids.length;
  }

  /** Ctrl+V: copies of the copied clips at a frame (default: the playhead), selected. */
  paste(frame = this.playhead): void {
    if (this.clipboard.length === 0) {
      this.editError = 'Nothing to paste: copy clips first (Ctrl+C).';
      return;
    }
    const ids = this.clipboard;
    const copies = this.edit((e) => e.paste(ids, frame, this.magnetic));
    if (copies?.length) this.selection = copies.map((id) => `clip:${id}`);
  }

  /** Ctrl+D: copies of the selected clips right after them, selected. */
  duplicate(): void {
    const ids = this.selectedClipIds();
    if (!this.tl || ids.length === 0) return;
    const at = selectionEnd(this.tl, ids);
    const copies = this.edit((e) => e.paste(ids, at, this.magnetic));
    if (copies?.length) this.selection = copies.map((id) => `clip:${id}`);
  }

  /** M: a marker at a frame (default: the playhead), selected. */
  addMarker(frame = this.playhead): void {
    const id = this.edit((e) => e.addMarker(frame));
    if (id) this.selection = [`mk:${id}`];
  }

  /** The timeline's context-menu commands. */
  timelineAction(a: TimelineAction): void {
    if (a.kind === 'copy') this.copy();
    else if (a.kind === 'paste') this.paste(a.frame);
    else if (a.kind === 'duplicate') this.duplicate();
    else if (a.kind === 'split') this.edit((e) => e.splitClip(a.clipId, a.frame));
    else if (a.kind === 'delete') this.deleteSelection(a.ripple);
    else this.addMarker(a.frame);
  }

  select(clipId: string): void {
    this.selectedClipId = clipId;
    this.selection = [`clip:${clipId}`];
  }

  /** Media dragged from the bin onto a track: the asset enters the document if needed, then the clip (magnetic on the main track). */
  dropAsset(assetId: string, trackId: string, frame: number): void {
    const a = this.assets.find((x) => x.id === assetId);
    if (!a) return;
    const id = this.edit((e) => e.dropAsset(toAssetInfo(a), { trackId, frame }, this.magnetic));
    if (id) this.select(id);
  }

  /** Media from the bin onto its target track (video/images: the chosen video track; sound: the chosen audio track). */
  placeOnTimeline(a: AssetView, where: 'video' | 'audio' = a.kind === 'audio' ? 'audio' : 'video'): void {
    const trackId = where === 'audio' ? this.targetAudioTrack : this.targetVideoTrack;
    const id = this.edit((e) => e.addClip(toAssetInfo(a), { trackId, start: a.kind === 'image' ? this.playhead : undefined }));
    if (id) this.select(id);
  }

  addText(text: string): void {
    const id = this.edit((e) => e.addTextClip({ trackId: this.targetVideoTrack, start: this.playhead, text }));
    if (id) this.select(id);
  }

  /** An upload finished: into the bin, and into the document's media. */
  addUploaded(body: AssetView): void {
    this.assets = [body, ...this.assets.filter((a) => a.id !== body.id)];
    this.followProxy(body);
    if (this.session) this.edit((e) => e.addAsset(toAssetInfo(body)));
  }

  /**
   * A crop keyframe at `rel` frames into the clip. `first`: a gesture's first change, a new undo
   * step that the gesture's later changes join until endGesture() (pointer up).
   */
  setCrop(clipId: string, rel: number, rect: CropRect, first = false): void {
    if (first) this.session?.holdUndoStep(true);
    this.edit((e) => e.setCrop(clipId, rel, rect, !first), { merge: !first });
  }

  /** The pointer gesture ended: the next edit is a new undo step again. */
  endGesture(): void {
    this.session?.holdUndoStep(false);
  }

  drag(c: DragCommit): void {
    if (!this.tl) return;
    this.edit((e) => e.drag(c, { magnetic: this.magnetic }));
  }

  deleteSelection(ripple: boolean): void {
    if (!this.session || !this.canEdit || this.selection.length === 0) return;
    const keys = [...this.selection];
    this.edit((e) => e.deleteSelection(keys, { ripple, magnetic: this.magnetic }));
    this.selection = [];
  }

  seek(frame: number): void {
    this.playhead = Math.max(0, Math.min(Math.max(0, this.totalFrames - 1), Math.round(frame)));
    if (this.clock.playing) this.clock.seek(this.playhead);
  }

  setRate(rate: number): void {
    this.clock.fps = this.fps.num / this.fps.den;
    if (rate === 0) this.clock.pause(this.playhead);
    else {
      const from = rate > 0 && this.playhead >= this.totalFrames - 1 ? 0 : this.playhead;
      this.playhead = from;
      this.clock.play(from, rate);
    }
    this.playing = rate;
    this.previewStage?.playbackChanged();
  }

  togglePlay(force?: boolean): void {
    const on = force ?? !this.clock.playing;
    this.setRate(on ? 1 : 0);
  }

  fmt = (frames: number): string => `${frameToSeconds(frames, this.fps).toFixed(2)}s`;

  // ---- presence ----

  private pendingPointer: PresencePointer | null | undefined = undefined;
  /**
   * My pointer over the timeline or the preview, sent at most once per animation frame (pointer
   * events come faster than anyone can see; a dropped one is replaced by the next).
   */
  pointTo(pointer: PresencePointer | null): void {
    const first = this.pendingPointer === undefined;
    this.pendingPointer = pointer;
    if (!first) return;
    requestAnimationFrame(() => {
      const p = this.pendingPointer;
      this.pendingPointer = undefined;
      if (p !== undefined) this.session?.setPresence({ pointer: p });
    });
  }

  // ---- edit proxies (the bin's "proxy 40%", then "proxy") ----

  /** Why the last "Make proxy" / "Retry proxy" was refused, per asset id (shown in its bin row). */
  proxyErrors = $state<Record<string, string>>({});

  /** A video the farm may make an edit proxy of on request: none yet (older uploads) or failed. */
  canMakeProxy(a: AssetView): boolean {
    return this.canEdit && a.kind === 'video' && (a.proxy === null || a.proxy.status === 'failed');
  }

  /** The bin's "Make proxy" / "Retry proxy": the server queues it once (a second click is a no-op), the bin then follows it like an upload's. */
  async makeProxy(a: AssetView): Promise<void> {
    const { [a.id]: _gone, ...rest } = this.proxyErrors;
    this.proxyErrors = rest;
    try {
      const u = await trpc.assets.makeProxy.mutate({ assetId: a.id });
      if (!u) return;
      const now = { ...a, proxy: { status: u.status, percent: u.percent } };
      this.assets = this.assets.map((x) => (x.id === a.id ? { ...x, proxy: now.proxy } : x));
      this.followProxy(now);
    } catch (err) {
      this.proxyErrors = { ...this.proxyErrors, [a.id]: err instanceof Error ? err.message : String(err) };
    }
  }

  followProxy(a: AssetView): void {
    const key = `proxy:${a.id}`;
    if (this.subscriptions.has(key) || (a.proxy?.status !== 'queued' && a.proxy?.status !== 'encoding')) return;
    const sub = trpc.assets.onProxyUpdate.subscribe(
      { assetId: a.id },
      {
        onData: (u) => {
          this.assets = this.assets.map((x) => (x.id === u.assetId ? { ...x, proxy: { status: u.status, percent: u.percent } } : x));
          if (u.status === 'ready' || u.status === 'failed') {
            this.subscriptions.get(key)?.unsubscribe();
            this.subscriptions.delete(key);
          }
        },
        onError: () => this.subscriptions.delete(key),
      },
    );
    this.subscriptions.set(key, sub);
  }

  // ---- renders ----

  follow(renderId: string): void {
    if (this.subscriptions.has(renderId)) return;
    const sub = trpc.renders.onUpdate.subscribe(
      { renderId },
      {
        onData: async (u) => {
          const done = u.status === 'succeeded' || u.status === 'failed' || u.status === 'cancelled';
          if (done) {
            const fresh = await trpc.renders.get.query({ renderId });
            this.renders = this.renders.map((r) => (r.id === renderId ? fresh : r));
            this.notifyFinished(fresh);
            this.subscriptions.get(renderId)?.unsubscribe();
            this.subscriptions.delete(renderId);
          } else {
            this.renders = this.renders.map((r) => (r.id === renderId ? { ...r, status: u.status, stage: u.stage, percent: u.percent, fps: u.fps, etaSeconds: u.etaSeconds, error: u.error } : r));
          }
        },
        onError: () => this.subscriptions.delete(renderId),
      },
    );
    this.subscriptions.set(renderId, sub);
  }

  /** A finished render: the tray's notice, and a system notification when the user allowed them. */
  private notifyFinished(r: RenderView): void {
    if (r.status === 'cancelled') return;
    this.finished = r;
    try {
      if (typeof Notification !== 'undefined' && Notification.permission === 'granted' && document.visibilityState === 'hidden')
        new Notification(`${this.data.project.name} v${r.version} ${r.status === 'succeeded' ? 'is ready' : 'failed'}`, { body: r.error ?? 'Open ClipMaker to download it.' });
    } catch {
      /* notifications unavailable: the in-page notice stays */
    }
  }

  /** Renders the SAVED doc: the server refuses until our state vector is persisted, so retry briefly. */
  async render(): Promise<void> {
    const session = this.session;
    if (!session) return;
    const status = this.presetStatus;
    if (status && !status.fit.ok) {
      this.renderError = status.fit.reason;
      return;
    }
    // Asked on this click (a user gesture); used only when the tab is in the background.
    if (typeof Notification !== 'undefined' && Notification.permission === 'default') void Notification.requestPermission().catch(() => {});
    this.rendering = true;
    this.renderError = null;
    this.finished = null;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await trpc.renders.create.mutate({ projectId: this.data.project.id, stateVector: session.stateVector(), priority: 'normal', preset: this.exportPreset ?? undefined });
          this.renders = [r, ...this.renders];
          this.follow(r.id);
          break;
        } catch (err) {
          if (err instanceof TRPCClientError && err.data?.code === 'PRECONDITION_FAILED' && attempt < 20) {
            await new Promise((res) => setTimeout(res, 250));
            continue;
          }
          throw err;
        }
      }
    } catch (err) {
      this.renderError = err instanceof Error ? err.message : String(err);
    } finally {
      this.rendering = false;
    }
  }

  async cancelRender(renderId: string): Promise<void> {
    try {
      const c = await trpc.renders.cancel.mutate({ renderId });
      this.renders = this.renders.map((x) => (x.id === renderId ? c : x));
    } catch (err) {
      this.renderError = err instanceof Error ? err.message : String(err);
    }
  }

  // ---- keyboard ----

  onKey(event: KeyboardEvent): void {
    const target = event.target as HTMLElement;
    if (target.closest('input, textarea, select, [contenteditable]')) return;
    const s = this.session;
    if (!s) return;
    const key = event.key.toLowerCase();
    if ((event.ctrlKey || event.metaKey) && (key === 'z' || key === 'y')) {
      event.preventDefault();
      if (event.shiftKey || key === 'y') s.undo.redo();
      else s.undo.undo();
      return;
    }
    if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && (key === 'c' || key === 'v' || key === 'd' || key === 'a')) {
      // Only where the timeline (or nothing) has focus: elsewhere these are the browser's.
      if (target.closest('[data-testid=timeline]') === null && target !== document.body) return;
      event.preventDefault();
      if (key === 'c') this.copy();
      else if (key === 'v') this.paste();
      else if (key === 'd') this.duplicate();
      else this.selection = this.clipsWithLength.map((c) => `clip:${c.clip.id}`);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    // Single keys act on the timeline and the preview (and with nothing focused), never on another
    // control: Space/Enter on a button press that button. They can be turned off in the sheet (?).
    const surface = target.closest('[data-testid=timeline], [data-testid=preview-panel]');
    const control = target.closest('button, a, summary, [role=separator], dialog');
    if (control && (!surface || key === ' ' || key === 'enter')) return;
    if (key === '?') {
      event.preventDefault();
      this.showShortcuts = !this.showShortcuts;
      return;
    }
    if (!this.singleKeys) return;
    const playhead = this.playhead;
    if (key === ' ') {
      event.preventDefault();
      this.togglePlay();
    } else if (key === 'j' || key === 'k' || key === 'l') this.setRate(shuttle(this.clock.rate, key));
    else if (key === 'arrowright') { event.preventDefault(); this.seek(playhead + (event.shiftKey ? 10 : 1)); }
    else if (key === 'arrowleft') { event.preventDefault(); this.seek(playhead - (event.shiftKey ? 10 : 1)); }
    else if (key === 'home') this.seek(0);
    else if (key === 'end') this.seek(this.totalFrames - 1);
    else if (key === 'i') this.markIn = playhead;
    else if (key === 'o') this.markOut = playhead;
    else if (key === 'm' && this.canEdit) this.addMarker(playhead);
    else if (key === 'delete' || key === 'backspace') { event.preventDefault(); this.deleteSelection(event.shiftKey); }
    else if (key === '+' || key === '=') this.pxPerFrame = Math.min(40, this.pxPerFrame * 1.25);
    else if (key === '-') this.pxPerFrame = Math.max(0.05, this.pxPerFrame * 0.8);
    else if (key === 's' && this.canEdit && this.underPlayhead && this.underPlayhead.clip.start < playhead) {
      const clipId = this.underPlayhead.clip.id;
      this.edit((e) => e.splitClip(clipId, playhead));
    }
  }

  // ---- layout ----

  saveLayout = (): void => {
    try {
      const pid = this.data.project.id;
      localStorage.setItem(LAYOUT_KEY, JSON.stringify({ ...this.layout, magnetic: this.magnetic, singleKeys: this.singleKeys, showSource: this.showSource, zoom: { [pid]: this.pxPerFrame }, trackHeights: { [pid]: this.trackHeights } }));
    } catch {
      /* private mode: not remembered */
    }
  };

  private loadLayout(): void {
    try {
      const v = JSON.parse(localStorage.getItem(LAYOUT_KEY) ?? '{}') as Partial<typeof this.layout> & { magnetic?: boolean; singleKeys?: boolean; showSource?: boolean; zoom?: Record<string, number>; trackHeights?: Record<string, Record<string, unknown>> };
      for (const k of ['bin', 'insp', 'tl'] as const) if (typeof v[k] === 'number') this.layout[k] = clampPanel(k, v[k]!);
      if (typeof v.magnetic === 'boolean') this.magnetic = v.magnetic;
      if (typeof v.singleKeys === 'boolean') this.singleKeys = v.singleKeys;
      if (typeof v.showSource === 'boolean') this.showSource = v.showSource;
      const z = v.zoom?.[this.data.project.id];
      if (typeof z === 'number' && z > 0.04 && z <= 40) this.pxPerFrame = z;
      const heights = v.trackHeights?.[this.data.project.id] ?? {};
      this.trackHeights = Object.fromEntries(Object.entries(heights).filter((e): e is [string, number] => typeof e[1] === 'number').map(([k, h]) => [k, clampTrackHeight(h)]));
    } catch {
      /* damaged: defaults */
    }
  }

  resizePanel(which: PanelName, px: number): void {
    this.layout[which] = Math.round(clampPanel(which, px));
  }

  // ---- effects ----

  /** Filmstrips and waveforms for the media on the timeline, made in the browser by ffmpeg.wasm. */
  private loadMedia(): void {
    const tl = this.tl;
    for (const a of tl?.assets ?? []) {
      if (a.kind === 'image' || this.mediaRequested.has(a.id) || !(tl?.clips ?? []).some((c) => c.kind !== 'text' && c.assetId === a.id)) continue;
      this.mediaRequested.add(a.id);
      void (async () => {
        try {
          const wasm = await import('./ffmpeg-wasm.ts');
          const seconds = a.durationUs / 1e6;
          if (a.kind === 'video') {
            const strip = await wasm.filmstrip(a.id, seconds, Math.max(4, Math.min(60, Math.round(seconds))), 48, a.container ?? null);
            this.filmstrips = { ...this.filmstrips, [a.id]: URL.createObjectURL(strip) };
          }
          if (a.hasAudio) this.waveforms = { ...this.waveforms, [a.id]: await wasm.waveform(a.id, 50, a.container ?? null) };
        } catch (err) {
          console.warn('filmstrip/waveform failed', err);
        }
      })();
    }
  }

  /**
   * Selects the review comment's item in today's doc by id, wherever it was moved or trimmed since
   * the render, and puts the playhead at the commented offset in it.
   */
  private goToReviewTarget(): void {
    const target = this.reviewTarget;
    const tl = this.tl;
    if (!target || !tl) return;
    const c = target.clip ? this.clipsWithLength.find((x) => x.clip.id === target.clip && x.length > 0) : null;
    const cue = target.cue ? tl.cues.find((x) => x.id === target.cue) : null;
    if (c) {
      this.select(c.clip.id);
      this.seek(c.clip.start + Math.min(target.offset, c.length - 1));
    } else if (cue) this.seek(target.clip ? cue.start : cue.start + Math.min(target.offset, Math.max(0, cue.end - cue.start - 1)));
    else return; // not loaded yet (or deleted since): keep waiting for the doc
    this.reviewTarget = null;
  }

  /** Hooks for the fidelity test and the preview benchmark. */
  private installTestHooks(): void {
    (window as unknown as Record<string, unknown>).__clipmakerEditor = {
      spec: () => (this.tl ? this.compile() : null),
      timeline: () => (this.tl ? $state.snapshot(this.tl) : null),
      /** Runs one shared timeline op as this user's edit (tests and tools); throws the refusal. */
      op: (name: string, ...args: unknown[]) => {
        const s = this.session;
        if (!s) throw new Error('no session');
        const fn = (timelineOps as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
        if (typeof fn !== 'function') throw new Error(`no op ${name}`);
        let result: unknown;
        this.edit(() => (result = fn(s.doc, ...args, LOCAL_ORIGIN)));
        if (this.editError) throw new Error(this.editError);
        return result;
      },
      renderRangeBase64: async (start: number, end: number) => {
        const wasm = await import('./ffmpeg-wasm.ts');
        const bytes = await wasm.renderRange(this.compile(), { start, end }, { audio: false });
        let bin = '';
        for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(bin);
      },
      filmstripMs: async (assetId: string) => {
        const wasm = await import('./ffmpeg-wasm.ts');
        await wasm.getFfmpeg();
        const a = this.assetById.get(assetId)!;
        const t0 = performance.now();
        await wasm.filmstrip(assetId, a.durationUs / 1e6, 10, 48, a.container ?? null);
        return performance.now() - t0;
      },
      play: () => this.togglePlay(true),
      pause: () => this.togglePlay(false),
      setCrop: (clipId: string, rel: number, rect: CropRect) => this.setCrop(clipId, rel, rect),
      setStyle: (patch: Record<string, unknown>) => this.edit((e) => e.setSubtitleStyle(patch)),
    };
  }
}

/** Track rows from 24 px (a thin strip) to 160 px (big filmstrips). */
export const TRACK_HEIGHT_LIMITS = [24, 160] as const;

export function clampTrackHeight(px: number): number {
  return Math.round(Math.max(TRACK_HEIGHT_LIMITS[0], Math.min(TRACK_HEIGHT_LIMITS[1], px)));
}

function clampPanel(which: PanelName, px: number): number {
  return Math.max(LAYOUT_LIMITS[which][0], Math.min(LAYOUT_LIMITS[which][1], px));
}
