import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { renderSpecJsonSchema } from './json-schema.ts';

describe('render-spec.schema.json', () => {
  it('is committed and up to date (run `pnpm schema:json`)', () => {
    const committed = readFileSync(path.join(import.meta.dirname, '..', 'render-spec.schema.json'), 'utf8');
    expect(committed).toBe(renderSpecJsonSchema());
    const parsed = JSON.parse(committed);
    expect(parsed.properties.version.const).toBe(2);
    expect(parsed.required).toEqual(expect.arrayContaining(['version', 'output', 'sources', 'tracks', 'clips', 'subtitles']));
    expect(parsed.properties.clips.items.oneOf ?? parsed.properties.clips.items.anyOf).toHaveLength(4);
  });
});
