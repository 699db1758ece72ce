/**
 * The realtime preview: one PixiJS (WebGL) stage at the OUTPUT size drawing the timeline frame at
 * the playhead from the RenderSpec compiled in the browser, layer by layer, with the SAME per-frame
 * definitions as the ffmpeg builder (shared/render-spec/layers.ts): which source frame, crop,
 * size, rotation, placement (overlay's even-pixel placement included), opacity, colour dips, wipe
 * masks and typewriter reveal. Text is laid out as libass lays out the clip's ASS (font size = line
 * height, greedy wrapping in the box, alignment, outline, shadow, per-line boxes); subtitles as
 * libass lays out the cue script. Pure layout helpers live in preview-geometry.ts.
 */
import 'pixi.js/unsafe-eval';
import { Application, BufferImageSource, CanvasSource, CanvasTextMetrics, ColorMatrixFilter, Container, Graphics, Rectangle, Sprite, Text, Texture, TextStyle, VideoSource } from 'pixi.js';
import { layerFrame, layerGeometry, planLayers, visualLayers, wipeHiddenRect, type LayerFrame, type LayerGeometry, type RenderSpec, type TextClip, type VisualLayer } from '@clipmaker/shared/render-spec';
import { BUNDLED_FONT } from '@clipmaker/shared/fonts';
import { activeWordScale, captionAt, wordVisible } from '@clipmaker/shared/captions';
import { layoutText, subtitleLayout, wordCaptionLayout, type TextLine } from './preview-geometry';
import { fontsReady, loadFonts, type FontUse } from './fonts';

export interface DrawInput {
  spec: RenderSpec;
  frame: number;
  /** The decoded video of each video layer on screen (keyed by clip id), already at its source frame. */
  videos: ReadonlyMap<string, HTMLVideoElement>;
  /**
   * Playback: while a video layer's media is still loading (a cut to a clip whose <video> has no
   * picture yet, a proxy that just replaced the original), keep showing the last picture instead of
   * drawing the frame with a hole (black), for at most HOLD_LAST_PICTURE_MS. draw() then returns false.
   */
  holdWhileLoading?: boolean;
}

/** Longest playback keeps the previous picture while a layer's media loads; then it draws without it. */
export const HOLD_LAST_PICTURE_MS = 1500;

interface Plan {
  spec: RenderSpec;
  layers: { layer: VisualLayer; geometry: LayerGeometry }[];
}

interface LayerNode {
  root: Container;
  content: Container;
  sprite: Sprite | null;
  mask: Graphics;
  tint: ColorMatrixFilter;
  textKey: string;
}

export class PixiStage {
  readonly app = new Application();
  private layerHost = new Container();
  private nodes = new Map<string, LayerNode>();
  /** A picture is on the canvas (none after a resize, which clears it). */
  private hasRendered = false;
  /** When playback first found a video layer without a picture (DrawInput.holdWhileLoading). */
  private loadingSince: number | null = null;
  /** Draws that kept the previous picture, and frames drawn with a video layer missing (counted for tests and benches). */
  readonly loadStats = { held: 0, drawnWithout: 0 };
  private videoTextures = new Map<HTMLVideoElement, Texture>();
  /** Frames each video has presented (requestVideoFrameCallback) and the count last uploaded. */
  private presented = new Map<HTMLVideoElement, number>();
  private uploadedAt = new Map<HTMLVideoElement, number>();
  /** Per video: which way its last picture was uploaded (a change of way uploads again). */
  private uploadPath = new Map<HTMLVideoElement, 'cropped' | 'shrunk' | 'whole'>();
  /** Per video: its crop drawn at the size it is shown, for realtime draws (see shrunkTexture). */
  private shrunk = new Map<HTMLVideoElement, { ctx: CanvasRenderingContext2D; texture: Texture; key: string }>();
  /** Per video: its crop converted to RGBA by WebCodecs (VideoFrame.copyTo), see croppedTexture. */
  private cropped = new Map<HTMLVideoElement, { texture: Texture; key: string }>();
  /** False once VideoFrame.copyTo failed here (older browser, tainted video): the 2D canvas path instead. */
  private canCopyFrames = typeof VideoFrame !== 'undefined';
  private subtitleBox = new Graphics();
  private subtitleText: Text | null = null;
  private subtitleKey = '';
  /** Word-styled captions: one Text per word, reused frame to frame. */
  private wordHost = new Container();
  private wordTexts: Text[] = [];
  private images = new Map<string, Texture | 'loading'>();
  private plan: Plan | null = null;
  private width = 0;
  private height = 0;
  private scale = 1;
  /**
   * Backing-store scale: the stage lays out in OUTPUT pixels and renders at output size x scale, so
   * the realtime view only pays for the pixels it shows; grabs for fidelity render at scale 1.
   */
  renderScale = 1;
  /** Milliseconds each draw() took on the CPU side (texture upload + render submit), newest last. */
  readonly drawTimes: number[] = [];
  onImageLoaded: (() => void) | null = null;
  /** Called when fonts a frame asked for have loaded (the paused preview redraws). */
  onFontsLoaded: (() => void) | null = null;
  /** Font uses (family, weight, text) known loaded, and those being fetched. */
  private fontsLoaded = new Set<string>();
  private fontsLoading = new Set<string>();

  async init(canvas: HTMLCanvasElement, width: number, height: number): Promise<void> {
    await this.app.init({ canvas, width, height, background: 0x000000, preference: 'webgl', antialias: false, autoStart: false, preserveDrawingBuffer: true, resolution: 1, autoDensity: false });
    this.app.ticker?.stop();
    this.width = width;
    this.height = height;
    this.app.stage.addChild(this.layerHost, this.subtitleBox, this.wordHost);
  }

  resize(width: number, height: number, scale = this.renderScale): void {
    if (width === this.width && height === this.height && scale === this.scale) return;
    this.width = width;
    this.height = height;
    this.scale = scale;
    this.app.renderer.resize(Math.max(2, Math.round(width * scale)), Math.max(2, Math.round(height * scale)));
    this.app.stage.scale.set(scale);
    this.hasRendered = false;
  }

  /** The layers of a spec with their geometry, computed once per spec. */
  private planFor(spec: RenderSpec): Plan {
    if (this.plan?.spec === spec) return this.plan;
    const { width: W, height: H } = spec.output;
    this.plan = { spec, layers: visualLayers(spec, planLayers(spec)).map((layer) => ({ layer, geometry: layerGeometry(layer, W, H) })) };
    return this.plan;
  }

  /** Layers on screen at a frame (the preview seeks their videos before drawing). */
  activeLayers(spec: RenderSpec, frame: number): { layer: VisualLayer; frame: LayerFrame }[] {
    return this.planFor(spec)
      .layers.filter(({ layer }) => frame >= layer.start && frame < layer.end)
      .map(({ layer, geometry }) => ({ layer, frame: layerFrame(layer, geometry, frame, spec) }));
  }

  /** What the text layers and the subtitle on screen at a frame draw, in which family and weight. */
  private fontUses(spec: RenderSpec, frame: number): FontUse[] {
    const uses: FontUse[] = [];
    for (const { layer } of this.planFor(spec).layers) {
      if (layer.clip.kind === 'text' && frame >= layer.start && frame < layer.end) uses.push({ family: layer.clip.style.fontFamily, bold: layer.clip.style.bold, text: layer.clip.text });
    }
    const cue = spec.subtitles.cues.find((q) => frame >= q.start && frame < q.end && q.text.trim() !== '');
    if (cue) uses.push({ family: BUNDLED_FONT.family, bold: spec.subtitles.style.bold, text: cue.text });
    return uses;
  }

  /**
   * True when every font the frame's text needs is loaded; otherwise starts loading the missing
   * subsets (onFontsLoaded follows) and returns false: text is never drawn in a fallback font.
   */
  fontsReadyAt(spec: RenderSpec, frame: number): boolean {
    let ready = true;
    for (const u of this.fontUses(spec, frame)) {
      const key = `${u.family}|${u.bold}|${u.text}`;
      if (this.fontsLoaded.has(key)) continue;
      if (fontsReady([u])) {
        this.fontsLoaded.add(key);
        continue;
      }
      ready = false;
      if (this.fontsLoading.has(key)) continue;
      this.fontsLoading.add(key);
      void loadFonts([u]).then(() => {
        this.fontsLoading.delete(key);
        this.fontsLoaded.add(key);
        this.onFontsLoaded?.();
      });
    }
    return ready;
  }

  /** Draws a frame; false when it kept the previous picture instead (DrawInput.holdWhileLoading). */
  draw(input: DrawInput, scale = this.renderScale): boolean {
    const t0 = performance.now();
    const { spec, frame } = input;
    const W = spec.output.width;
    const H = spec.output.height;
    this.resize(W, H, scale);
    const live = new Set<string>();
    const order: Container[] = [];
    let loading = false;
    // Text waits for its fonts (playback draws the frame without it; paused draws wait, see PreviewStage).
    const fonts = this.fontsReadyAt(spec, frame);
    for (const { layer, geometry } of this.planFor(spec).layers) {
      if (frame < layer.start || frame >= layer.end) continue;
      if (layer.clip.kind === 'text' && !fonts) continue;
      const lf = layerFrame(layer, geometry, frame, spec);
      const node = this.nodeFor(layer.clip.id);
      if (!this.drawLayer(node, layer, geometry, lf, input)) {
        if (layer.clip.kind === 'video') loading = true;
        continue;
      }
      order.push(node.root);
      live.add(layer.clip.id);
    }
    if (loading && input.holdWhileLoading && this.hasRendered) {
      const now = performance.now();
      this.loadingSince ??= now;
      if (now - this.loadingSince < HOLD_LAST_PICTURE_MS) {
        this.loadStats.held++;
        return false;
      }
    } else if (!loading) this.loadingSince = null;
    if (loading) this.loadStats.drawnWithout++;
    // Bottom track first. Re-adding moves a node to the top, but is a structure change that makes
    // PixiJS rebuild the whole scene's instructions, so only when the order on screen changed.
    const shown = new Set(order);
    const current = this.layerHost.children.filter((c) => shown.has(c as Container));
    if (current.length !== order.length || current.some((c, i) => c !== order[i])) for (const root of order) this.layerHost.addChild(root);
    for (const [id, node] of this.nodes) {
      node.root.visible = live.has(id);
      if (!this.planFor(spec).layers.some((l) => l.layer.clip.id === id)) {
        node.root.destroy({ children: true });
        this.nodes.delete(id);
      }
    }
    this.drawSubtitle(spec, fonts ? frame : -1, W, H);
    this.app.renderer.render(this.app.stage);
    this.hasRendered = true;
    this.drawTimes.push(performance.now() - t0);
    if (this.drawTimes.length > 2000) this.drawTimes.splice(0, 1000);
    return true;
  }

  private nodeFor(id: string): LayerNode {
    let n = this.nodes.get(id);
    if (!n) {
      const root = new Container();
      const content = new Container();
      const mask = new Graphics();
      const tint = new ColorMatrixFilter();
      root.addChild(content, mask);
      this.layerHost.addChild(root);
      n = { root, content, sprite: null, mask, tint, textKey: '' };
      this.nodes.set(id, n);
    }
    return n;
  }

  private spriteOf(node: LayerNode): Sprite {
    if (!node.sprite) {
      node.content.removeChildren().forEach((c) => c.destroy());
      node.sprite = new Sprite();
      node.content.addChild(node.sprite);
      node.textKey = '';
    }
    return node.sprite;
  }

  /** Draws one layer into its node; false when its picture is not available yet. */
  private drawLayer(node: LayerNode, layer: VisualLayer, geometry: LayerGeometry, lf: LayerFrame, input: DrawInput): boolean {
    const clip = layer.clip;
    if (clip.kind === 'video') {
      const v = input.videos.get(clip.id);
      if (!v || v.readyState < 2 || v.videoWidth === 0 || !lf.crop) return false;
      this.watchFrames(v);
      // Upload only a new picture (a 30 fps video shows each frame for two 60 Hz draws): the
      // browser counts presented frames; paused (a seek may land before the count moves) and
      // without requestVideoFrameCallback, upload every draw.
      const presented = this.presented.get(v);
      // Crop rectangle in the asset's pixels; the decoded video normally has the same size.
      const sx = v.videoWidth / layer.source!.width;
      const sy = v.videoHeight / layer.source!.height;
      const crop = { x: lf.crop.x * sx, y: lf.crop.y * sy, w: lf.crop.w * sx, h: lf.crop.h * sy };
      const shownW = Math.max(1, Math.round(lf.w * this.scale));
      const shownH = Math.max(1, Math.round(lf.h * this.scale));
      // Realtime (scale < 1), three ways to get the crop's pixels:
      //  - 'cropped': only the crop converted by VideoFrame.copyTo, the GPU scales it. Taken when it
      //    is shown at over a quarter of the crop's pixels, and while playing for any size (a
      //    picture-in-picture too: the 2D canvas's mipmapped downscale of the whole frame was most
      //    of a playing draw, BENCHMARKS.md "Editor preview");
      //  - 'shrunk': paused and shown small, scaled on a 2D canvas (smooth still, no aliasing);
      //  - 'whole': the whole frame uploaded and cropped on the GPU (full-size grabs: fidelity).
      const small = shownW * shownH * 2 <= v.videoWidth * v.videoHeight;
      const cropOk = this.scale < 1 && this.canCopyFrames && (!v.paused || shownW * shownH * 4 >= crop.w * crop.h);
      const shrinkOk = this.scale < 1 && small;
      const path = cropOk ? 'cropped' : shrinkOk ? 'shrunk' : 'whole';
      const fresh = v.paused || presented === undefined || this.uploadedAt.get(v) !== presented || this.uploadPath.get(v) !== path;
      if (fresh && presented !== undefined) this.uploadedAt.set(v, presented);
      this.uploadPath.set(v, path);
      let tex = path === 'cropped' ? this.croppedTexture(v, crop, fresh) : null;
      if (tex) {
        // its frame is already the exact crop
      } else if (shrinkOk) {
        tex = this.shrunkTexture(v, crop, shownW, shownH, fresh);
      } else {
        tex = this.textureFor(v);
        const src = tex.source as VideoSource;
        if (src.width !== v.videoWidth || src.height !== v.videoHeight) src.resize(v.videoWidth, v.videoHeight, 1);
        if (fresh) src.update();
        tex.frame.x = crop.x;
        tex.frame.y = crop.y;
        tex.frame.width = crop.w;
        tex.frame.height = crop.h;
        tex.updateUvs();
      }
      const sprite = this.spriteOf(node);
      sprite.texture = tex;
      sprite.width = lf.w;
      sprite.height = lf.h;
    } else if (clip.kind === 'image') {
      const tex = this.imageTexture(clip.sourceId);
      if (!tex) return false;
      const sprite = this.spriteOf(node);
      sprite.texture = tex;
      sprite.width = lf.w;
      sprite.height = lf.h;
    } else {
      // Text is laid out at its box (natural) size and scaled like any layer.
      const { w, h } = geometry.natural;
      this.drawText(node, clip, w, h, lf.chars);
      node.content.scale.set(lf.w / w, lf.h / h);
    }
    const content = node.content;
    if (clip.kind !== 'text') content.scale.set(1, 1);
    // Centre of the box ffmpeg places (even pixels), the layer rotated about it.
    node.root.position.set(lf.left + lf.box.w / 2, lf.top + lf.box.h / 2);
    node.root.rotation = lf.angle;
    content.position.set(-lf.w / 2, -lf.h / 2);
    node.root.alpha = lf.opacity;
    if (lf.tint) {
      const a = lf.tint.amount;
      const c = lf.tint.color === 'white' ? 1 : 0;
      // rgb' = rgb * (1 - a) + colour * a (alpha untouched), like the farm's lutyuv.
      node.tint.matrix = [1 - a, 0, 0, 0, c * a, 0, 1 - a, 0, 0, c * a, 0, 0, 1 - a, 0, c * a, 0, 0, 0, 1, 0];
      if (node.root.filters?.[0] !== node.tint) node.root.filters = [node.tint];
    } else if (node.root.filters?.length) node.root.filters = [];
    if (lf.wipe || node.mask.context.instructions.length > 0) node.mask.clear();
    if (lf.wipe) {
      const hidden = wipeHiddenRect(lf.wipe, Math.round(lf.w), Math.round(lf.h));
      const shown = complement(hidden, lf.w, lf.h);
      node.mask.rect(-lf.w / 2 + shown.x, -lf.h / 2 + shown.y, shown.w, shown.h).fill(0xffffff);
      content.mask = node.mask;
    } else content.mask = null;
    return true;
  }

  private drawText(node: LayerNode, clip: TextClip, boxW: number, boxH: number, chars: number | null): void {
    const key = JSON.stringify([clip.text, clip.style, boxW, boxH, chars]);
    if (node.textKey === key) return;
    node.textKey = key;
    node.sprite = null;
    node.content.removeChildren().forEach((c) => c.destroy({ children: true }));
    const s = clip.style;
    const layout = layoutText(clip.text, s, boxW, boxH, (t, style) => CanvasTextMetrics.measureText(t, new TextStyle(style)).width);
    const boxes = new Graphics();
    node.content.addChild(boxes);
    let shown = chars ?? Infinity;
    for (const line of layout.lines) {
      const visible = [...line.text].slice(0, Math.max(0, shown)).join('');
      shown -= [...line.text].length + line.consumed;
      if (visible.length === 0) continue;
      const width = visible === line.text ? line.width : CanvasTextMetrics.measureText(visible, new TextStyle({ ...layout.style, stroke: undefined, dropShadow: undefined })).width;
      if (s.boxColor) boxes.rect(line.x - s.boxPadding, line.top - s.boxPadding, width + 2 * s.boxPadding, layout.lineHeight + 2 * s.boxPadding).fill(s.boxColor);
      node.content.addChild(this.lineText(visible, layout.style, line, s.strokeWidth));
    }
  }

  /** One line as a Pixi Text whose baseline sits where libass puts it. */
  private lineText(text: string, style: ConstructorParameters<typeof TextStyle>[0], line: TextLine, strokeWidth: number): Text {
    const ts = new TextStyle(style);
    const t = new Text({ text, style: ts });
    const m = CanvasTextMetrics.measureFont(ts.fontStyle + ' ' + ts.fontVariant + ' ' + ts.fontWeight + ' ' + ts.fontSize + 'px ' + ts.fontFamily);
    const half = strokeWidth;
    const lineHeight = Number(style?.lineHeight ?? m.fontSize);
    const baselineInText = half + m.ascent + Math.max(0, (lineHeight - m.fontSize) / 2);
    t.position.set(line.x - half, line.baseline - baselineInText);
    return t;
  }

  private textureFor(video: HTMLVideoElement): Texture {
    let t = this.videoTextures.get(video);
    if (!t) {
      const source = new VideoSource({ resource: video, autoPlay: false, autoLoad: false, updateFPS: 0 });
      source.autoUpdate = false;
      t = new Texture({ source, frame: new Rectangle(0, 0, Math.max(1, video.videoWidth), Math.max(1, video.videoHeight)) });
      this.videoTextures.set(video, t);
    }
    return t;
  }

  /** Counts the frames a video presents (requestVideoFrameCallback), once per video. */
  private watchFrames(video: HTMLVideoElement): void {
    const v = video as HTMLVideoElement & { requestVideoFrameCallback?: (cb: (now: number, meta: { presentedFrames: number }) => void) => number };
    if (this.presented.has(video) || !v.requestVideoFrameCallback) return;
    this.presented.set(video, -1);
    const onFrame = (_: number, meta: { presentedFrames: number }) => {
      this.presented.set(video, meta.presentedFrames);
      v.requestVideoFrameCallback!(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
  }

  /**
   * A video's crop scaled on a 2D canvas to the size it is shown at, as the texture to draw: when
   * the realtime view shows a layer at under half the pixels of the whole decoded frame (a 1280x720
   * source cropped to 9:16 in a small preview, a picture-in-picture), uploading the small canvas instead of the whole decoded frame
   * is most of a draw's cost saved in software WebGL. Redrawn only for a new picture or a new crop
   * or size. Full-size grabs (scale 1, fidelity) never take this path.
   */
  private shrunkTexture(v: HTMLVideoElement, crop: { x: number; y: number; w: number; h: number }, w: number, h: number, fresh: boolean): Texture {
    let s = this.shrunk.get(v);
    if (!s) {
      const canvas = document.createElement('canvas');
      const ctx = canvas.getContext('2d', { alpha: false })!;
      s = { ctx, texture: new Texture({ source: new CanvasSource({ resource: canvas, width: w, height: h, resolution: 1 }) }), key: '' };
      this.shrunk.set(v, s);
    }
    const source = s.texture.source as CanvasSource;
    source.resize(w, h, 1);
    const key = `${crop.x},${crop.y},${crop.w},${crop.h},${w},${h}`;
    if (fresh || key !== s.key) {
      s.ctx.imageSmoothingQuality = 'medium';
      s.ctx.drawImage(v, crop.x, crop.y, crop.w, crop.h, 0, 0, w, h);
      source.update();
      s.key = key;
    }
    return s.texture;
  }

  /**
   * A video's crop as an RGBA texture of the crop's own size, converted by WebCodecs
   * (VideoFrame.copyTo with a rect and format RGBA): in software, drawing a <video> anywhere (2D
   * canvas or a WebGL upload) first converts the WHOLE decoded frame from YUV, ~4x the work for a
   * 9:16 crop of a 16:9 source; this converts the crop only and the GPU scales it. Redrawn only
   * for a new picture or a new crop. Chromium writes the pixels during copyTo (its promise is
   * already settled); a browser that wrote them later would show the previous picture for one draw.
   * Null when it cannot (then the 2D canvas path).
   */
  private croppedTexture(v: HTMLVideoElement, crop: { x: number; y: number; w: number; h: number }, fresh: boolean): Texture | null {
    // I420 sources need an even-aligned rect; the exact crop is the texture's frame inside it.
    const x0 = Math.max(0, 2 * Math.floor(crop.x / 2));
    const y0 = Math.max(0, 2 * Math.floor(crop.y / 2));
    const x1 = Math.min(v.videoWidth, 2 * Math.ceil((crop.x + crop.w) / 2));
    const y1 = Math.min(v.videoHeight, 2 * Math.ceil((crop.y + crop.h) / 2));
    const rect = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    if (rect.width < 2 || rect.height < 2) return null;
    const key = `${rect.x},${rect.y},${rect.width},${rect.height}`;
    let c = this.cropped.get(v);
    if (c && c.key !== key) {
      c.texture.destroy(true);
      c = undefined;
    }
    const isNew = !c;
    if (!c) {
      const source = new BufferImageSource({ resource: new Uint8Array(rect.width * rect.height * 4), width: rect.width, height: rect.height, format: 'rgba8unorm', alphaMode: 'no-premultiply-alpha' });
      c = { texture: new Texture({ source }), key };
      this.cropped.set(v, c);
    }
    if (fresh || isNew) {
      let frame: VideoFrame | null = null;
      try {
        frame = new VideoFrame(v);
        void frame.copyTo(c.texture.source.resource as Uint8Array, { rect, format: 'RGBA' }).catch(() => (this.canCopyFrames = false));
        c.texture.source.update();
      } catch {
        this.canCopyFrames = false;
        frame?.close();
        return null;
      }
      frame.close();
    }
    const t = c.texture;
    t.frame.x = crop.x - rect.x;
    t.frame.y = crop.y - rect.y;
    t.frame.width = Math.min(crop.w, rect.width - t.frame.x);
    t.frame.height = Math.min(crop.h, rect.height - t.frame.y);
    t.updateUvs();
    return t;
  }

  private drawSubtitle(spec: RenderSpec, frame: number, W: number, H: number): void {
    const cue = spec.subtitles.cues.find((q) => frame >= q.start && frame < q.end && q.text.trim() !== '');
    this.subtitleBox.clear();
    if (!cue) {
      if (this.subtitleText) this.subtitleText.visible = false;
      this.wordHost.visible = false;
      return;
    }
    const s = spec.subtitles.style;
    const L = subtitleLayout(s, W, H);
    const ws = spec.subtitles.wordStyle ?? null;
    if (ws && cue.words) {
      if (this.subtitleText) this.subtitleText.visible = false;
      this.drawWordCaption(spec, cue, ws, frame, L, s, W, H);
      return;
    }
    this.wordHost.visible = false;
    const key = JSON.stringify([s, W, H]);
    const style = () =>
      new TextStyle({
        fontFamily: BUNDLED_FONT.family,
        fontSize: L.cssFontSize,
        fontWeight: s.bold ? 'bold' : 'normal',
        fill: s.color,
        stroke: L.strokeWidth > 0 ? { color: s.outlineColor, width: L.strokeWidth, join: 'round' } : undefined,
        align: 'center',
        lineHeight: L.lineHeight,
        wordWrap: true,
        wordWrapWidth: L.wrapWidth,
      });
    if (!this.subtitleText) {
      this.subtitleText = new Text({ text: '', style: style() });
      this.app.stage.addChild(this.subtitleText);
      this.subtitleKey = key;
    }
    const t = this.subtitleText;
    if (this.subtitleKey !== key) {
      t.style = style();
      this.subtitleKey = key;
    }
    t.text = cue.text;
    t.visible = true;
    t.anchor.set(0.5, L.anchorY);
    t.position.set(Math.round(L.x), Math.round(L.y));
    if (s.box) {
      // libass (BorderStyle 3) boxes each line on its own; overlaps of translucent boxes darken.
      const m = CanvasTextMetrics.measureText(t.text, t.style as TextStyle);
      const b = t.getLocalBounds();
      const top = t.y + b.minY;
      const p = L.boxPadding;
      m.lines.forEach((_, i) => {
        const w = m.lineWidths[i] ?? 0;
        this.subtitleBox.rect(t.x - w / 2 - p, top + i * m.lineHeight - p, w + 2 * p, m.lineHeight + 2 * p).fill(s.boxColor);
      });
    }
  }

  /**
   * A word-timed caption as libass draws buildAss's events (shared/subtitles/ass.ts): the look of
   * this frame from captionSegments; the active word in its colour, scaled about its origin on the
   * baseline (its advance too, so the line re-centres and may wrap), popping from 70 % as
   * activeWordScale says, with a thick outline in the box colour; outlines keep their width at any
   * scale, as libass's \bord does; reveal mode keeps pending words' space but draws nothing. Where
   * the words go is wordCaptionLayout (preview-geometry.ts).
   */
  private drawWordCaption(spec: RenderSpec, cue: RenderSpec['subtitles']['cues'][number], ws: NonNullable<RenderSpec['subtitles']['wordStyle']>, frame: number, L: ReturnType<typeof subtitleLayout>, s: RenderSpec['subtitles']['style'], W: number, H: number): void {
    this.subtitleBox.clear();
    const seg = captionAt(cue, ws, frame);
    if (!seg) {
      this.wordHost.visible = false;
      return;
    }
    this.wordHost.visible = true;
    const fps = spec.output.fps;
    const base = new TextStyle({
      fontFamily: BUNDLED_FONT.family,
      fontSize: L.cssFontSize,
      fontWeight: s.bold ? 'bold' : 'normal',
      fill: s.color,
      stroke: L.strokeWidth > 0 ? { color: s.outlineColor, width: L.strokeWidth, join: 'round' } : undefined,
      lineHeight: L.lineHeight,
    });
    const boxBord = ws.activeBoxColor && !s.box ? Math.max(8, Math.round(s.fontSize * 0.18)) : 0;
    const scale = seg.activeSince === null ? 1 : activeWordScale(ws, ((frame - seg.activeSince) * fps.den * 1000) / fps.num);
    const active = base.clone();
    active.fill = ws.activeColor;
    // Stroke widths in the word's own (scaled) space, so the drawn outline is the unscaled one.
    const activeHalf = boxBord > 0 ? boxBord : L.strokeWidth / 2;
    if (boxBord > 0) active.stroke = { color: ws.activeBoxColor!, width: (boxBord * 2) / scale, join: 'round' };
    else if (L.strokeWidth > 0) active.stroke = { color: s.outlineColor, width: L.strokeWidth / scale, join: 'round' };
    const plain = (text: string) => CanvasTextMetrics.measureText(text, base).width - L.strokeWidth;
    const space = plain('x x') - plain('xx');
    const runs = seg.words.map((w) => ({ text: w.text, line: w.line, scale: w.state === 'active' ? scale : 1 }));
    const boxes = wordCaptionLayout(runs, s, W, H, plain, space);
    const font = CanvasTextMetrics.measureFont(`${base.fontStyle} ${base.fontVariant} ${base.fontWeight} ${base.fontSize}px ${base.fontFamily}`);
    const baselineAt = (half: number) => half + font.ascent + Math.max(0, (L.lineHeight - font.fontSize) / 2);
    while (this.wordTexts.length < seg.words.length) {
      const t = new Text({ text: '', style: base });
      this.wordTexts.push(t);
      this.wordHost.addChild(t);
    }
    this.wordTexts.forEach((t, i) => (t.visible = i < seg.words.length));
    seg.words.forEach((w, i) => {
      const t = this.wordTexts[i]!;
      const on = w.state === 'active';
      const k = on ? scale : 1;
      const half = on ? activeHalf / k : L.strokeWidth / 2;
      t.text = w.text;
      t.style = on ? active : base;
      t.alpha = wordVisible(w.state, ws) ? 1 : 0;
      t.anchor.set(0, 0);
      t.scale.set(k);
      // The text's texture starts `half` (its stroke) left of and baselineAt(half) above the glyph origin.
      t.position.set(boxes[i]!.x - half * k, boxes[i]!.baseline - baselineAt(half) * k);
    });
  }

  private imageTexture(sourceId: string): Texture | null {
    const t = this.images.get(sourceId);
    if (t && t !== 'loading') return t;
    if (!t) {
      this.images.set(sourceId, 'loading');
      const img = new Image();
      img.src = `/api/assets/${sourceId}/file`;
      void img
        .decode()
        .then(() => {
          this.images.set(sourceId, Texture.from(img));
          this.onImageLoaded?.();
        })
        .catch(() => this.images.delete(sourceId));
    }
    return null;
  }

  /** Images still being fetched/decoded (a redraw follows via onImageLoaded). */
  imagesLoading(): number {
    return [...this.images.values()].filter((t) => t === 'loading').length;
  }

  /** The last drawn frame as a PNG data URL (the drawing buffer is preserved). */
  toPng(): string {
    return (this.app.canvas as HTMLCanvasElement).toDataURL('image/png');
  }

  destroy(): void {
    for (const t of this.videoTextures.values()) t.destroy(true);
    for (const s of this.shrunk.values()) s.texture.destroy(true);
    for (const c of this.cropped.values()) c.texture.destroy(true);
    this.app.destroy(false, { children: true });
  }
}

/** The shown part of a layer (w x h) around a hidden strip at one of its edges. */
function complement(hidden: { x: number; y: number; w: number; h: number }, w: number, h: number): { x: number; y: number; w: number; h: number } {
  if (hidden.w >= w) return hidden.y === 0 ? { x: 0, y: hidden.h, w, h: h - hidden.h } : { x: 0, y: 0, w, h: hidden.y };
  return hidden.x === 0 ? { x: hidden.w, y: 0, w: w - hidden.w, h } : { x: 0, y: 0, w: hidden.x, h };
}
