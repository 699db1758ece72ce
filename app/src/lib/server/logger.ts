/** pino JSON logs for the app process; LOG_LEVEL picks the level (default info, silent in vitest). */
import { pino, type Logger } from 'pino';

const KEY = Symbol.for('clipmaker.app.logger');
type G = typeof globalThis & { [KEY]?: Logger };

export function getLogger(): Logger {
  const g = globalThis as G;
  g[KEY] ??= pino({ name: 'app', level: process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info') });
  return g[KEY];
}

export const logger = {
  child: (bindings: Record<string, unknown>) => getLogger().child(bindings),
  debug: (obj: object, msg?: string) => getLogger().debug(obj, msg),
  info: (obj: object, msg?: string) => getLogger().info(obj, msg),
  warn: (obj: object, msg?: string) => getLogger().warn(obj, msg),
  error: (obj: object, msg?: string) => getLogger().error(obj, msg),
};
