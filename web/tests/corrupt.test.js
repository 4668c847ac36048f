// Random corruption through the JS API (issue 18): bytes written with
// `heap.write` at random offsets around live and free blocks, then check,
// malloc, free and realloc. The integrity walk checks every link before it
// follows one, so nothing traps (no error with code "trap", no
// WebAssembly.RuntimeError) and nothing hangs; a heap whose check failed
// answers "corrupt-heap"; every heap works again after reset().
// (The same natively: crate/tests/all/corrupt.rs.)
import { beforeAll, describe, expect, test } from "vitest";
import { init, Heap, isTrap, POLICIES } from "../src/heaplab.js";
import { rng } from "./rng.js";

// The shared names and codes (POLICIES, PAGE, BLOCK, ...) come from the wasm
// module: load it before the tests are collected.
await init();

beforeAll(async () => {
  await init();
});

const ROUNDS = 10_000;
const SIZES = [8, 24, 40, 100, 300, 1000, 5000];

/** Runs `fn`; a trap fails the test, a coded error is returned. */
function attempt(fn, tally) {
  try {
    fn();
    return null;
  } catch (error) {
    if (isTrap(error) || error?.code === "trap" || error instanceof WebAssembly.RuntimeError) tally.traps++;
    if (typeof error?.code !== "string") tally.uncoded++;
    return error;
  }
}

describe("random corruption never traps", () => {
  for (const [i, policy] of POLICIES.entries()) {
    test(`${ROUNDS} corruptions, ${policy}`, () => {
      const heap = new Heap({ policy, coalesce: i % 2 ? "deferred" : "immediate" });
      const below = rng(0x5eed + i);
      const tally = { traps: 0, uncoded: 0, caught: 0, refused: 0, unusable: 0 };
      const started = Date.now();
      for (let round = 0; round < ROUNDS; round++) {
        heap.reset();
        const live = [];
        for (let k = 0; k < 12; k++) live.push(heap.malloc(SIZES[below(SIZES.length)], 8 << (k % 2)));
        const freed = [];
        for (let k = 0; k < 5; k++) {
          const p = live.splice(below(live.length), 1)[0];
          heap.free(p);
          freed.push(p);
        }
        const near = below(2) ? live[below(live.length)] : freed[below(freed.length)];
        const bytes = Uint8Array.from({ length: 1 + below(8) }, () => below(256));
        const wrote = attempt(() => heap.write(near - 32 + below(96), bytes), tally);
        if (wrote) expect(wrote.code).toBe("out-of-bounds");
        const checked = attempt(() => heap.check(), tally);
        if (checked) {
          tally.caught++;
          expect(checked.code).toBe("corrupt-heap");
        }
        const results = [
          attempt(() => heap.malloc(64), tally),
          attempt(() => heap.free(live.splice(below(live.length), 1)[0]), tally),
          attempt(() => heap.realloc(live[below(live.length)], 1 + below(3000)), tally),
        ];
        for (const e of results) {
          if (checked && e) expect(e.code).toBe("corrupt-heap");
          if (e?.code === "corrupt-heap") tally.refused++;
        }
        attempt(() => heap.stats(), tally);
        attempt(() => heap.blocks(), tally);
        attempt(() => heap.freeLists(), tally);
        heap.reset();
        const after = attempt(() => {
          heap.check();
          heap.free(heap.malloc(100));
        }, tally);
        if (after) tally.unusable++;
      }
      expect(tally).toMatchObject({ traps: 0, uncoded: 0, unusable: 0 });
      // Most writes land on a header, footer or link: many are caught.
      expect(tally.caught).toBeGreaterThan(ROUNDS / 5);
      expect(tally.refused).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(60_000); // no hang
      heap.dispose();
    }, 120_000);
  }
});
