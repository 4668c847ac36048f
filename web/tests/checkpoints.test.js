// The checkpoint store (checkpoints.js), the one time-travel mechanism of the
// playground, the embed and compare: first over a counting stand-in heap (its
// state is the number of operations done, so every restore and every replayed
// operation is seen), then through Timeline and PolicyRun on the real wasm heap.
import { beforeAll, describe, expect, test } from "vitest";
import { CheckpointStore } from "../src/checkpoints.js";
import { init, Heap } from "../src/heaplab.js";
import { Session } from "../src/session.js";
import { Timeline, CHECKPOINT_SPACING } from "../src/timeline.js";
import { PolicyRun, CHECKPOINT_BYTES } from "../src/compare/engine.js";
import { generate } from "../src/compare/generators.js";
import { generateWorkload } from "../src/workloads.js";
import { recordedOps } from "../src/trace-files.js";

beforeAll(() => init());

/**
 * A heap that only counts: `at` operations done. Its saves are disposable
 * objects that refuse to be restored once disposed (as Heap.save()'s do).
 * `bytesAt(at)` is a checkpoint's estimated size.
 */
class Counter {
  constructor(bytesAt = () => 100) {
    this.at = 0;
    this.bytesAt = bytesAt;
    this.saves = [];
    this.replayed = 0;
    this.restored = [];
    this.origin = { saved: this.#saved(0), bytes: 0 };
  }

  #saved(at) {
    const saved = { at, disposed: false, dispose: () => (saved.disposed = true) };
    this.saves.push(saved);
    return saved;
  }

  /** The hooks of a journey; `from` is the counter's position when it may go on from it. */
  hooks(goOn = false, extra = {}) {
    return {
      from: goOn ? this.at : null,
      restore: (c) => {
        if (c.saved.disposed) throw new Error(`checkpoint at ${c.at} restored after it was disposed`);
        this.restored.push(c.at);
        this.at = c.saved.at;
      },
      replay: (from, to) => {
        if (from !== this.at) throw new Error(`replay from ${from} on a heap at ${this.at}`);
        if (to <= from) throw new Error(`empty replay ${from}..${to}`);
        this.replayed += to - from;
        this.at = to;
      },
      save: () => ({ saved: this.#saved(this.at), bytes: this.bytesAt(this.at) }),
      ...extra,
    };
  }

  /** Saves not disposed yet. */
  get alive() {
    return this.saves.filter((s) => !s.disposed);
  }
}

/** A seeded sequence of whole numbers in [0, n]. */
function targets(n, count, seed = 1) {
  const out = [];
  let x = seed;
  for (let k = 0; k < count; k++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(x % (n + 1));
  }
  return out;
}

describe("CheckpointStore", () => {
  test("a long replay keeps the checkpoints within their count and bytes at every step; the dropped ones are disposed", () => {
    const heap = new Counter((at) => 1000 + (at % 7) * 100);
    const store = new CheckpointStore({ spacing: 16, maxCount: 12, maxBytes: 9000, origin: heap.origin });
    const seen = { count: 0, bytes: 0 };
    const hooks = heap.hooks(true);
    const replay = hooks.replay;
    hooks.replay = (from, to) => {
      seen.count = Math.max(seen.count, store.count);
      seen.bytes = Math.max(seen.bytes, store.bytes);
      replay(from, to);
    };
    for (let n = 1000; n <= 100_000; n += 1000) store.travel(n, { ...hooks, from: heap.at });
    expect(heap.at).toBe(100_000);
    // The limits held after every checkpoint (maxBytes / the smallest size = 9 at most).
    expect(seen.count).toBeLessThanOrEqual(9);
    expect(seen.bytes).toBeLessThanOrEqual(9000);
    expect(store.count).toBeLessThanOrEqual(9);
    expect(store.bytes).toBe(store.list.reduce((sum, c) => sum + c.bytes, 0));
    expect(store.bytes).toBeLessThanOrEqual(9000);
    // The spacing doubled (16 would have made 6250) and every checkpoint is on it.
    expect(store.spacing).toBeGreaterThanOrEqual(16_384);
    for (const c of store.list) expect(c.at % store.spacing).toBe(0);
    // Nothing leaks: the saves alive are the checkpoints kept and the origin.
    expect(heap.alive.length).toBe(store.count + 1);
    expect(heap.alive).toContain(heap.origin.saved);
    // The byte budget alone also thins them out.
    const big = new Counter(() => 4000);
    const tight = new CheckpointStore({ spacing: 10, maxBytes: 10_000, origin: big.origin });
    let most = 0;
    for (let n = 100; n <= 5000; n += 100) {
      tight.travel(n, big.hooks(true));
      most = Math.max(most, tight.bytes);
    }
    expect(most).toBe(8000);
    expect(tight.spacing).toBeGreaterThanOrEqual(2560);
    expect(big.alive.length).toBe(tight.count + 1);
  });

  test("past the byte budget with every checkpoint on the spacing, the oldest goes", () => {
    const heap = new Counter((at) => at);
    const store = new CheckpointStore({ spacing: 100, maxBytes: 1000, origin: heap.origin });
    const save = heap.hooks().save;
    heap.at = 400;
    store.add(400, save());
    heap.at = 800;
    store.add(800, save());
    // 1200 bytes: the spacing doubles to 200, where both are; so 400 goes.
    expect(store.list.map((c) => c.at)).toEqual([800]);
    expect(store.spacing).toBe(200);
    expect(store.bytes).toBe(800);
    expect(heap.alive.map((s) => s.at)).toEqual([0, 800]);
  });

  test("a jump restores the nearest checkpoint at or before the target and replays at most `spacing` operations", () => {
    const heap = new Counter();
    const store = new CheckpointStore({ spacing: 64, maxCount: 40, origin: heap.origin });
    store.travel(10_000, heap.hooks());
    expect(heap.replayed).toBe(10_000);
    expect(store.spacing).toBe(256); // 10000 / 64 is 156 checkpoints, over 40: doubled twice
    for (const n of targets(10_000, 300)) {
      heap.replayed = 0;
      heap.restored = [];
      store.travel(n, heap.hooks());
      const nearest = Math.max(0, ...store.list.filter((c) => c.at <= n).map((c) => c.at));
      expect(heap.at).toBe(n);
      expect(heap.restored).toEqual([nearest]);
      expect(heap.replayed).toBe(n - nearest);
      expect(heap.replayed).toBeLessThan(store.spacing);
    }
  });

  test("forward from where the heap is: a checkpoint further on is restored, not replayed to; one within `near` is not", () => {
    const heap = new Counter();
    const store = new CheckpointStore({ spacing: 100, near: 30, origin: heap.origin });
    store.travel(1000, heap.hooks());
    store.travel(5, heap.hooks());
    heap.replayed = 0;
    heap.restored = [];
    store.travel(950, heap.hooks(true));
    expect([heap.at, heap.restored, heap.replayed]).toEqual([950, [900], 50]);
    // Within `near` of where the heap is: going on is cheaper than restoring.
    store.travel(180, heap.hooks());
    heap.replayed = 0;
    heap.restored = [];
    store.travel(250, heap.hooks(true));
    expect([heap.at, heap.restored, heap.replayed]).toEqual([250, [], 70]);
    // Without leave to go on, it restores the nearest one before.
    heap.replayed = 0;
    heap.restored = [];
    store.travel(260, heap.hooks());
    expect([heap.restored, heap.replayed]).toEqual([[200], 60]);
  });

  test("replays take the checkpoints due as they pass (not twice); `accept` limits what is restored", () => {
    const heap = new Counter();
    const store = new CheckpointStore({ spacing: 10, origin: heap.origin });
    store.travel(35, heap.hooks());
    expect(store.list.map((c) => c.at)).toEqual([10, 20, 30]);
    store.travel(35, heap.hooks());
    store.travel(12, heap.hooks());
    store.travel(35, heap.hooks(true));
    expect(store.list.map((c) => c.at)).toEqual([10, 20, 30]);
    expect(heap.alive.length).toBe(4);
    // Only checkpoints `accept` takes: the origin always.
    heap.restored = [];
    store.travel(25, heap.hooks(false, { accept: (c) => c.at !== 20 }));
    expect(heap.restored).toEqual([10]);
    heap.restored = [];
    store.travel(25, heap.hooks(false, { accept: () => false }));
    expect(heap.restored).toEqual([0]);
    expect(heap.at).toBe(25);
    // A checkpoint added where there is one already is disposed, not kept.
    const again = heap.hooks().save();
    expect(store.add(20, again)).toBe(null);
    expect(again.saved.disposed).toBe(true);
  });

  test("a failing replay stops the journey and says so; the checkpoints before it stay", () => {
    const heap = new Counter();
    const store = new CheckpointStore({ spacing: 10, origin: heap.origin });
    const hooks = heap.hooks();
    const replay = hooks.replay;
    hooks.replay = (from, to) => {
      if (to > 40) throw new Error("operation 41 failed");
      replay(from, to);
    };
    expect(() => store.travel(100, hooks)).toThrow("operation 41 failed");
    expect(heap.at).toBe(40);
    expect(store.list.map((c) => c.at)).toEqual([10, 20, 30, 40]);
  });

  test("disposal: a lost future drops its checkpoints, dispose() all of them; the origin is its owner's", () => {
    const heap = new Counter();
    const store = new CheckpointStore({ spacing: 10, origin: heap.origin });
    store.travel(100, heap.hooks());
    const later = store.list.filter((c) => c.at > 45).map((c) => c.saved);
    store.dropAfter(45);
    expect(store.list.map((c) => c.at)).toEqual([10, 20, 30, 40]);
    expect(later.every((s) => s.disposed)).toBe(true);
    expect(store.bytes).toBe(400);
    // The future replays anew from the last checkpoint kept.
    heap.restored = [];
    store.travel(70, heap.hooks());
    expect(heap.restored).toEqual([40]);
    store.dispose();
    expect(store.count).toBe(0);
    expect(store.bytes).toBe(0);
    expect(heap.alive).toEqual([heap.origin.saved]);
    // With no checkpoint left, every journey starts at the origin.
    heap.restored = [];
    store.travel(3, heap.hooks());
    expect(heap.restored).toEqual([0]);
    expect(() => new CheckpointStore({ spacing: 0, origin: heap.origin })).toThrow(RangeError);
  });
});

/** Counts the operations `heap.run()` replays (3 numbers each) from now on. */
function countRuns(heap) {
  const counter = { ops: 0 };
  const run = heap.run.bind(heap);
  heap.run = (triples) => {
    counter.ops += triples.length / 3;
    return run(triples);
  };
  return counter;
}

describe("one mechanism on the real heap", () => {
  test("Timeline: a jump back replays less than `spacing` operations from the nearest checkpoint; a step forward replays one", async () => {
    const ops = recordedOps(await generateWorkload("random", { seed: 11, count: 20_000 }));
    const session = new Session();
    const timeline = new Timeline(session);
    timeline.load(ops);
    timeline.goto(20_000);
    expect(timeline.store.list).toBe(timeline.checkpoints);
    expect(timeline.spacing).toBe(CHECKPOINT_SPACING);
    const runs = countRuns(session.heap);
    for (const n of [7_777, 15_000, 100, 19_999, 12_345]) {
      runs.ops = 0;
      timeline.goto(n);
      expect(runs.ops, `to ${n}`).toBe(n % CHECKPOINT_SPACING);
      runs.ops = 0;
      timeline.redo();
      expect(runs.ops, `step after ${n}`).toBe(1);
    }
    session.dispose();
  });

  test("PolicyRun: seeks replay from the nearest checkpoint; its bytes stay under CHECKPOINT_BYTES", () => {
    const { ops } = generate("random", { seed: 9, count: 100_000 });
    const run = new PolicyRun(Heap, ops, "best-fit");
    while (!run.finished) run.advance(10_000);
    const spacing = run.checkpointEvery;
    expect(run.checkpoints.every((c) => c.at % spacing === 0)).toBe(true);
    expect(run.store.bytes).toBeLessThanOrEqual(CHECKPOINT_BYTES);
    expect(run.checkpoints.length).toBe(Math.floor((100_000 - 1) / spacing));
    const runs = countRuns(run.heap);
    for (const n of [50_000, 3, 99_999, 61_234]) {
      runs.ops = 0;
      expect(run.seek(n)).toBe(n);
      expect(runs.ops, `to ${n}`).toBe(n % spacing);
    }
    run.dispose();
  });
});
