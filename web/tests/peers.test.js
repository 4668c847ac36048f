// The production allocators on the compare page (compare/peers.js over the
// wasm modules of crate/bench/wasm/): their figures as the page computes
// them are the figures of the same trace replayed natively through each
// crate (crate/peers' peer-replay, built for a 32-bit target as wasm32 is);
// what the map draws (payloads, free blocks, the hole list); the timeline's
// seeks on them; a full region and bad operations as clear errors.
import { describe, test, expect, beforeAll } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { init, BLOCK, BLOCK_FLAG } from "../src/heaplab.js";
import { parseTrace, toRep } from "../src/trace.js";
import { generate, toTriples, OP } from "../src/compare/generators.js";
import { PolicyRun } from "../src/compare/engine.js";
import { resultRow } from "../src/compare/metrics.js";
import { PEERS, PeerHeap, loadPeer, peerHeapClass, isPeer } from "../src/compare/peers.js";

const root = new URL("../../", import.meta.url).pathname;
const modules = new Map();

beforeAll(async () => {
  await init();
  for (const p of PEERS) modules.set(p.key, await loadPeer(p.key));
});

/** Triples back to trace records (for the .rep the native replay reads). */
function records(ops) {
  const out = [];
  for (let i = 0; i < ops.length; i += 3) {
    const [code, id, size] = [ops[i], ops[i + 1], ops[i + 2]];
    out.push(code === OP.FREE ? { op: "f", id } : { op: code === OP.MALLOC ? "a" : "r", id, size });
  }
  return out;
}

/** Replays `ops` on a production allocator as the compare worker does, to the end; its results row. */
function comparePage(key, ops) {
  const run = new PolicyRun(peerHeapClass(key, modules.get(key)), ops, key);
  while (!run.finished) run.advance(1_000_000);
  const row = resultRow(run.result(1));
  const frame = run.snapshot();
  run.dispose();
  return { row, frame };
}

describe("figures against a native replay through each crate", () => {
  const dir = mkdtempSync(join(tmpdir(), "heaplab-peers-"));
  const traces = [
    ["cc1-recorded.rep", readFileSync(join(root, "web/src/workloads/cc1-recorded.rep"), "utf8")],
    ["ls-recorded.rep", readFileSync(join(root, "web/src/workloads/ls-recorded.rep"), "utf8")],
    ["random-20k.rep", null],
  ];

  test("utilization, peak and span equal the native replay's for every allocator and trace", () => {
    const files = traces.map(([name, text]) => {
      const path = join(dir, name);
      if (text === null) {
        const built = generate("random", { seed: 11, count: 20_000 });
        text = toRep({ ops: records(built.ops), ids: built.ids });
      }
      writeFileSync(path, text);
      return { name, path, ops: toTriples(parseTrace(text)) };
    });
    // i686 (32-bit pointers, as wasm32): the same layouts, so the same figures.
    const native = spawnSync("cargo", ["run", "--quiet", "--release", "--target", "i686-unknown-linux-musl", "-p", "heaplab-peers", "--features", "replay-bin", "--", ...files.map((f) => f.path)], {
      cwd: root,
      encoding: "utf8",
    });
    expect(native.status, native.stderr).toBe(0);
    const lines = native.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.length).toBe(files.length * PEERS.length);
    for (const f of files) {
      for (const p of PEERS) {
        const want = lines.find((l) => l.trace === f.path && l.peer === p.key);
        expect(want, `${p.key} on ${f.name}`).toBeTruthy();
        expect(want.failed).toBe(null);
        const { row, frame } = comparePage(p.key, f.ops);
        expect(row.failure).toBe(null);
        expect([row.peakHeap, frame.stats.peakLiveRequested], `${p.key} on ${f.name}`).toEqual([want.span, want.peakLiveRequested]);
        expect(row.utilization).toBeCloseTo(want.utilization, 12);
      }
    }
    // The allocators differ (a test that all gave one figure would prove little).
    const cc1 = new Set(lines.filter((l) => l.trace.endsWith("cc1-recorded.rep")).map((l) => l.span));
    expect(cc1.size).toBeGreaterThan(2);
  }, 240_000);
});

describe("what the map draws", () => {
  // (Workloads are built after init(): their operation codes are the module's.)
  const workload = () => generate("random", { seed: 3, count: 3000 }).ops;

  test.each(PEERS.map((p) => p.key))("%s: every live payload at its address with its size, inside one segment", (key) => {
    const heap = new PeerHeap(key, modules.get(key));
    heap.run(workload());
    const C = BLOCK.COLUMNS;
    const blocks = heap.blocks();
    const [segment] = heap.segments();
    expect(segment.bytes).toBe(heap.stats().heapBytes);
    expect(heap.pages().length).toBe(segment.bytes / 4096);
    let used = 0;
    let requested = 0;
    let prevEnd = segment.base;
    for (let r = 0; r < blocks.length; r += C) {
      const [a, n] = [blocks[r + BLOCK.ADDRESS], blocks[r + BLOCK.SIZE]];
      expect(a).toBeGreaterThanOrEqual(prevEnd);
      prevEnd = a + n;
      if (blocks[r + BLOCK.FLAGS] & BLOCK_FLAG.USED) {
        used++;
        requested += blocks[r + BLOCK.REQUESTED];
        expect(blocks[r + BLOCK.PAYLOAD]).toBe(a);
      }
    }
    expect(prevEnd).toBeLessThanOrEqual(segment.base + segment.bytes);
    expect([used, requested]).toEqual([heap.stats().liveBlocks, heap.stats().liveRequested]);
    // Free blocks are drawn only where the allocator tells them.
    const free = blocks.length / C - used;
    const kind = PEERS.find((p) => p.key === key).freeBlocks;
    if (kind) expect(free).toBeGreaterThan(0);
    else expect([free, heap.stats().externalFragmentation, heap.freeLists()]).toEqual([0, null, { order: "address", rover: null, lists: [], hidden: true }]);
    heap.dispose();
  });

  test("linked_list_allocator's hole list is its free blocks in address order", () => {
    const heap = new PeerHeap("linked_list_allocator", modules.get("linked_list_allocator"));
    heap.run(workload());
    const { lists } = heap.freeLists();
    const C = BLOCK.COLUMNS;
    const blocks = heap.blocks();
    const free = [];
    for (let r = 0; r < blocks.length; r += C) if (!(blocks[r + BLOCK.FLAGS] & BLOCK_FLAG.USED)) free.push(blocks[r + BLOCK.ADDRESS]);
    expect(lists[0].blocks).toEqual(free);
    const s = heap.stats();
    expect(s.externalFragmentation).toBeGreaterThan(0);
    expect(s.externalFragmentation).toBeLessThan(1);
  });
});

describe("the timeline on a production allocator", () => {
  test.each(["dlmalloc", "rlsf"])("%s: seeking back and forth gives the first pass's heap", (key) => {
    const ops = generate("random", { seed: 5, count: 6000 }).ops;
    const run = new PolicyRun(peerHeapClass(key, modules.get(key)), ops, key);
    const frames = new Map();
    while (!run.finished) {
      run.advance(500);
      frames.set(run.done, run.snapshot());
    }
    const at = [...frames.keys()];
    expect(at.length).toBeGreaterThan(8);
    // Back to the empty heap (the origin) and forward again: the same addresses.
    expect(run.seek(0)).toBe(0);
    expect(run.snapshot().blocks.length).toBe(0);
    for (const index of [at[5], at[1], at[at.length - 1], at[2]]) {
      const want = frames.get(index);
      expect(run.seek(index)).toBe(index);
      const got = run.snapshot();
      expect(got.blocks).toEqual(want.blocks);
      expect(got.stats).toEqual(want.stats);
    }
    run.dispose();
  });
});

/**
 * 100 mallocs of 1000 bytes into a 64 KiB region through `replay`: the
 * error thrown (with the heap), at an operation between the 31st and 66th.
 */
function overfill(key, replay) {
  const heap = new PeerHeap(key, modules.get(key), { maxBytes: 64 * 1024 });
  const ops = new Uint32Array(Array.from({ length: 100 }, (_, id) => [OP.MALLOC, id, 1000]).flat());
  let error = null;
  try {
    replay(heap, ops);
  } catch (e) {
    error = e;
  }
  expect(error?.index).toBeGreaterThan(30);
  expect(error.index).toBeLessThan(66);
  return Object.assign(error, { heap });
}

describe("timing runs the trace inside wasm", () => {
  test.each(PEERS.map((p) => p.key))("%s: runUntracked (the timed replay) leaves the same heap span as the operation-by-operation run", (key) => {
    const ops = generate("random", { seed: 9, count: 20_000 }).ops;
    const [a, b] = [new PeerHeap(key, modules.get(key)), new PeerHeap(key, modules.get(key))];
    a.run(ops);
    b.runUntracked(ops);
    expect(b.x.trace_span()).toBe(a.x.trace_span());
    expect(a.x.trace_span()).toBeGreaterThan(0);
  });

  test("a disposed heap's instance serves the next heap empty: the same addresses, the wasm loop's ids forgotten", () => {
    const ops = generate("random", { seed: 4, count: 2000 }).ops;
    const first = new PeerHeap("dlmalloc", modules.get("dlmalloc"));
    first.runUntracked(ops);
    const instance = first.instance;
    first.dispose();
    const second = new PeerHeap("dlmalloc", modules.get("dlmalloc"));
    expect(second.instance).toBe(instance);
    expect(second.x.trace_span()).toBe(0);
    second.run(ops.subarray(0, 90));
    const fresh = new PeerHeap("dlmalloc", modules.get("dlmalloc")); // a new instance (the spare is in use)
    fresh.run(ops.subarray(0, 90));
    expect(fresh.instance).not.toBe(instance);
    expect(second.blocks()).toEqual(fresh.blocks());
    second.dispose();
    // The wasm loop's ids were forgotten: the same trace runs again from id 0.
    const third = new PeerHeap("dlmalloc", modules.get("dlmalloc"));
    expect(third.instance).toBe(instance);
    expect(() => third.runUntracked(ops)).not.toThrow();
  });

  test("a failure inside the wasm loop is thrown with its operation's index", () => {
    const error = overfill("rlsf", (heap, ops) => heap.runUntracked(ops));
    expect(error.code).toBe("out-of-memory");
    // A free of an id never allocated stops the loop too.
    const fresh = new PeerHeap("rlsf", modules.get("rlsf"));
    expect(() => fresh.runUntracked(new Uint32Array([OP.MALLOC, 0, 8, OP.FREE, 5, 0]))).toThrow(/failed operation 2 \(id 5 is not allocated\)/);
  });
});

describe("errors", () => {
  test("a full region fails the operation with out-of-memory and its index", () => {
    const error = overfill("talc", (heap, ops) => heap.run(ops));
    expect(error.code).toBe("out-of-memory");
    const heap = error.heap;
    expect(heap.stats().liveBlocks).toBe(error.index);
  });

  test("a double free and an unknown operation are refused before they reach the allocator", () => {
    const heap = new PeerHeap("rlsf", modules.get("rlsf"));
    heap.run([OP.MALLOC, 1, 24, OP.FREE, 1, 0]);
    expect(() => heap.run([OP.FREE, 1, 0])).toThrow(/id 1 is not allocated/);
    expect(() => heap.run([9, 1, 0])).toThrow(/operation code 9/);
    expect(() => heap.run([OP.MALLOC, 2, 8, OP.MALLOC, 2, 8])).toThrow(/already allocated/);
  });

  test("an unknown allocator name is a clear rejection", async () => {
    expect(isPeer("first-fit")).toBe(false);
    await expect(loadPeer("jemalloc")).rejects.toThrow(/no production allocator is called "jemalloc"/);
  });
});
