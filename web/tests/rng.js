// A small deterministic generator for the tests (xorshift32): the same
// sequence for a seed on every run, so a failure can be replayed.

/** A function `below(n)` returning whole numbers 0 … n - 1. */
export function rng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}
