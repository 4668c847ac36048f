// Built-in workloads: traces the project generates (seeded, so the same seed
// gives the same trace everywhere) and two recorded from real programs. Each
// returns a trace in trace.js's shape, `{ ops: [{ op: "a"|"f"|"r", id, size }], ids, name }`,
// and says in one line what it shows.
//
// The recorded ones, under Valgrind's `--trace-malloc=yes`, converted by
// `scripts/record-trace.mjs` (the first N calls, then the blocks still live
// freed): `ls -lR /usr/share/doc` (--limit 4000) and GCC's preprocessor,
// `node scripts/record-trace.mjs --limit 6000 --out web/src/workloads/cc1-recorded.rep
// -- $(gcc -print-prog-name=cc1) -E -quiet /usr/include/stdio.h -o /dev/null`.
import { init } from "./heaplab.js";
import { parseTrace } from "./trace.js";
import { seededRandom } from "./random.js";

export { seededRandom };


/** Where the recorded traces lie (Vite emits them as assets; Node reads the files). */
const LS_RECORDED = new URL("./workloads/ls-recorded.rep", import.meta.url);
export const CC1_RECORDED = new URL("./workloads/cc1-recorded.rep", import.meta.url);

export async function readText(url) {
  if (typeof process !== "undefined" && process.versions?.node && url.protocol === "file:") {
    const fs = "node:fs/promises";
    const { readFile } = await import(/* @vite-ignore */ fs);
    return readFile(url, "utf8");
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load ${url.pathname.split("/").pop()} (HTTP ${response.status})`);
  return response.text();
}


/** Records operations on fresh ids (each id used once). */
class Recorder {
  constructor(name) {
    this.name = name;
    this.ops = [];
    this.ids = 0;
  }
  malloc(size) {
    const id = this.ids++;
    this.ops.push({ op: "a", id, size });
    return id;
  }
  free(id) {
    this.ops.push({ op: "f", id });
  }
  realloc(id, size) {
    this.ops.push({ op: "r", id, size });
  }
  done() {
    return { ops: this.ops, ids: this.ids, header: "short", name: this.name };
  }
}

/** A size between `lo` and `hi`, spread evenly over powers of two (small sizes as common as big ones). */
function logSize(random, lo, hi) {
  return Math.max(1, Math.round(Math.exp(Math.log(lo) + random() * (Math.log(hi) - Math.log(lo)))));
}

function randomWork({ seed, count }) {
  const random = seededRandom(seed);
  const t = new Recorder("random");
  const live = [];
  while (t.ops.length < count) {
    const r = random();
    // Frees get likelier as more blocks are live: about 300 live blocks at most times.
    if (live.length && r < (0.9 * live.length) / (live.length + 300)) {
      const k = Math.floor(random() * live.length);
      t.free(live[k]);
      live[k] = live[live.length - 1];
      live.pop();
    } else if (live.length && r > 0.95) {
      t.realloc(live[Math.floor(random() * live.length)], logSize(random, 8, 4096));
    } else live.push(t.malloc(logSize(random, 8, 2048)));
  }
  return t.done();
}

function stackWork({ seed, count }) {
  const random = seededRandom(seed);
  const t = new Recorder("stack");
  const stack = [];
  while (t.ops.length < count) {
    // Push a burst, then pop part of it: last in, first out.
    const push = 1 + Math.floor(random() * 8);
    for (let i = 0; i < push && t.ops.length < count; i++) stack.push(t.malloc(logSize(random, 16, 512)));
    const pop = Math.floor(random() * (push + 2));
    for (let i = 0; i < pop && stack.length && t.ops.length < count; i++) t.free(stack.pop());
  }
  return t.done();
}

function queueWork({ seed, count }) {
  const random = seededRandom(seed);
  const t = new Recorder("queue");
  const queue = [];
  const depth = 24;
  while (t.ops.length < count) {
    queue.push(t.malloc(logSize(random, 16, 512)));
    // Free the oldest: first in, first out.
    if (queue.length > depth && t.ops.length < count) t.free(queue.shift());
  }
  return t.done();
}

function fragmentationWork({ seed, count }) {
  const random = seededRandom(seed);
  const t = new Recorder("fragmentation");
  const rounds = Math.max(1, Math.floor(count / 64));
  const n = Math.min(400, Math.max(8, Math.floor(count / 3)));
  for (let round = 0; round < rounds && t.ops.length < count; round++) {
    const size = 32 + 16 * Math.floor(random() * 4);
    const ids = [];
    for (let i = 0; i < n && t.ops.length < count; i++) ids.push(t.malloc(size));
    // Free every other block: half the memory is free, in holes too small for...
    for (let i = 0; i < ids.length && t.ops.length < count; i += 2) t.free(ids[i]);
    // ...a request a bit bigger than each hole, which must take new memory.
    for (let i = 0; i < n / 4 && t.ops.length < count; i++) t.malloc(size * 2);
  }
  return t.done();
}

function reallocWork({ seed, count }) {
  const random = seededRandom(seed);
  const t = new Recorder("grow-by-realloc");
  while (t.ops.length < count) {
    // One buffer grows by half again each time, with small blocks allocated
    // in between that stop it from growing in place.
    let size = 32;
    const buffer = t.malloc(size);
    const small = [];
    while (size < 64 * 1024 && t.ops.length < count - 2) {
      size = Math.ceil(size * 1.5);
      t.realloc(buffer, size);
      if (random() < 0.7 && t.ops.length < count - 2) small.push(t.malloc(logSize(random, 16, 128)));
    }
    t.free(buffer);
    for (const id of small) if (t.ops.length < count) t.free(id);
  }
  const done = t.done();
  done.ops.length = Math.min(done.ops.length, count);
  return done;
}

const recordings = new Map(); // url -> parsed trace

/** A workload that replays a recorded trace (the first `count` operations of it). */
function recordedWork(url, name) {
  return async ({ count }) => {
    if (!recordings.has(url.href)) {
      const text = await readText(url);
      await init(); // the .rep reader is in wasm
      recordings.set(url.href, parseTrace(text, { name: url.pathname.split("/").pop() }));
    }
    const recorded = recordings.get(url.href);
    const trace = { ...recorded, name, ops: recorded.ops.map(({ op, id, size }) => (op === "f" ? { op, id } : { op, id, size })) };
    if (count < trace.ops.length) trace.ops = trace.ops.slice(0, count);
    return trace;
  };
}

/** Every built-in workload: `{ key, title, explain, count (default), generate({ seed, count }) }`. */
export const WORKLOADS = Object.freeze([
  {
    key: "random",
    title: "Random",
    explain: "Random sizes, frees and reallocs: how each policy copes with no pattern at all.",
    count: 400,
    generate: randomWork,
  },
  {
    key: "stack",
    title: "Stack-like (LIFO)",
    explain: "The newest block is freed first, so free space comes back at the end and merges: almost no fragmentation.",
    count: 300,
    generate: stackWork,
  },
  {
    key: "queue",
    title: "Queue-like (FIFO)",
    explain: "The oldest block is freed first: holes open at the front while the heap grows at the back.",
    count: 300,
    generate: queueWork,
  },
  {
    key: "fragmentation",
    title: "Allocate many, free every other",
    explain: "Half the heap is free but in holes too small for the next requests: external fragmentation made visible.",
    count: 300,
    generate: fragmentationWork,
  },
  {
    key: "realloc",
    title: "Grow by realloc",
    explain: "A buffer grows by realloc while small blocks land after it: watch it grow in place, then move.",
    count: 200,
    generate: reallocWork,
  },
  {
    key: "recorded",
    title: "Recorded: ls -lR",
    explain: "The real malloc/free/realloc calls of `ls -lR` (recorded with Valgrind): many small strings, a few big buffers.",
    count: Infinity,
    generate: recordedWork(LS_RECORDED, "ls -lR (recorded)"),
  },
  {
    key: "recorded-cc1",
    title: "Recorded: the C preprocessor",
    explain:
      "The real calls of GCC's cc1 preprocessing <stdio.h> (recorded with Valgrind), the same kind of program as malloc-lab's cccp trace: symbol-table entries of a few sizes, many kept to the end.",
    count: Infinity,
    generate: recordedWork(CC1_RECORDED, "cc1 -E stdio.h (recorded)"),
  },
]);

/** The trace of workload `key` (seed and count optional); a promise (the recorded one is a file). Rejects an unknown key. */
export async function generateWorkload(key, { seed = 1, count } = {}) {
  const workload = WORKLOADS.find((w) => w.key === key);
  if (!workload) throw new Error(`unknown workload "${key}" (one of ${WORKLOADS.map((w) => w.key).join(", ")})`);
  return workload.generate({ seed, count: count ?? workload.count });
}
