import { ValidationError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90s`, `15m`, `24h`, `7d` or `0` into milliseconds. */
export function parseDuration(text: string, field: string): number {
  if (text === '0') return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) throw new ValidationError(`${field} must be a duration like 30s, 15m, 24h or 7d (got "${text}")`, field);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}
