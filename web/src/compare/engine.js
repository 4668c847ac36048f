// One policy's side of a comparison: replays a trace (run triples) on a heap in
// chunks, sampling the heap's figures every `every` operations for the charts;
// keeps save() checkpoints (a CheckpointStore, checkpoints.js: the playground's
// time travel too) so the timeline can jump anywhere; times the trace in wasm
// for the throughput. Pure logic over heaplab's Heap (injected), so the worker
// runs it and Node tests it.
import { sampleEvery } from "./metrics.js";
import { CheckpointStore } from "../checkpoints.js";

/** Traces up to this many operations are stepped one operation at a time (exact max of blocks examined). */
export const STEP_LIMIT = 50_000;
/** The checkpoints of one heap keep at most about this many bytes of saved pages. */
export const CHECKPOINT_BYTES = 48 * 1024 * 1024;
/** Checkpoints of one heap kept at most (besides time 0); the spacing gives about 32. */
export const MAX_CHECKPOINTS = 64;

/** A timed replay shorter than this (seconds) is timed by the mean of many runs, not the best. */
export const SHORT_RUN = 0.002;

/** The metrics sampled over time, in chart order. */
export const METRICS = Object.freeze(["heapBytes", "liveRequested", "utilization", "fragmentation", "examined"]);

const nullIfNaN = (v) => (Number.isNaN(v) ? null : v);

export class PolicyRun {
  /**
   * @param {typeof import("../heaplab.js").Heap} Heap
   * @param {Uint32Array} ops (code, id, size) triples
   * @param {string} policy
   * @param {object} options heap options besides the policy
   */
  constructor(Heap, ops, policy, options = {}, { points = 2000 } = {}) {
    this.Heap = Heap;
    this.ops = ops;
    this.count = ops.length / 3;
    this.policy = policy;
    this.options = { ...options, policy };
    this.heap = new Heap(this.options);
    this.every = sampleEvery(this.count, points);
    this.stepwise = this.count <= STEP_LIMIT;
    const n = Math.ceil(this.count / this.every) + 1;
    this.samples = { x: new Float64Array(n), n: 0 };
    for (const m of METRICS) this.samples[m] = new Float64Array(n);
    this.position = 0; // operations done on this.heap
    this.done = 0; // operations replayed by the sampled pass
    this.failure = null;
    this.examinedMax = 0;
    this.fragmentationSum = 0;
    this.lastTotal = 0;
    // About 32 checkpoints over the trace, on sample boundaries (the sampled
    // pass stops there); time 0 is the heap as created.
    this.origin = this.#save();
    this.store = new CheckpointStore({
      spacing: Math.max(this.every, Math.ceil(this.count / 32 / this.every) * this.every),
      maxCount: MAX_CHECKPOINTS,
      maxBytes: CHECKPOINT_BYTES,
      origin: this.origin,
    });
    this.sample(this.heap.stats());
  }

  /** The checkpoints in time order, `{ at, saved, bytes }` (time 0, the origin, left out). */
  get checkpoints() {
    return this.store.list;
  }

  /** Operations between checkpoints (doubled as often as memory asked). */
  get checkpointEvery() {
    return this.store.spacing;
  }

  get finished() {
    return this.failure !== null || this.done >= this.count;
  }

  /** Records the figures after `this.done` operations. */
  sample(stats) {
    const s = this.samples;
    const i = s.n++;
    const since = i === 0 ? 0 : this.done - s.x[i - 1];
    s.x[i] = this.done;
    s.heapBytes[i] = stats.heapBytes;
    s.liveRequested[i] = stats.liveRequested;
    s.utilization[i] = stats.highWaterMark > 0 ? stats.peakLiveRequested / stats.highWaterMark : 0;
    // A production allocator's unknown figures (null) are NaN: no point on the chart.
    s.fragmentation[i] = stats.externalFragmentation ?? NaN;
    if (stats.totalExamined === null) s.examined[i] = NaN;
    else s.examined[i] = since > 0 ? (stats.totalExamined - this.lastTotal) / since : 0;
    this.lastTotal = stats.totalExamined;
    this.fragmentationSum += stats.externalFragmentation ?? NaN;
    if (!this.stepwise && stats.totalExamined !== null) this.examinedMax = Math.max(this.examinedMax, stats.lastExamined, Math.ceil(s.examined[i]));
  }

  /** The heap as it is now, as a checkpoint (its bytes estimated from the pages in use). */
  #save() {
    const bytes = this.heap.stats().pagesInUse * 4096 + 1024;
    return { saved: this.heap.save(), bytes };
  }

  /** Keeps a checkpoint of the heap at the current position (if there is none there yet). */
  checkpoint() {
    if (!this.store.has(this.position)) this.store.add(this.position, this.#save());
  }

  /** Runs ops [from, to) on the heap; returns the failure (with the operation's index) or null. */
  runRange(from, to) {
    try {
      this.heap.run(this.ops.subarray(from * 3, to * 3));
      this.position = to;
      return null;
    } catch (error) {
      const index = from + (error.index ?? 0);
      this.position = index;
      return { index, code: error.code ?? "internal", message: error.message };
    }
  }

  /** Replays and samples up to `budget` more operations; returns how many were done. */
  advance(budget = 10_000) {
    const start = this.done;
    while (!this.finished && this.done - start < budget) {
      const to = Math.min(this.count, (Math.floor(this.done / this.every) + 1) * this.every);
      if (this.stepwise) {
        for (let i = this.done; i < to && !this.failure; i++) {
          this.failure = this.runRange(i, i + 1);
          if (!this.failure && this.heap.countsExamined !== false) this.examinedMax = Math.max(this.examinedMax, this.heap.stats().lastExamined);
        }
      } else {
        this.failure = this.runRange(this.done, to);
      }
      this.done = this.position;
      this.sample(this.heap.stats());
      if (!this.finished) this.store.take(this.done, () => this.#save());
    }
    return this.done - start;
  }

  /**
   * Times the trace in wasm: fresh heaps replay it in one run() call each,
   * until at least `minSeconds` have been spent (or `maxRuns` runs); seconds
   * per replay, best of them (as mdriver does), or their mean when the best
   * is under SHORT_RUN: a browser's clock ticks every 0.1 ms, so the best of
   * runs that short is a tick count (equal for unequal heaps), while the mean
   * of many runs is not. Returns null when the trace fails on this policy.
   */
  time({ minSeconds = 0.1, maxRuns = 200, now = () => performance.now() } = {}) {
    if (this.failure) return null;
    let best = Infinity;
    let spent = 0;
    let runs = 0;
    for (let r = 0; r < maxRuns && (r === 0 || spent < minSeconds); r++) {
      const heap = new this.Heap(this.options);
      try {
        const started = now();
        // The whole trace inside wasm: heaplab's run(), or a production
        // allocator's own loop in its module (runUntracked).
        if (heap.runUntracked) heap.runUntracked(this.ops);
        else heap.run(this.ops);
        const seconds = (now() - started) / 1000;
        spent += seconds;
        runs++;
        best = Math.min(best, seconds);
      } finally {
        heap.dispose();
      }
    }
    return best >= SHORT_RUN ? best : spent / runs;
  }

  /** The figures of the finished run (see metrics.js `resultRow`). */
  result(seconds) {
    return {
      policy: this.policy,
      operations: this.done,
      failure: this.failure ? `operation ${this.failure.index + 1} failed: ${this.failure.message}` : null,
      stats: this.heap.stats(),
      fragmentationMean: this.samples.n ? nullIfNaN(this.fragmentationSum / this.samples.n) : 0,
      examinedMax: this.heap.countsExamined === false ? null : this.examinedMax,
      examinedMaxExact: this.stepwise,
      seconds,
    };
  }

  /**
   * Puts the heap at `index` operations done (clamped to what the sampled pass
   * reached): forward from where it is, else from the latest checkpoint at or
   * before it; on the way it restores any later checkpoint (restore() jumps
   * forward too) and runs the operations in between. Returns the position.
   */
  seek(index) {
    const target = Math.max(0, Math.min(index, this.done));
    try {
      this.store.travel(target, {
        from: this.position,
        restore: (c) => this.#restore(c),
        replay: (from, to) => {
          const failure = this.runRange(from, to);
          if (failure) throw new Error(failure.message);
        },
        save: () => this.#save(),
      });
    } catch {
      // Should not happen (the sampled pass did these operations): the heap stays where it stopped.
    }
    return this.position;
  }

  #restore(c) {
    this.heap.restore(c.saved);
    this.position = c.at;
  }

  /** Restores the latest checkpoint after `after` and at or before `target` (time 0 included when `after` is Infinity); true if one did. */
  restoreBefore(target, after) {
    const c = after === Infinity ? this.store.before(target) : this.store.ahead(after, target);
    if (!c) return false;
    this.#restore(c);
    return true;
  }

  /** Copies of what the map draws, at the current position. */
  snapshot() {
    return {
      index: this.position,
      segments: this.heap.segments(),
      pages: this.heap.pages().slice(),
      blocks: this.heap.blocks().slice(),
      stats: this.heap.stats(),
      freeLists: typeof this.heap.freeLists === "function" ? this.heap.freeLists() : null,
    };
  }

  /** The samples, trimmed to those taken (copies). */
  series() {
    const out = { n: this.samples.n, x: this.samples.x.slice(0, this.samples.n) };
    for (const m of METRICS) out[m] = this.samples[m].slice(0, this.samples.n);
    return out;
  }

  dispose() {
    this.store.dispose();
    this.origin.saved.dispose();
    this.heap.dispose();
  }
}
