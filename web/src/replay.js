// Replaying recorded operations to find the first one that fails, in steps,
// so that a long replay can run off the main thread (replay-worker.js) and
// say how far it got. Also what the timeline and the worker share: which
// operations `Heap.run()` can replay, their run triples, the compact form the
// operations travel in between the page and the worker, and the words the
// page uses for a replay in progress and its outcome.
//
// Pure logic over a Session (session.js): no DOM, no Worker. Node tests run it
// as it is.
import { RUN, isTrap } from "./heaplab.js";
import { Session } from "./session.js";

/** Loads of more operations than this replay in a Worker (timeline.js's loadInWorker). */
export const WORKER_THRESHOLD = 50_000;

/** Operations the worker replays between two progress reports. */
export const PROGRESS_EVERY = 5_000;

/** Whether `Heap.run()` can replay a recorded operation. */
export function runnable(op) {
  return op.op === "free" || op.op === "realloc" || (op.op === "malloc" && !op.align);
}

/** `(code, trace id, size)` triples of `ops[from, to)` for `Heap.run()` (trace id = session id - 1). */
export function runTriples(ops, from, to) {
  const out = new Uint32Array((to - from) * 3);
  for (let i = from, k = 0; i < to; i++, k += 3) {
    const op = ops[i];
    out[k] = op.op === "malloc" ? RUN.MALLOC : op.op === "free" ? RUN.FREE : RUN.REALLOC;
    out[k + 1] = op.id - 1;
    out[k + 2] = op.op === "free" ? 0 : op.size;
  }
  return out;
}

/** Whether a load of `count` operations goes through the worker. */
export function needsWorker(count) {
  return count > WORKER_THRESHOLD;
}

// ------------------------------------------------------------ the compact form

/** Operation kinds in the compact form, by their code. */
const KINDS = ["malloc", "calloc", "realloc", "free", "write", "flush", "cache-create", "cache-alloc", "cache-free", "cache-shrink"];
const [MALLOC, CALLOC, REALLOC, FREE, WRITE, FLUSH, CACHE_CREATE, CACHE_ALLOC, CACHE_FREE, CACHE_SHRINK] = KINDS.keys();
const WORDS = 4;

/**
 * Recorded operations in a form that is cheap to post to a worker (a
 * transferable Float64Array, instead of a million objects to clone):
 * `{ count, words, writes }`, four numbers an operation (kind, id, then
 * malloc: size, align; calloc: count, size; realloc: size; write: offset and
 * the index of its bytes in `writes`). Names are left out: they never make an
 * operation fail. Numbers travel as they are (a NaN stays a NaN).
 */
export function encodeOps(ops) {
  const words = new Float64Array(ops.length * WORDS);
  const writes = [];
  for (let i = 0, k = 0; i < ops.length; i++, k += WORDS) {
    const op = ops[i];
    words[k + 1] = op?.id;
    switch (op?.op) {
      case "malloc":
        words[k] = MALLOC;
        words[k + 2] = op.size;
        words[k + 3] = op.align ?? 0;
        break;
      case "calloc":
        words[k] = CALLOC;
        words[k + 2] = op.count;
        words[k + 3] = op.size;
        break;
      case "realloc":
        words[k] = REALLOC;
        words[k + 2] = op.size;
        break;
      case "free":
        words[k] = FREE;
        break;
      case "write":
        words[k] = WRITE;
        words[k + 2] = op.offset;
        words[k + 3] = writes.length;
        writes.push(op.bytes);
        break;
      case "flush":
        words[k] = FLUSH;
        break;
      case "cache-create":
        // The cache's index in the id word; its name and alignment beside the writes.
        words[k] = CACHE_CREATE;
        words[k + 1] = op.cache;
        words[k + 2] = op.size;
        words[k + 3] = writes.length;
        writes.push([op.label, op.align ?? 0]);
        break;
      case "cache-alloc":
      case "cache-free":
        words[k] = op.op === "cache-alloc" ? CACHE_ALLOC : CACHE_FREE;
        words[k + 2] = op.cache;
        break;
      case "cache-shrink":
        words[k] = CACHE_SHRINK;
        words[k + 2] = op.cache;
        break;
      default:
        words[k] = -1;
    }
  }
  return { count: ops.length, words, writes };
}

/** The recorded operations back from `encodeOps()` (names aside). */
export function decodeOps({ count, words, writes }) {
  const ops = new Array(count);
  for (let i = 0, k = 0; i < count; i++, k += WORDS) {
    const id = words[k + 1];
    switch (KINDS[words[k]]) {
      case "malloc":
        ops[i] = { op: "malloc", id, size: words[k + 2], align: words[k + 3] };
        break;
      case "calloc":
        ops[i] = { op: "calloc", id, count: words[k + 2], size: words[k + 3] };
        break;
      case "realloc":
        ops[i] = { op: "realloc", id, size: words[k + 2] };
        break;
      case "free":
        ops[i] = { op: "free", id };
        break;
      case "write":
        ops[i] = { op: "write", id, offset: words[k + 2], bytes: writes[words[k + 3]] };
        break;
      case "flush":
        ops[i] = { op: "flush" };
        break;
      case "cache-create": {
        const [label, align] = writes[words[k + 3]];
        ops[i] = { op: "cache-create", cache: id, label, size: words[k + 2], align };
        break;
      }
      case "cache-alloc":
      case "cache-free":
        ops[i] = { op: KINDS[words[k]], id, cache: words[k + 2] };
        break;
      case "cache-shrink":
        ops[i] = { op: "cache-shrink", cache: words[k + 2] };
        break;
      default:
        ops[i] = { op: "unknown", id };
    }
  }
  return ops;
}

// ------------------------------------------------------------ the replay

const detail = (error) => error?.message ?? String(error);

/**
 * Replays recorded operations on a heap of its own, a slice at a time, until
 * the first one that fails. As the timeline does: `Heap.run()` up to the first
 * operation it cannot replay, the session's methods (with the recorded ids)
 * from there. A wasm trap is a failure of the operation that trapped.
 */
export class Replayer {
  /**
   * @param {object[]} ops recorded operations (session.js's shape)
   * @param {object} options session options; invalid ones throw (coded) here
   */
  constructor(ops, options) {
    this.ops = ops;
    this.session = new Session(options);
    // While replaying, a trap is thrown to the caller (here) instead of the
    // session rebuilding its heap from the whole trace.
    this.session.replaying = true;
    /** Operations replayed without failing. */
    this.done = 0;
    /** Index of the first operation that failed, or null. */
    this.failedAt = null;
    /** Why it failed (empty when none did). */
    this.message = "";
    let slow = 0;
    while (slow < ops.length && runnable(ops[slow])) slow++;
    /** Index of the first operation `run()` cannot replay. */
    this.firstSlow = slow;
  }

  get total() {
    return this.ops.length;
  }

  get finished() {
    return this.failedAt !== null || this.done === this.ops.length;
  }

  #fail(index, why) {
    const op = this.ops[index];
    this.done = index; // the operations before it replayed
    this.failedAt = index;
    this.message = `${op?.op ?? "operation"}${op?.id ? ` #${op.id}` : ""} (operation ${index + 1}) failed: ${why}`;
  }

  /** Replays up to `count` more operations (fewer when one fails or the end comes). */
  advance(count) {
    const end = Math.min(this.ops.length, this.done + Math.max(1, count));
    while (!this.finished && this.done < end) {
      if (this.done < this.firstSlow) this.#runFast(Math.min(end, this.firstSlow));
      else this.#applyOne();
    }
    return this;
  }

  #runFast(to) {
    const from = this.done;
    try {
      this.session.heap.run(runTriples(this.ops, from, to));
    } catch (error) {
      // run() did the operations before the failing one; a trap says no index.
      if (!Number.isInteger(error?.index) || isTrap(error)) this.#fail(from, detail(error));
      else this.#fail(from + error.index, this.#why(from + error.index, error));
      return;
    }
    this.done = to;
    // The session's methods take over: its bookkeeping comes from the heap's blocks.
    if (to === this.firstSlow && to < this.ops.length) this.session.adopt(this.ops.slice(0, to), null, { notify: false });
  }

  /**
   * The session's word for why operation `index` fails (as the rest of the
   * page says it: "double-free", "unknown-block", "out-of-memory"), run()'s
   * message (which counts ids from 0) when the session does not fail it.
   */
  #why(index, error) {
    try {
      this.session.adopt(this.ops.slice(0, index), null, { notify: false });
      const failed = this.session.applyRecorded([this.ops[index]]);
      if (failed.length) return failed[0].message;
    } catch {
      // fall through to run()'s own message
    }
    return detail(error);
  }

  #applyOne() {
    const op = this.ops[this.done];
    let failed;
    try {
      failed = this.session.applyRecorded([op]);
    } catch (error) {
      this.#fail(this.done, detail(error));
      return;
    }
    if (failed.length) this.#fail(this.done, failed[0].message);
    else this.done++;
  }

  /** Where it stands: `{ done, total, failedAt, message }`. */
  report() {
    return { done: this.done, total: this.ops.length, failedAt: this.failedAt, message: this.message };
  }

  /** Releases the heap. */
  dispose() {
    try {
      this.session.dispose();
    } catch {
      // A heap a trap left borrowed cannot be disposed.
    }
  }
}

/**
 * Replays every operation (in slices of PROGRESS_EVERY, calling
 * `onProgress({ done, total })` after each) and returns the report. What the
 * worker runs; Node tests run it directly.
 */
export function replayAll(ops, options, { onProgress = () => {}, every = PROGRESS_EVERY } = {}) {
  const replayer = new Replayer(ops, options);
  try {
    while (!replayer.finished) {
      replayer.advance(every);
      onProgress({ done: replayer.done, total: replayer.total });
    }
    return replayer.report();
  } finally {
    replayer.dispose();
  }
}

// ------------------------------------------------------------ words

const grouped = new Intl.NumberFormat("en-US");

/** "Replaying 120,000 of 2,000,000 operations…" */
export function progressText(done, total) {
  return `Replaying ${grouped.format(done)} of ${grouped.format(total)} operations…`;
}

/**
 * What a load says (the result of `Timeline.load` and `loadInWorker`):
 * "N operations loaded", or the failure and "(K operations dropped)".
 */
export function loadedResult({ loaded, dropped = 0, failure = "", ms = 0 }) {
  const ok = dropped === 0;
  return {
    ok,
    code: ok ? undefined : "replay-failed",
    ms,
    message: ok ? `${loaded} operations loaded` : `${failure} (${dropped} operations dropped)`,
  };
}
