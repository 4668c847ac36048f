// One policy's side of a comparison: replays a trace (run triples) on a heap in
// chunks, sampling the heap's figures every `every` operations for the charts;
// keeps save() checkpoints so the timeline can jump anywhere; times the trace
// in wasm for the throughput. Pure logic over heaplab's Heap (injected), so the
// worker runs it and Node tests it.
import { sampleEvery } from "./metrics.js";

/** Traces up to this many operations are stepped one operation at a time (exact max of blocks examined). */
export const STEP_LIMIT = 50_000;
/** The checkpoints of one heap keep at most about this many bytes of saved pages. */
export const CHECKPOINT_BYTES = 48 * 1024 * 1024;

/** The metrics sampled over time, in chart order. */
export const METRICS = Object.freeze(["heapBytes", "liveRequested", "utilization", "fragmentation", "examined"]);

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
    this.checkpointEvery = Math.max(this.every, Math.ceil(this.count / 32 / this.every) * this.every);
    this.checkpoints = []; // [{ index, saved, bytes }]
    this.sample(this.heap.stats());
    this.checkpoint();
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
    s.fragmentation[i] = stats.externalFragmentation;
    s.examined[i] = since > 0 ? (stats.totalExamined - this.lastTotal) / since : 0;
    this.lastTotal = stats.totalExamined;
    this.fragmentationSum += stats.externalFragmentation;
    if (!this.stepwise) this.examinedMax = Math.max(this.examinedMax, stats.lastExamined, Math.ceil(s.examined[i]));
  }

  checkpoint() {
    const stats = this.heap.stats();
    const bytes = stats.pagesInUse * 4096 + 1024;
    this.checkpoints.push({ index: this.position, saved: this.heap.save(), bytes });
    let total = this.checkpoints.reduce((sum, c) => sum + c.bytes, 0);
    while (total > CHECKPOINT_BYTES && this.checkpoints.length > 2) {
      // Thin out: keep every other checkpoint (always the first), twice as far apart.
      this.checkpoints = this.checkpoints.filter((c, k) => {
        if (k % 2 === 0) return true;
        c.saved.dispose();
        return false;
      });
      this.checkpointEvery *= 2;
      total = this.checkpoints.reduce((sum, c) => sum + c.bytes, 0);
    }
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
          if (!this.failure) this.examinedMax = Math.max(this.examinedMax, this.heap.stats().lastExamined);
        }
      } else {
        this.failure = this.runRange(this.done, to);
      }
      this.done = this.position;
      this.sample(this.heap.stats());
      if (!this.finished && this.done % this.checkpointEvery === 0) this.checkpoint();
    }
    return this.done - start;
  }

  /**
   * Times the trace in wasm: fresh heaps replay it in one run() call each,
   * until at least `minSeconds` have been spent; seconds per replay, best of
   * them (as mdriver does). Returns null when the trace fails on this policy.
   */
  time({ minSeconds = 0.1, maxRuns = 20, now = () => performance.now() } = {}) {
    if (this.failure) return null;
    let best = Infinity;
    let spent = 0;
    for (let r = 0; r < maxRuns && (r === 0 || spent < minSeconds); r++) {
      const heap = new this.Heap(this.options);
      try {
        const started = now();
        heap.run(this.ops);
        const seconds = (now() - started) / 1000;
        spent += seconds;
        best = Math.min(best, seconds);
      } finally {
        heap.dispose();
      }
    }
    return best;
  }

  /** The figures of the finished run (see metrics.js `resultRow`). */
  result(seconds) {
    return {
      policy: this.policy,
      operations: this.done,
      failure: this.failure ? `operation ${this.failure.index + 1} failed: ${this.failure.message}` : null,
      stats: this.heap.stats(),
      fragmentationMean: this.samples.n ? this.fragmentationSum / this.samples.n : 0,
      examinedMax: this.examinedMax,
      examinedMaxExact: this.stepwise,
      seconds,
    };
  }

  /**
   * Puts the heap at `index` operations done (clamped to what the sampled pass
   * reached): restores the latest checkpoint at or before it, then runs the
   * operations in between (restore() jumps forward too).
   */
  seek(index) {
    const target = Math.max(0, Math.min(index, this.done));
    if (target < this.position) this.restoreBefore(target, Infinity);
    // Forward: restore the latest checkpoint on the way, else run there.
    while (this.position < target) {
      if (this.restoreBefore(target, this.position)) continue;
      const next = this.checkpoints.find((c) => c.index > this.position);
      const to = next && next.index < target ? next.index : target;
      if (this.runRange(this.position, to)) break;
    }
    return this.position;
  }

  /** Restores the latest checkpoint after `after` and at or before `target`; true if one did. */
  restoreBefore(target, after) {
    let best = null;
    for (const c of this.checkpoints) {
      if (c.index <= target && (after === Infinity || c.index > after) && (!best || c.index > best.index)) best = c;
    }
    if (!best) return false;
    this.heap.restore(best.saved);
    this.position = best.index;
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
    for (const c of this.checkpoints) c.saved.dispose();
    this.checkpoints = [];
    this.heap.dispose();
  }
}
