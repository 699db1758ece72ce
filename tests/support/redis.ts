/** Real Redis for integration tests: REDIS_URL or the local server; each test uses its own key prefix. */
import { randomBytes } from 'node:crypto';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(label: string): string {
  return `cmtest:${label}:${randomBytes(4).toString('hex')}`;
}
