// The timeline on the real wasm heap (loaded in Node): any point in time
// rebuilt from checkpoints equals a fresh replay; memory stays bounded.
import { beforeAll, describe, expect, test } from "vitest";
import { init, BLOCK } from "../src/heaplab.js";
import { Session } from "../src/session.js";
import { Timeline, MAX_CHECKPOINTS, CHECKPOINT_SPACING, runTriples } from "../src/timeline.js";
import { generateWorkload } from "../src/workloads.js";
import { recordedOps } from "../src/trace-files.js";

beforeAll(async () => {
  await init();
});

/** The heap's blocks (address, size, payload, requested, flags) and the session's id → address map. */
// Addresses as "segment:offset": heaps living side by side have different bases.
function state(session) {
  const { blocks, segments } = session.snapshot();
  const where = (a) => {
    const k = segments.findIndex((s) => a >= s.base && a < s.base + s.bytes);
    return `${k}:${a - segments[k].base}`;
  };
  const rows = [];
  for (let i = 0; i < blocks.length; i += BLOCK.COLUMNS) {
    const b = blocks.subarray(i, i + BLOCK.COLUMNS);
    rows.push([where(b[BLOCK.ADDRESS]), b[BLOCK.SIZE], where(b[BLOCK.PAYLOAD]), b[BLOCK.REQUESTED], b[BLOCK.FLAGS]]);
  }
  const addresses = [...session.live().entries()].sort((a, b) => a[0] - b[0]).map(([id, a]) => [id, where(a)]);
  return { rows, addresses, names: [...session.names].sort(), nextId: session.nextId, trace: session.trace.length, segments: segments.map((s) => s.bytes) };
}

/**
 * Does `ops` one by one through the session's own methods (as a user would),
 * and returns the state after each of the first `targets` operations: the
 * reference for jumps on the same heap (the same memory: heaps placed
 * elsewhere in wasm memory may get their segments in other pieces).
 */
function drive(session, ops, targets) {
  const states = new Map();
  if (targets.includes(0)) states.set(0, state(session));
  ops.forEach((op, i) => {
    const name = op.name ? { name: op.name } : {};
    const r =
      op.op === "malloc"
        ? session.malloc(op.size, { align: op.align, ...name })
        : op.op === "calloc"
          ? session.calloc(op.count, op.size, name)
          : op.op === "realloc"
            ? session.realloc({ id: op.id }, op.size, name)
            : op.op === "free"
              ? session.free({ id: op.id })
              : session.write({ id: op.id }, op.offset, op.bytes);
    if (!r.ok) throw new Error(`${op.op} #${op.id}: ${r.message}`);
    if (targets.includes(i + 1)) states.set(i + 1, state(session));
  });
  return states;
}

describe("Timeline", () => {
  test("a jump anywhere (fast path: run() from checkpoints) equals doing the operations one by one", async () => {
    const ops = recordedOps(await generateWorkload("random", { seed: 7, count: 3000 }));
    const session = new Session({ policy: "best-fit" });
    const timeline = new Timeline(session);
    const targets = [3000, 1, 1500, 2999, 513, 0, 2048, 700, 3000];
    const expected = drive(session, ops, targets);
    expect(timeline.length).toBe(3000);
    expect(timeline.firstSlow).toBe(3000);
    timeline.goto(0);
    expect(session.live().size).toBe(0);
    for (const n of targets) {
      const r = timeline.goto(n);
      expect(r.ok, r.message).toBe(true);
      expect(state(session), `at ${n}`).toEqual(expected.get(n));
    }
    expect(timeline.checkpoints.length).toBeGreaterThan(2);
    session.dispose();
  });

  test("traces run() cannot replay (calloc, aligned malloc, writes, names) go through the session, with the same result", async () => {
    const maker = new Session();
    for (let i = 0; i < 700; i++) {
      if (i % 7 === 0) maker.calloc(2, 8 + (i % 50));
      else if (i % 11 === 0) maker.malloc(24, { align: 64, name: `v${i % 5}` });
      else if (i % 3 === 0 && maker.live().size) maker.free({ id: [...maker.live().keys()][0] });
      else maker.malloc(8 + (i % 90), { name: i % 13 === 0 ? "p" : null });
      if (i % 50 === 0) maker.write({ id: [...maker.live().keys()][0] }, 0, [1, 2, 3]);
    }
    const ops = maker.trace.slice();
    maker.dispose();
    const session = new Session();
    const timeline = new Timeline(session);
    const targets = [10, ops.length, 300, 0, ops.length - 1, 555];
    const expected = drive(session, ops, targets);
    expect(timeline.length).toBe(ops.length);
    expect(timeline.firstSlow).toBe(0);
    for (const n of targets) {
      timeline.goto(n);
      expect(state(session), `at ${n}`).toEqual(expected.get(n));
    }
    expect(state(session).names.length).toBeGreaterThan(0);
    session.dispose();
  });

  test("undo and redo move one operation; a new operation after going back drops the future", async () => {
    const session = new Session();
    const timeline = new Timeline(session);
    session.malloc(10);
    session.malloc(20);
    session.malloc(30);
    expect(timeline.at).toBe(3);
    timeline.undo();
    expect(session.trace.length).toBe(2);
    expect(session.isLive(3)).toBe(false);
    timeline.redo();
    expect(session.isLive(3)).toBe(true);
    timeline.goto(1);
    expect(timeline.canRedo).toBe(true);
    const r = session.malloc(99);
    expect(r.ok).toBe(true);
    expect(timeline.length).toBe(2);
    expect(timeline.at).toBe(2);
    expect(timeline.canRedo).toBe(false);
    expect(session.trace.map((op) => op.size)).toEqual([10, 99]);
    // The free of an id the dropped future allocated is not possible: ids are reused from the present.
    expect(r.id).toBe(2);
    session.dispose();
  });

  test("checkpoints stay bounded on a long trace (the spacing doubles, dropped saves are disposed)", async () => {
    const ops = recordedOps(await generateWorkload("random", { seed: 3, count: 100_000 }));
    const session = new Session();
    const timeline = new Timeline(session);
    const r = timeline.load(ops);
    expect(r.ok, r.message).toBe(true);
    expect(timeline.checkpoints.length).toBeLessThanOrEqual(MAX_CHECKPOINTS);
    expect(timeline.spacing).toBeGreaterThan(CHECKPOINT_SPACING);
    // Every operation between two checkpoints is at most `spacing` away.
    const ats = [0, ...timeline.checkpoints.map((c) => c.at)];
    for (let i = 1; i < ats.length; i++) expect(ats[i] - ats[i - 1]).toBeLessThanOrEqual(timeline.spacing);
    const saved = timeline.checkpoints.map((c) => c.saved);
    timeline.load(ops.slice(0, 10));
    for (const s of saved) expect(() => session.heap.restore(s)).toThrow(/disposed/);
    let worst = 0;
    timeline.load(ops);
    for (let k = 0; k < 20; k++) {
      const t = timeline.goto(Math.floor(((k * 7919) % 100) * 1000));
      worst = Math.max(worst, t.ms);
    }
    console.log(`timeline: 100k operations, ${timeline.checkpoints.length} checkpoints every ${timeline.spacing}; slowest of 20 jumps ${worst.toFixed(1)} ms (Node)`);
    session.dispose();
  });

  test("new options replay the whole timeline and keep the point in time", async () => {
    const ops = recordedOps(await generateWorkload("stack", { seed: 1, count: 200 }));
    const session = new Session();
    const timeline = new Timeline(session);
    timeline.load(ops, session.options, 120);
    const r = timeline.setOptions({ policy: "worst-fit" });
    expect(r.ok, r.message).toBe(true);
    expect(timeline.at).toBe(120);
    expect(timeline.length).toBe(200);
    const other = new Session({ policy: "worst-fit" });
    const expected = drive(other, ops.slice(0, 120), [120]).get(120);
    other.dispose();
    // The same blocks, relative to their segments (the two heaps live in different memory).
    expect(state(session).rows.length).toBe(expected.rows.length);
    expect(state(session).addresses.map(([id]) => id)).toEqual(expected.addresses.map(([id]) => id));
    session.dispose();
  });

  test("a reset or an option change made on the session directly restarts the timeline from it", async () => {
    const session = new Session();
    const timeline = new Timeline(session);
    session.malloc(8);
    session.malloc(8);
    session.reset();
    expect(timeline.length).toBe(0);
    session.malloc(16);
    session.malloc(32);
    timeline.goto(1);
    expect(session.trace.length).toBe(1);
    timeline.goto(2);
    expect(state(session).rows.length).toBeGreaterThan(0);
    session.setOptions({ policy: "next-fit" });
    expect(timeline.length).toBe(2);
    timeline.goto(0);
    expect(session.live().size).toBe(0);
    session.dispose();
  });

  test("runTriples: (code, trace id, size) with trace id = session id - 1", async () => {
    const ops = [
      { op: "malloc", id: 1, size: 24, align: 0 },
      { op: "realloc", id: 1, size: 48 },
      { op: "free", id: 1 },
    ];
    expect(Array.from(runTriples(ops, 0, 3))).toEqual([0, 0, 24, 2, 0, 48, 1, 0, 0]);
  });
});

describe("Timeline.setOptions", () => {
  test("operations that fail under the new options are dropped and said", async () => {
    const session = new Session();
    const timeline = new Timeline(session);
    for (let i = 0; i < 8; i++) session.malloc(100_000);
    const r = timeline.setOptions({ maxBytes: 256 * 1024 });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/^Rebuilt the heap \(first-fit, .*limit 256 KiB\) by replaying 8 operations; .*dropped/);
    expect(timeline.length).toBeLessThan(8);
    expect(session.options.maxBytes).toBe(256 * 1024);
    const bad = timeline.setOptions({ policy: "no-such-fit" });
    expect(bad.code).toBe("invalid-option");
    expect(session.options.policy).toBe("first-fit");
    session.dispose();
  });
});
