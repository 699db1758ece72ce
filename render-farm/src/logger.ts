/** pino JSON logs; LOG_LEVEL picks the level (default info). */
import { pino, type DestinationStream, type Logger } from 'pino';

export function createLogger(opts: { name?: string; level?: string; destination?: DestinationStream } = {}): Logger {
  const options = { name: opts.name ?? 'render-farm', level: opts.level ?? process.env.LOG_LEVEL ?? 'info' };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
