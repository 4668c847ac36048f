// Runs a comparison off the main thread: one Web Worker per policy (each with
// its own wasm instance), progress and partial samples as they come, and the
// timeline's seeks answered by every worker at once (the latest seek wins:
// seeks issued while one is in flight collapse into one).

// Written out in full so that Vite bundles the worker (and its wasm) as a worker.
const spawn = () => new Worker(new URL("./worker.js", import.meta.url), { type: "module" });

/**
 * Reads a trace file or builds a workload in a worker.
 * Resolves `{ name, ids, ops }`; rejects with an Error carrying `line` and `reason` for a malformed trace.
 */
export function loadTrace(source) {
  const worker = spawn();
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => {
      worker.terminate();
      if (data.type === "loaded") resolve(data);
      else reject(Object.assign(new Error(data.message), { line: data.line, reason: data.reason }));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(event.message || "the trace worker failed"));
    };
    worker.postMessage({ type: "load", source });
  });
}

export class Comparison {
  /**
   * @param {Uint32Array} ops run triples (copied to every worker)
   * @param {string[]} policies
   * @param {object} options heap options besides the policy
   * @param {{ onProgress(policy, msg), onDone(results), onError(message) }} handlers
   */
  constructor(ops, policies, options, handlers) {
    this.policies = policies;
    this.handlers = handlers;
    this.results = new Map();
    this.workers = new Map();
    this.seekId = 0;
    this.inFlight = null;
    this.pending = null;
    this.finished = false;
    this.started = performance.now();
    this.ops = ops;
    this.options = options;
    this.queue = [...policies];
    // One core stays with the page: replays run at most (cores - 1) at a time (two at least).
    const parallel = Math.max(2, Math.min(policies.length, (navigator.hardwareConcurrency || 2) - 1));
    for (let k = 0; k < parallel; k++) this.#next();
  }

  /** Starts the next policy's worker, if any is waiting. */
  #next() {
    const policy = this.queue.shift();
    if (!policy) return;
    const worker = spawn();
    worker.onmessage = ({ data }) => this.#message(policy, data);
    worker.onerror = (event) => this.#fail(`${policy}: ${event.message || "the worker failed"}`);
    const copy = this.ops.slice();
    worker.postMessage({ type: "start", policy, options: this.options, ops: copy }, [copy.buffer]);
    this.workers.set(policy, worker);
  }

  #message(policy, data) {
    if (data.type === "progress") this.handlers.onProgress(policy, data);
    else if (data.type === "done") {
      this.results.set(policy, data);
      this.handlers.onProgress(policy, { done: this.ops.length / 3, total: this.ops.length / 3, series: data.series });
      this.#next();
      if (this.results.size === this.policies.length) {
        this.finished = true;
        this.seconds = (performance.now() - this.started) / 1000;
        this.handlers.onDone(this.policies.map((p) => this.results.get(p)));
      }
    } else if (data.type === "failed") this.#fail(`${policy}: ${data.message}`);
    else if (data.type === "frame" && this.inFlight && data.id === this.inFlight.id) {
      this.inFlight.frames.set(policy, data.frame);
      if (this.inFlight.frames.size === this.policies.length) {
        const { resolve, frames } = this.inFlight;
        this.inFlight = null;
        resolve(this.policies.map((p) => frames.get(p)));
        if (this.pending !== null) {
          const next = this.pending;
          this.pending = null;
          this.#seek(next.index).then(next.resolve);
        }
      }
    }
  }

  #fail(message) {
    this.cancel();
    this.handlers.onError(message);
  }

  /** Every policy's heap at `index` operations: resolves the frames (in policy order), or null when overtaken by a later seek. */
  seek(index) {
    if (!this.finished) return Promise.resolve(null);
    if (this.inFlight) {
      this.pending?.resolve(null);
      return new Promise((resolve) => (this.pending = { index, resolve }));
    }
    return this.#seek(index);
  }

  #seek(index) {
    const id = ++this.seekId;
    return new Promise((resolve) => {
      this.inFlight = { id, resolve, frames: new Map() };
      for (const worker of this.workers.values()) worker.postMessage({ type: "seek", id, index });
    });
  }

  /** Stops every worker (a cancelled comparison cannot be resumed). */
  cancel() {
    this.queue = [];
    for (const worker of this.workers.values()) worker.terminate();
    this.workers.clear();
    this.inFlight?.resolve(null);
    this.pending?.resolve(null);
    this.inFlight = this.pending = null;
  }
}
