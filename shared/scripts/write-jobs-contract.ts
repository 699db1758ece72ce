/** Writes shared/jobs/contract.generated.mjs (what docker/healthcheck.mjs imports) from shared/jobs (`pnpm jobs:contract`). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { healthcheckContractModule } from '../jobs/healthcheck-contract.ts';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'jobs', 'contract.generated.mjs');
writeFileSync(out, healthcheckContractModule());
console.log(`wrote ${out}`);
