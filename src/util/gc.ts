import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A garbage collection on demand. The data path allocates large short-lived buffers (compressed and
 * encrypted output) that V8 counts as external memory and collects only after tens of MiB pile up per
 * thread; collecting every few tens of MiB keeps resident memory flat. The heaps involved are a few
 * MiB, so a collection costs about a millisecond.
 */
export function fullCollector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as ((options?: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void) | undefined;
  if (typeof gc !== 'function') return () => undefined;
  return () => gc({ type: 'major' });
}

/** Calls `collect` after every `bytes` of allocation reported through the returned function. */
export function collectEvery(bytes: number, collect: () => void): (allocated: number) => void {
  let since = 0;
  return (allocated) => {
    since += allocated;
    if (since >= bytes) {
      since = 0;
      collect();
    }
  };
}
