/**
 * The realtime preview: one PixiJS (WebGL) stage at the OUTPUT size drawing the timeline frame at the
 * playhead from the browser's own video decoding, cropped with the shared cropAt(), with subtitles
 * laid out as libass lays out the ASS that the farm burns in (PlayRes = output size, font size in
 * output pixels, bundled font, alignment/margins/outline/box) and overlays placed as the ffmpeg
 * builder places them. Pure layout helpers are exported for unit tests.
 */
import 'pixi.js/unsafe-eval';
import { Application, CanvasTextMetrics, Container, Graphics, Rectangle, Sprite, Text, Texture, TextStyle, VideoSource } from 'pixi.js';
import type { TimelineSnapshot } from '@clipmaker/shared/timeline';
import { BUNDLED_FONT } from '@clipmaker/shared/fonts';
import { ASS_TO_CSS_SIZE, clipAt, cropFor, overlayBox, subtitleLayout } from './preview-geometry';

export interface DrawInput {
  tl: TimelineSnapshot;
  frame: number;
  /** The decoded video for the clip under the playhead (already at the right time), if any. */
  video: HTMLVideoElement | null;
}

export class PixiStage {
  readonly app = new Application();
  private videoSprite = new Sprite();
  private videoTextures = new Map<HTMLVideoElement, Texture>();
  private subtitleBox = new Graphics();
  private subtitleText: Text | null = null;
  private overlayLayer = new Container();
  private overlayNodes = new Map<string, Sprite | Text>();
  private styleKeys = new Map<string, string>();
  private images = new Map<string, Texture | 'loading'>();
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

  async init(canvas: HTMLCanvasElement, width: number, height: number): Promise<void> {
    await this.app.init({ canvas, width, height, background: 0x000000, preference: 'webgl', antialias: false, autoStart: false, preserveDrawingBuffer: true, resolution: 1, autoDensity: false });
    this.app.ticker?.stop();
    this.width = width;
    this.height = height;
    this.app.stage.addChild(this.videoSprite, this.subtitleBox, this.overlayLayer);
  }

  resize(width: number, height: number, scale = this.renderScale): void {
    if (width === this.width && height === this.height && scale === this.scale) return;
    this.width = width;
    this.height = height;
    this.scale = scale;
    this.app.renderer.resize(Math.max(2, Math.round(width * scale)), Math.max(2, Math.round(height * scale)));
    this.app.stage.scale.set(scale);
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

  draw(input: DrawInput, scale = this.renderScale): void {
    const t0 = performance.now();
    const { tl, frame } = input;
    const W = tl.meta.width;
    const H = tl.meta.height;
    this.resize(W, H, scale);
    this.drawVideo(input, W, H);
    this.drawSubtitle(tl, frame, W, H);
    this.drawOverlays(tl, frame, W, H);
    this.app.renderer.render(this.app.stage);
    this.drawTimes.push(performance.now() - t0);
    if (this.drawTimes.length > 2000) this.drawTimes.splice(0, 1000);
  }

  private drawVideo(input: DrawInput, W: number, H: number): void {
    const c = clipAt(input.tl, input.frame);
    const v = input.video;
    if (!c || !v || v.readyState < 2 || v.videoWidth === 0) {
      this.videoSprite.visible = false;
      return;
    }
    const tex = this.textureFor(v);
    const src = tex.source as VideoSource;
    if (src.width !== v.videoWidth || src.height !== v.videoHeight) src.resize(v.videoWidth, v.videoHeight, 1);
    src.update();
    const r = cropFor(c, W, H);
    // Source pixels of the asset; the decoded video normally has the same size.
    const sx = v.videoWidth / c.asset.width;
    const sy = v.videoHeight / c.asset.height;
    tex.frame.x = r.x * sx;
    tex.frame.y = r.y * sy;
    tex.frame.width = r.w * sx;
    tex.frame.height = r.h * sy;
    tex.updateUvs();
    this.videoSprite.texture = tex;
    this.videoSprite.visible = true;
    this.videoSprite.position.set(0, 0);
    this.videoSprite.width = W;
    this.videoSprite.height = H;
  }

  private drawSubtitle(tl: TimelineSnapshot, frame: number, W: number, H: number): void {
    const cue = tl.cues.find((q) => frame >= q.start && frame < q.end && q.text.trim() !== '');
    this.subtitleBox.clear();
    if (!cue) {
      if (this.subtitleText) this.subtitleText.visible = false;
      return;
    }
    const s = tl.subtitleStyle;
    const L = subtitleLayout(s, W, H);
    const key = JSON.stringify([s, W, H]);
    const style = () => new TextStyle({
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
      this.app.stage.addChildAt(this.subtitleText, this.app.stage.getChildIndex(this.subtitleBox) + 1);
      this.styleKeys.set('subtitle', key);
    }
    const t = this.subtitleText;
    if (this.styleKeys.get('subtitle') !== key) {
      t.style = style();
      this.styleKeys.set('subtitle', key);
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

  private drawOverlays(tl: TimelineSnapshot, frame: number, W: number, H: number): void {
    const live = new Set<string>();
    for (const o of tl.overlays) {
      if (frame < o.start || frame >= o.end) continue;
      if (o.kind === 'image') {
        const tex = this.imageTexture(o.sourceId);
        if (!tex) continue;
        let node = this.overlayNodes.get(o.id);
        if (!(node instanceof Sprite) || node instanceof Text) {
          node?.destroy();
          node = new Sprite(tex);
          this.overlayNodes.set(o.id, node);
          this.overlayLayer.addChild(node);
        }
        node.texture = tex;
        const box = overlayBox(o, W, H);
        node.position.set(box.x, box.y);
        node.width = box.w;
        node.height = box.h;
        node.alpha = o.opacity;
      } else {
        if (o.text.trim() === '') continue;
        let node = this.overlayNodes.get(o.id);
        if (!(node instanceof Text)) {
          node?.destroy();
          node = new Text({ text: '' });
          this.overlayNodes.set(o.id, node);
          this.overlayLayer.addChild(node);
        }
        const style = { fontFamily: BUNDLED_FONT.family, fontSize: o.fontSize * ASS_TO_CSS_SIZE, fill: o.color, lineHeight: o.fontSize };
        const key = JSON.stringify(style);
        if (this.styleKeys.get(o.id) !== key) {
          node.style = new TextStyle(style);
          this.styleKeys.set(o.id, key);
        }
        node.text = o.text;
        node.position.set(Math.round(o.x * W), Math.round(o.y * H));
        node.alpha = o.opacity;
      }
      live.add(o.id);
    }
    for (const [id, node] of this.overlayNodes) node.visible = live.has(id);
  }

  /** Image overlays still being fetched/decoded (a redraw follows via onImageLoaded). */
  imagesLoading(): number {
    return [...this.images.values()].filter((t) => t === 'loading').length;
  }

  /** The last drawn frame as a PNG data URL (the drawing buffer is preserved). */
  toPng(): string {
    return (this.app.canvas as HTMLCanvasElement).toDataURL('image/png');
  }

  destroy(): void {
    for (const t of this.videoTextures.values()) t.destroy(true);
    this.app.destroy(false, { children: true });
  }
}
