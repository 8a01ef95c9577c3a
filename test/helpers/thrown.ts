import { expect } from '@jest/globals';

/**
 * The error `fn` throws, checked to be an instance of `type`. Fails the test when nothing is thrown, so
 * an assertion on the returned error can never pass vacuously.
 */
export function thrownBy<E extends Error>(fn: () => unknown, type: abstract new (...args: never[]) => E): E {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected ${type.name} to be thrown, nothing was thrown`);
}
