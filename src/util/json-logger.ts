import type { LogFields, Logger } from '../ports/logger.js';
import type { LogLevel } from '../runtime/local-settings.js';

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A Logger writing one JSON object per line (time, level, msg, fields) to a stream, from `level` up. */
export function jsonLogger(level: LogLevel, stream: NodeJS.WritableStream = process.stderr): Logger {
  const write = (at: LogLevel) => (message: string, fields: LogFields = {}) => {
    if (ORDER[at] < ORDER[level]) return;
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), level: at, msg: message, ...fields })}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
