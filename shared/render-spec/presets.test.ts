import { describe, expect, it } from 'vitest';
import { EXPORT_PRESETS, presetFit } from './presets.ts';

const byId = (id: string) => EXPORT_PRESETS.find((p) => p.id === id)!;

describe('export presets', () => {
  it('fit only the output they deliver, and say what to change otherwise', () => {
    const vertical30 = { width: 1080, height: 1920, fps: { num: 30, den: 1 } };
    expect(presetFit(byId('vertical-30'), vertical30)).toEqual({ ok: true });
    expect(presetFit(byId('vertical-60'), vertical30)).toMatchObject({ ok: false, aspect: null, reason: expect.stringMatching(/60 fps project/) });
    expect(presetFit(byId('youtube'), vertical30)).toMatchObject({ ok: false, aspect: '16:9' });
    expect(presetFit(byId('youtube'), { width: 1920, height: 1080, fps: { num: 30000, den: 1001 } })).toEqual({ ok: true });
    expect(presetFit(byId('square'), { width: 1080, height: 1080, fps: { num: 25, den: 1 } })).toEqual({ ok: true });
    expect(presetFit(byId('vertical-60'), { ...vertical30, fps: { num: 60, den: 1 } })).toEqual({ ok: true });
  });
});
