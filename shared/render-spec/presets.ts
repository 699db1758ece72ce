/**
 * Export presets: the delivery targets the render tray offers. A preset never re-lays-out a
 * project: it renders when the project's output already is that size and frame rate, and otherwise
 * says what to change (the aspect is one undoable edit; the frame rate is the project's).
 */
export interface ExportPreset {
  id: 'vertical-30' | 'vertical-60' | 'youtube' | 'square';
  label: string;
  width: number;
  height: number;
  /** Frames per second; null: the project's own rate. */
  fps: number | null;
  /** The project aspect that gives this size. */
  aspect: '9:16' | '16:9' | '1:1';
}

export const EXPORT_PRESETS: readonly ExportPreset[] = [
  { id: 'vertical-30', label: 'TikTok / Reels / Shorts · 30 fps', width: 1080, height: 1920, fps: 30, aspect: '9:16' },
  { id: 'vertical-60', label: 'TikTok / Reels / Shorts · 60 fps', width: 1080, height: 1920, fps: 60, aspect: '9:16' },
  { id: 'youtube', label: 'YouTube · 1920×1080', width: 1920, height: 1080, fps: null, aspect: '16:9' },
  { id: 'square', label: 'Square · 1080×1080', width: 1080, height: 1080, fps: null, aspect: '1:1' },
];

export const EXPORT_PRESET_IDS = EXPORT_PRESETS.map((p) => p.id) as [ExportPreset['id'], ...ExportPreset['id'][]];

export type PresetFit = { ok: true } | { ok: false; reason: string; aspect: ExportPreset['aspect'] | null };

/** Whether an output (the project's size and rate) is what the preset delivers, or what to change. */
export function presetFit(preset: ExportPreset, output: { width: number; height: number; fps: { num: number; den: number } }): PresetFit {
  if (output.width !== preset.width || output.height !== preset.height)
    return { ok: false, reason: `this project is ${output.width}×${output.height}; ${preset.label} needs ${preset.width}×${preset.height} (aspect ${preset.aspect})`, aspect: preset.aspect };
  if (preset.fps !== null && output.fps.num !== preset.fps * output.fps.den)
    return { ok: false, reason: `this project runs at ${+(output.fps.num / output.fps.den).toFixed(3)} fps; ${preset.label} needs a ${preset.fps} fps project`, aspect: null };
  return { ok: true };
}
