// Starts the replay worker (replay-worker.js) for a load of many operations,
// or for reading a big trace file, and turns its messages into a promise:
// progress through `onProgress`, the outcome at the end. Aborting `signal`
// terminates the worker at once and rejects with an AbortError.
import { decodeOps, encodeOps } from "./replay.js";
import { wasmModule } from "./heaplab.js";

// Written out in full so that Vite bundles the worker (and its wasm) as a worker.
const spawn = () => new Worker(new URL("./replay-worker.js", import.meta.url), { type: "module" });

const aborted = () => new DOMException("the work was cancelled", "AbortError");

/** Posts `message` to a new worker; resolves its last message (a "progress" one aside). */
function ask(message, transfer, { onProgress = () => {}, signal } = {}) {
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
      if (data.type === "progress") {
        onProgress({ done: data.done, total: data.total });
        return;
      }
      finish();
      if (data.type === "failed") reject(new Error(data.message));
      else resolve(data);
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
    // The page's compiled module goes along: the worker neither fetches nor compiles the wasm again.
    worker.postMessage({ ...message, module: wasmModule() }, transfer);
  });
}

/**
 * Replays `ops` (recorded operations) with heap `options` in a worker.
 * Resolves `{ done, total, failedAt, message }` (failedAt null when every operation replayed).
 * @param {{ onProgress?(progress: { done, total }): void, signal?: AbortSignal }} [hooks]
 */
export async function replayInWorker(ops, options, hooks = {}) {
  if (hooks.signal?.aborted) throw aborted();
  const encoded = encodeOps(ops);
  const { done, total, failedAt, message } = await ask({ type: "replay", ops: encoded, options }, [encoded.words.buffer], hooks);
  return { done, total, failedAt, message };
}

/**
 * Reads (parses) a trace file's bytes in a worker, as `readTraceText` of
 * trace-files.js does on the page: `{ ok: true, ops, options }` or
 * `{ ok: false, code, line, message }`. `bytes` (an ArrayBuffer) is handed
 * over to the worker: it is empty afterwards.
 * @param {{ signal?: AbortSignal }} [hooks]
 */
export async function readInWorker(bytes, name, { signal } = {}) {
  const data = await ask({ type: "read", bytes, name }, [bytes], { signal });
  if (!data.ok) return { ok: false, code: data.code, line: data.line, message: data.message };
  return { ok: true, ops: decodeOps(data.ops), options: data.options };
}
