// Starts a replay worker (replay-worker.js) for a load of many operations and
// turns its messages into a promise: progress through `onProgress`, the
// outcome `{ failedAt, message }` at the end. Aborting `signal` terminates the
// worker at once and rejects with an AbortError.
import { encodeOps } from "./replay.js";

// Written out in full so that Vite bundles the worker (and its wasm) as a worker.
const spawn = () => new Worker(new URL("./replay-worker.js", import.meta.url), { type: "module" });

const aborted = () => new DOMException("the replay was cancelled", "AbortError");

/**
 * Replays `ops` (recorded operations) with heap `options` in a worker.
 * Resolves `{ done, total, failedAt, message }` (failedAt null when every operation replayed).
 * @param {{ onProgress?(progress: { done, total }): void, signal?: AbortSignal }} [hooks]
 */
export function replayInWorker(ops, options, { onProgress = () => {}, signal } = {}) {
  if (signal?.aborted) return Promise.reject(aborted());
  return new Promise((resolve, reject) => {
    let worker;
    try {
      worker = spawn();
    } catch (error) {
      reject(new Error(`the replay worker did not start (${error?.message ?? error})`));
      return;
    }
    const finish = () => {
      worker.terminate();
      signal?.removeEventListener("abort", abort);
    };
    const abort = () => {
      finish();
      reject(aborted());
    };
    signal?.addEventListener("abort", abort, { once: true });
    worker.onmessage = ({ data }) => {
      if (data.type === "progress") onProgress({ done: data.done, total: data.total });
      else if (data.type === "done") {
        finish();
        resolve({ done: data.done, total: data.total, failedAt: data.failedAt, message: data.message });
      } else if (data.type === "failed") {
        finish();
        reject(new Error(data.message));
      }
    };
    worker.onerror = (event) => {
      event.preventDefault?.();
      finish();
      reject(new Error(event.message || "the replay worker failed"));
    };
    worker.onmessageerror = () => {
      finish();
      reject(new Error("the replay worker sent a message that could not be read"));
    };
    const encoded = encodeOps(ops);
    worker.postMessage({ type: "replay", ops: encoded, options }, [encoded.words.buffer]);
  });
}
