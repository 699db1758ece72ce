/** Writes shared/render-spec.schema.json from the zod schema (`pnpm schema:json`). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSpecJsonSchema } from '../render-spec/json-schema.ts';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'render-spec.schema.json');
writeFileSync(out, renderSpecJsonSchema());
console.log(`wrote ${out}`);
