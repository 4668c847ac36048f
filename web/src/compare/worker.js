// The compare page's Web Worker: one per policy, each with its own wasm
// instance (so every heap grows its memory exactly as it would alone). It
// reads or generates traces, replays one on its policy's heap in slices
// (yielding between them, posting progress and the samples so far), times it,
// and answers the timeline's seeks with copies of the heap's tables.
//
// Messages in:  { type: "load", source }              → "loaded" | "invalid"
//               { type: "start", policy, options, ops } → "progress"…, "done" | "failed"
//               { type: "seek", index }                → "frame"
// A worker is cancelled by terminating it.
import { init, Heap, Kernel, KMALLOC } from "../heaplab.js";
import { parseTrace } from "../trace.js";
import { generate, toTriples } from "./generators.js";
import { PolicyRun } from "./engine.js";
import { isPeer, loadPeer, peerHeapClass } from "./peers.js";

let run = null;

/** Lets queued messages in (a MessageChannel round trip: no timer clamping). */
function yieldNow() {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(0);
  });
}

/** Reads a trace file or builds a workload; the operations go back as run triples. */
export function loadSource(source) {
  if (source.kind === "workload") return generate(source.key, source);
  const trace = parseTrace(source.text, { name: source.name });
  return { name: source.name, ops: toTriples(trace), ids: trace.ids };
}

async function start({ policy, options, ops }) {
  await init();
  run?.dispose();
  // A production allocator runs in its own module (peers.js), with the same engine.
  // The kernel heap (kmalloc) is heaplab's own Kernel, with Heap's methods.
  const HeapClass = policy === KMALLOC ? Kernel : isPeer(policy) ? peerHeapClass(policy, await loadPeer(policy)) : Heap;
  run = new PolicyRun(HeapClass, ops, policy, options);
  let budget = 2000;
  let lastPost = 0;
  while (!run.finished) {
    const started = performance.now();
    run.advance(budget);
    const spent = performance.now() - started;
    // Slices of about 25 ms: the worker answers messages between them.
    budget = Math.max(run.every, Math.min(1_000_000, Math.round((budget * 25) / Math.max(1, spent))));
    if (performance.now() - lastPost > 150 || run.finished) {
      lastPost = performance.now();
      postMessage({ type: "progress", policy, done: run.done, total: run.count, series: run.series() });
    }
    await yieldNow();
  }
  postMessage({ type: "progress", policy, done: run.count, total: run.count, timing: true, series: run.series() });
  await yieldNow();
  const seconds = run.time({ minSeconds: run.count >= 200_000 ? 0 : 0.1 });
  const snapshot = frame(run.done);
  postMessage({ type: "done", policy, result: run.result(seconds), series: run.series(), frame: snapshot }, [snapshot.pages.buffer, snapshot.blocks.buffer]);
}

function frame(index) {
  run.seek(index);
  // `opaque`: a production allocator's map, whose headers and metadata are its own.
  // `kernel`: the kernel heap's picture (caches, slabs, buddy blocks), drawn by kernel-view.js.
  const kernel = typeof run.heap.picture === "function" ? { kernel: run.heap.picture() } : {};
  return { policy: run.policy, opaque: isPeer(run.policy) || run.policy === KMALLOC, ...run.snapshot(), ...kernel };
}

/** Reads a trace file (the `.rep` reader is in wasm: loaded first) or builds a workload, and posts it. */
async function load(source) {
  try {
    await init();
    const trace = loadSource(source);
    const ops = trace.ops.byteOffset === 0 && trace.ops.byteLength === trace.ops.buffer.byteLength ? trace.ops : trace.ops.slice();
    postMessage({ type: "loaded", name: trace.name, ids: trace.ids, ops }, [ops.buffer]);
  } catch (error) {
    postMessage({ type: "invalid", message: error.message, line: error.line ?? null, reason: error.reason ?? error.message });
  }
}

/** The worker's message handler (Node imports this module for loadSource only). */
function onMessage({ data }) {
  if (data.type === "load") {
    // (The `.rep` reader and the run codes are the wasm module's: `load` awaits init.)
    load(data.source);
  } else if (data.type === "start") {
    start(data).catch((error) => postMessage({ type: "failed", policy: data.policy, message: error?.message ?? String(error) }));
  } else if (data.type === "seek" && run) {
    const snapshot = frame(data.index);
    postMessage({ type: "frame", id: data.id, frame: snapshot }, [snapshot.pages.buffer, snapshot.blocks.buffer]);
  }
}

if (typeof WorkerGlobalScope !== "undefined") self.onmessage = onMessage;
