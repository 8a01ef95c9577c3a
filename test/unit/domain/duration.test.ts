import { describe, expect, it } from '@jest/globals';
import { parseDuration } from '../../../src/domain/duration.js';
import { ValidationError } from '../../../src/domain/errors.js';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['250ms', 250],
    ['90s', 90_000],
    ['15m', 900_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    [' 10m ', 600_000],
  ])('parses %j as %i ms', (text, ms) => {
    expect(parseDuration(text, 'grace')).toBe(ms);
  });

  it.each(['', '5', 'm', '-5m', '5w', '5 m', '1e3s', '5M', 'five minutes'])('rejects %j with a ValidationError naming the field', (text) => {
    let caught: unknown;
    try {
      parseDuration(text, 'lock-wait');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).details).toEqual({ field: 'lock-wait' });
    expect((caught as ValidationError).message).toContain('lock-wait');
  });
});
