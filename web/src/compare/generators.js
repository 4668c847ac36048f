// Seeded workloads for the compare page: each builds a trace directly as the
// `(code, id, size)` triples `Heap.run()` takes (RUN.MALLOC, RUN.FREE,
// RUN.REALLOC), so a million operations cost 12 MB and no object each. The
// same key, seed and count give the same trace everywhere. Pure; no DOM.

import { seededRandom } from "../random.js";
import { RUN } from "../heaplab.js";

export { seededRandom };

/** Operation codes of a triple: heaplab's RUN, the wasm module's (filled in by `init()`, which every user of a trace has awaited). */
export const OP = RUN;


/** Writes triples into a growing Uint32Array and hands out ids (freed ids are reused). */
class Builder {
  constructor(count) {
    this.ops = new Uint32Array(count * 3);
    this.length = 0;
    this.count = count;
    this.spare = [];
    this.ids = 0;
  }
  get full() {
    return this.length >= this.count;
  }
  push(code, id, size) {
    const k = this.length * 3;
    this.ops[k] = code;
    this.ops[k + 1] = id;
    this.ops[k + 2] = size;
    this.length++;
  }
  malloc(size) {
    const id = this.spare.length ? this.spare.pop() : this.ids++;
    this.push(OP.MALLOC, id, size);
    return id;
  }
  free(id) {
    this.push(OP.FREE, id, 0);
    this.spare.push(id);
  }
  realloc(id, size) {
    this.push(OP.REALLOC, id, size);
  }
  done(name) {
    return { name, ops: this.ops.subarray(0, this.length * 3), ids: this.ids };
  }
}

/** A size from `lo` to `hi`, spread evenly over powers of two (small sizes as common as big ones). */
function sizeBetween(random, lo, hi) {
  const bits = Math.log2(lo) + random() * (Math.log2(hi) - Math.log2(lo));
  return Math.max(1, Math.round(2 ** bits));
}

/** Random mallocs, frees and reallocs with up to 2000 live blocks of 8 B to 2 KiB. */
function random(b, rnd) {
  const live = [];
  while (!b.full) {
    const r = rnd();
    if (live.length && (live.length >= 2000 || r < 0.42)) {
      const k = Math.floor(rnd() * live.length);
      const id = live[k];
      live[k] = live[live.length - 1];
      live.pop();
      b.free(id);
    } else if (live.length && r < 0.5) {
      b.realloc(live[Math.floor(rnd() * live.length)], sizeBetween(rnd, 8, 2048));
    } else {
      live.push(b.malloc(sizeBetween(rnd, 8, 2048)));
    }
  }
}

/** Stack discipline: bursts of mallocs freed in reverse order (last in, first out). */
function lifo(b, rnd) {
  const stack = [];
  while (!b.full) {
    const burst = 1 + Math.floor(rnd() * 64);
    for (let i = 0; i < burst && !b.full && stack.length < 4000; i++) stack.push(b.malloc(sizeBetween(rnd, 16, 1024)));
    const pops = Math.floor(rnd() * (stack.length + 1));
    for (let i = 0; i < pops && !b.full; i++) b.free(stack.pop());
  }
}

/** Queue discipline: each block is freed after about 500 newer ones (first in, first out). */
function fifo(b, rnd) {
  const queue = [];
  let head = 0;
  while (!b.full) {
    if (queue.length - head > 400 + rnd() * 200) b.free(queue[head++]);
    else queue.push(b.malloc(sizeBetween(rnd, 16, 1024)));
    if (head > 4096) {
      queue.splice(0, head);
      head = 0;
    }
  }
}

/**
 * Fragmentation: small and large blocks alternate, the large ones are freed
 * (holes), then medium requests that a careless policy carves out of the holes
 * while the small blocks pin them in place; each round then frees what is left.
 */
function fragmentation(b, rnd) {
  let pinned = [];
  while (!b.full) {
    const small = [];
    const large = [];
    const n = 50 + Math.floor(rnd() * 200);
    for (let i = 0; i < n && !b.full; i++) {
      small.push(b.malloc(sizeBetween(rnd, 8, 48)));
      if (!b.full) large.push(b.malloc(sizeBetween(rnd, 256, 1024)));
    }
    for (const id of large) if (!b.full) b.free(id);
    const medium = [];
    for (let i = 0; i < n * 2 && !b.full; i++) medium.push(b.malloc(sizeBetween(rnd, 64, 600)));
    // The previous round's pinned blocks go; half of this round's small ones stay pinned.
    for (const id of pinned) if (!b.full) b.free(id);
    pinned = [];
    for (const id of small) {
      if (b.full) break;
      if (rnd() < 0.5) b.free(id);
      else pinned.push(id);
    }
    for (const id of medium) if (!b.full) b.free(id);
  }
}

/** The built-in workloads: key, label, what it shows, generator. */
export const GENERATORS = Object.freeze([
  { key: "random", label: "Random", about: "random mallocs, frees and reallocs of 8 B to 2 KiB, up to 2000 blocks live", make: random },
  { key: "lifo", label: "LIFO (stack)", about: "bursts of mallocs freed in reverse order", make: lifo },
  { key: "fifo", label: "FIFO (queue)", about: "each block freed after about 500 newer ones", make: fifo },
  { key: "fragmentation", label: "Fragmentation", about: "small blocks pin holes that medium requests must fit into", make: fragmentation },
]);

/**
 * Builds a seeded workload of exactly `count` operations.
 * @returns {{ name: string, ops: Uint32Array, ids: number }} ops are (code, id, size) triples
 */
export function generate(key, { seed = 1, count = 10_000 } = {}) {
  const generator = GENERATORS.find((g) => g.key === key);
  if (!generator) throw new Error(`unknown workload "${key}" (one of ${GENERATORS.map((g) => g.key).join(", ")})`);
  if (!Number.isInteger(count) || count < 1 || count > 2_000_000) throw new Error("the operation count must be from 1 to 2,000,000");
  const b = new Builder(count);
  generator.make(b, seededRandom(seed));
  return b.done(`${key}-${count}-seed${seed}`);
}

/** A parsed trace (trace.js's shape) as run triples. */
export function toTriples(trace) {
  const ops = new Uint32Array(trace.ops.length * 3);
  trace.ops.forEach((op, i) => {
    ops[i * 3] = op.op === "a" ? OP.MALLOC : op.op === "f" ? OP.FREE : OP.REALLOC;
    ops[i * 3 + 1] = op.id;
    ops[i * 3 + 2] = op.op === "f" ? 0 : op.size;
  });
  return ops;
}

/** Operation `index` of `ops` in words: `malloc(24) → id 3`, `free(id 3)`, `realloc(id 3, 48)`. */
export function describeOp(ops, index) {
  const k = index * 3;
  if (index < 0 || k >= ops.length) return "";
  const [code, id, size] = [ops[k], ops[k + 1], ops[k + 2]];
  if (code === OP.MALLOC) return `malloc(${size}) → id ${id}`;
  if (code === OP.FREE) return `free(id ${id})`;
  return `realloc(id ${id}, ${size})`;
}
