// The timeline: every operation of the session in order, the point in time
// the heap shows, and checkpoints that rebuild any point quickly.
//
// The heap is deterministic, so the state after n operations is the state of
// a checkpoint (a `Heap.save()` at or before n) plus the operations between
// them replayed. Traces of malloc / free / realloc only (imported traces,
// workloads, most console sessions) replay inside wasm with `Heap.run()`, no
// JS call per operation; others (calloc, aligned malloc, writes) replay
// through the session. The checkpoints are a CheckpointStore (checkpoints.js,
// the compare page's too): one every `spacing` operations as replays pass;
// past MAX_CHECKPOINTS or CHECKPOINT_BYTES the spacing doubles and every other
// one is disposed, so memory stays bounded and a jump replays at most
// `spacing` operations (plus NEAR when it goes on from where the heap is).
//
// Going back and then doing something new drops the operations after that
// point (as undo does in an editor). Pure logic over a Session: no DOM.
import { createHeap } from "./heap-factory.js";
import { CheckpointStore } from "./checkpoints.js";
import { describeOp, describeOptions, heapOptions } from "./session.js";
import { runnable, runTriples, loadedResult } from "./replay.js";
import { replayInWorker } from "./replay-runner.js";

/** Operations between checkpoints at first. */
export const CHECKPOINT_SPACING = 512;
/** Checkpoints kept at most (the spacing doubles beyond). */
export const MAX_CHECKPOINTS = 64;
/** Bytes of heap the checkpoints may hold together (estimated from `heapBytes`). */
export const CHECKPOINT_BYTES = 256 * 1024 * 1024;

/** A checkpoint fewer operations ahead than this is not restored: replaying is as fast. */
const NEAR = 64;

// Which operations run() replays, and their triples, live in replay.js (the
// replay worker uses them too).
export { runnable, runTriples };

/** Heap options that a heap cannot be built with, as a failed result; null when they are valid. */
function checkOptions(options) {
  try {
    createHeap(heapOptions({ ...options })).dispose();
    return null;
  } catch (error) {
    return { ok: false, code: error?.code ?? "invalid-option", message: error?.message ?? String(error) };
  }
}

export class Timeline {
  /** @param {import("./session.js").Session} session */
  constructor(session) {
    this.session = session;
    this.listeners = new Set();
    /** Loads started so far: a load waiting for its worker applies only if no other started since. */
    this.loads = 0;
    this.#reset(session.trace.slice(), session.trace.length);
    session.onChange(() => this.#sync());
  }

  /** Calls `listener(timeline)` after the position or the operations changed. */
  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  #emit() {
    for (const listener of this.listeners) listener(this);
  }

  /** Forgets every checkpoint and takes `ops` as the recorded operations, the heap being at `at`. */
  #reset(ops, at) {
    this.store?.dispose();
    /** Every recorded operation (the session's trace is `ops.slice(0, at)`). */
    this.ops = ops;
    /** The point in time shown: the number of operations done. */
    this.at = at;
    this.heap = this.session.heap;
    this.origin = this.session.origin;
    /**
     * The checkpoints, `{ at, saved, books, runBuilt, bytes }`: `books` the
     * session's bookkeeping when it was made through the session, `runBuilt`
     * when by run() (only those can be restored under run()). Time 0 is the
     * session's origin (the heap as created or just reset).
     */
    this.store = new CheckpointStore({
      spacing: CHECKPOINT_SPACING,
      maxCount: MAX_CHECKPOINTS,
      maxBytes: CHECKPOINT_BYTES,
      near: NEAR,
      origin: { saved: this.origin, books: null, runBuilt: true, bytes: 0 },
    });
    /** Index of the first operation `run()` cannot replay (ops.length if none). */
    this.firstSlow = this.#firstSlow(0);
    /** Whether the heap's own run() bookkeeping matches `at` (then run() may continue from it). */
    this.liveRun = at === 0;
  }

  #firstSlow(from) {
    let i = from;
    while (i < this.ops.length && runnable(this.ops[i])) i++;
    return i;
  }

  /** The checkpoints in time order (time 0, the origin, left out). */
  get checkpoints() {
    return this.store.list;
  }

  /** Operations between checkpoints now (CHECKPOINT_SPACING, doubled as often as memory asked). */
  get spacing() {
    return this.store.spacing;
  }

  /** Keeps up with what the session did by itself (a new operation, a reset, new options). */
  #sync() {
    if (this.busy) return;
    const s = this.session;
    if (s.heap !== this.heap || s.origin !== this.origin || s.trace.length < this.at || s.trace.length > this.at + 1) {
      this.#reset(s.trace.slice(), s.trace.length);
      this.#emit();
      return;
    }
    if (s.trace.length === this.at + 1) {
      // A new operation: the future after `at` is gone.
      this.store.dropAfter(this.at);
      this.ops.length = this.at;
      const op = s.trace[this.at];
      this.ops.push(op);
      if (this.firstSlow >= this.at) this.firstSlow = runnable(op) ? this.at + 1 : this.at;
      this.at++;
      this.liveRun = false;
      this.#emit();
    }
  }

  get length() {
    return this.ops.length;
  }
  get canUndo() {
    return this.at > 0;
  }
  get canRedo() {
    return this.at < this.ops.length;
  }

  /** Goes one operation back (undo). */
  undo() {
    return this.goto(this.at - 1);
  }

  /** Goes one operation forward (redo). */
  redo() {
    return this.goto(this.at + 1);
  }

  /**
   * Rebuilds the heap after the first `n` operations (clamped to 0..length).
   * Returns `{ ok, message, ms }`.
   */
  goto(n) {
    n = Math.max(0, Math.min(this.ops.length, Math.trunc(Number(n) || 0)));
    if (n === this.at && this.session.heap === this.heap) return { ok: true, message: `at operation ${n}`, ms: 0 };
    const t0 = performance.now();
    this.busy = true;
    let result;
    try {
      if (n <= this.firstSlow) this.#fastTo(n);
      else this.#slowTo(n);
      this.at = n;
      result = { ok: true, message: `at operation ${n} of ${this.ops.length}` };
    } catch (error) {
      // Should not happen (the same operations succeeded before): rebuild from scratch.
      const rebuilt = this.session.rebuild(this.session.options, this.ops.slice(0, n));
      this.#reset(this.ops, n);
      result = { ok: false, code: "replay-failed", message: `time travel fell back to a full replay (${error.message}); ${rebuilt.message}` };
    }
    result.ms = performance.now() - t0;
    try {
      this.session.touch();
    } finally {
      this.busy = false;
    }
    this.#emit();
    return result;
  }

  /**
   * Replays with `Heap.run()`: from the live heap when run() can continue
   * from it, else from the latest checkpoint run() built; on the way, jumps
   * to any later such checkpoint and takes new ones.
   */
  #fastTo(n) {
    this.store.travel(n, {
      from: this.liveRun ? this.at : null,
      accept: (c) => c.runBuilt,
      restore: (c) => this.heap.restore(c.saved),
      replay: (from, to) => this.heap.run(runTriples(this.ops, from, to)),
      save: () => this.#save(true),
    });
    this.liveRun = true;
    this.session.adopt(this.ops.slice(0, n), null, { notify: false });
  }

  /** A checkpoint of the heap as it is now (with the session's bookkeeping unless run() built it). */
  #save(runBuilt) {
    const bytes = this.heap.stats().heapBytes;
    return { saved: this.heap.save(), books: runBuilt ? null : this.session.bookkeeping(), runBuilt, bytes };
  }

  /** Replays through the session (any operation), from the session as it is when it is not past `n`. */
  #slowTo(n) {
    this.store.travel(n, {
      from: this.at,
      restore: (c) => {
        this.heap.restore(c.saved);
        this.session.adopt(this.ops.slice(0, c.at), c.books, { notify: false });
      },
      replay: (from, to) => {
        const failed = this.session.applyRecorded(this.ops.slice(from, to));
        if (failed.length) throw new Error(`${failed[0].op.op}${failed[0].op.id ? ` #${failed[0].op.id}` : ""} failed: ${failed[0].message}`);
      },
      save: () => this.#save(false),
    });
    this.liveRun = false;
    this.session.adopt(this.ops.slice(0, n), this.session.bookkeeping(), { notify: false });
  }

  /**
   * Replaces everything with `ops` (recorded operations) on a fresh heap with
   * `options`, then goes to time `at` (default: the start). Operations that
   * fail under these options are dropped and reported. Invalid options change nothing.
   * A load of many operations freezes the page while it replays: see `loadInWorker`.
   */
  load(ops, options = this.session.options, at = 0) {
    this.loads++; // a load still waiting for its worker gives way to this one
    return this.#load(ops, options, at);
  }

  #load(ops, options, at) {
    const t0 = performance.now();
    this.busy = true;
    let rebuilt;
    try {
      rebuilt = this.session.rebuild(options, []);
    } finally {
      this.busy = false;
    }
    if (rebuilt.code && !rebuilt.failed) return rebuilt; // invalid options
    this.#reset(ops.slice(), 0);
    let dropped = 0;
    let message = "";
    // Build the checkpoints (and check every operation) by going to the end once.
    const end = this.goto(this.ops.length);
    if (!end.ok) {
      dropped = this.ops.length - this.session.trace.length;
      message = end.message;
      this.#reset(this.session.trace.slice(), this.session.trace.length);
    }
    this.goto(Math.min(at, this.ops.length));
    return loadedResult({ loaded: this.ops.length, dropped, failure: message, ms: performance.now() - t0 });
  }

  /**
   * `load()` for many operations (more than WORKER_THRESHOLD: see `needsWorker`),
   * without freezing the page: a worker replays them all first, on a heap of
   * its own with the same options, calling `onProgress({ done, total })` as it
   * goes; then this heap replays only up to `at` (checkpoints after it come as
   * time travel passes them). The operations from the first one that fails on
   * are dropped, and the result says so as `load()` does.
   *
   * Nothing changes until the worker is done: aborting `signal` (Cancel), a
   * newer `load()` or `loadInWorker()`, invalid options or a worker that fails
   * leave the timeline as it was, with a result that says why
   * (`cancelled: true` for the first two). Never rejects.
   *
   * @param {{ onProgress?(progress): void, signal?: AbortSignal, beforeApply?(): void,
   *   replay?(ops, options, hooks): Promise<{ failedAt, message }> }} [hooks]
   *   `beforeApply` is called when the worker is done, just before this heap is
   *   replaced; `replay` defaults to the worker (tests pass another).
   */
  async loadInWorker(ops, options = this.session.options, at = 0, { onProgress, signal, beforeApply, replay = replayInWorker } = {}) {
    const t0 = performance.now();
    const ticket = ++this.loads;
    const total = ops.length;
    let progress = { done: 0, total };
    const since = () => performance.now() - t0;
    const cancelled = (why) => ({
      ok: false,
      code: "cancelled",
      cancelled: true,
      ms: since(),
      message: `${why} after ${progress.done} of ${total} operations: nothing was changed`,
    });
    const invalid = checkOptions(options);
    if (invalid) return invalid;
    const copy = ops.slice(); // the caller's array may change while the worker runs
    let verdict;
    try {
      verdict = await replay(copy, options, {
        signal,
        onProgress: (p) => {
          progress = p;
          if (ticket === this.loads) onProgress?.(p);
        },
      });
    } catch (error) {
      if (signal?.aborted || error?.name === "AbortError") return cancelled("Loading cancelled");
      if (ticket !== this.loads) return cancelled("Another load took its place");
      return { ok: false, code: "replay-failed", ms: since(), message: `could not replay the ${total} operations in the background (${error?.message ?? error}): nothing was changed` };
    }
    if (signal?.aborted) return cancelled("Loading cancelled");
    if (ticket !== this.loads) return cancelled("Another load took its place");
    const failedAt = Number.isInteger(verdict?.failedAt) ? Math.max(0, Math.min(total, verdict.failedAt)) : null;
    const kept = failedAt === null ? copy : copy.slice(0, failedAt);
    try {
      beforeApply?.();
    } catch {
      // the caller's bookkeeping must not stop the load
    }
    this.busy = true;
    let rebuilt;
    try {
      rebuilt = this.session.rebuild(options, []);
    } finally {
      this.busy = false;
    }
    if (rebuilt.code && !rebuilt.failed) return rebuilt; // invalid options (checked above: should not happen)
    this.#reset(kept, 0);
    const target = Math.min(at, kept.length);
    const there = this.goto(target);
    if (target === 0) {
      // goto(0) had nothing to do: still, the operations are new.
      this.session.touch();
      this.#emit();
    }
    const dropped = total - this.ops.length;
    let failure = failedAt === null ? "" : verdict.message || `operation ${failedAt + 1} failed`;
    if (!there.ok) failure = failure ? `${failure}; ${there.message}` : there.message;
    const result = loadedResult({ loaded: this.ops.length, dropped, failure, ms: since() });
    if (!there.ok && result.ok) return { ...result, ok: false, code: there.code, message: `${result.message}; ${there.message}` };
    return result;
  }

  /**
   * New heap options: the whole timeline is replayed with them (in wasm when
   * it can be) and the heap goes back to the same time. Operations that fail
   * under the new options are dropped and listed; invalid options change nothing.
   */
  setOptions(changes) {
    const options = { ...this.session.options, ...changes };
    const count = this.ops.length;
    const result = this.#load(this.ops, options, this.at);
    if (result.code && result.code !== "replay-failed") return result; // invalid options: nothing changed
    const dropped = result.ok ? "" : `; ${result.message}`;
    return { ...result, message: `Rebuilt the heap (${describeOptions(options)}) by replaying ${count} operation${count === 1 ? "" : "s"}${dropped}` };
  }

  /** A short description of operation `i` (0-based) in C (session.js describeOp). */
  describe(i) {
    return this.ops[i] ? describeOp(this.ops[i]) : "";
  }

  /** Releases every checkpoint. */
  dispose() {
    this.store.dispose();
    this.listeners.clear();
  }
}
