/** The RenderSpec as JSON Schema (draft 2020-12) for tools outside TypeScript. Refinements are not expressible there. */
import { z } from 'zod';
import { RenderSpec, RENDER_SPEC_VERSION } from './schema.ts';

export function renderSpecJsonSchema(): string {
  const schema = z.toJSONSchema(RenderSpec, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ $id: `https://clipmaker.dev/schemas/render-spec.v${RENDER_SPEC_VERSION}.json`, title: 'ClipMaker RenderSpec', ...schema }, null, 2)}\n`;
}
