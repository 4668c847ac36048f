// Big loads off the main thread: the replay the worker runs (replay.js), the
// form the operations travel in, the words on the page, and
// Timeline.loadInWorker with the worker replaced by the same replay run here.
import { beforeAll, describe, expect, test } from "vitest";
import { init, BLOCK } from "../src/heaplab.js";
import { Session } from "../src/session.js";
import { Timeline } from "../src/timeline.js";
import {
  Replayer,
  replayAll,
  encodeOps,
  decodeOps,
  progressText,
  loadedResult,
  needsWorker,
  WORKER_THRESHOLD,
  PROGRESS_EVERY,
} from "../src/replay.js";
import { generateWorkload } from "../src/workloads.js";
import { recordedOps } from "../src/trace-files.js";

beforeAll(async () => {
  await init();
});

/** The heap's blocks with addresses relative to their segment, and the session's books. */
function state(session) {
  const { blocks, segments } = session.snapshot();
  const where = (a) => {
    const k = segments.findIndex((s) => a >= s.base && a < s.base + s.bytes);
    return `${k}:${a - segments[k].base}`;
  };
  const rows = [];
  for (let i = 0; i < blocks.length; i += BLOCK.COLUMNS) rows.push([where(blocks[i + BLOCK.ADDRESS]), blocks[i + BLOCK.SIZE], blocks[i + BLOCK.FLAGS]]);
  const addresses = [...session.live().entries()].sort((a, b) => a[0] - b[0]).map(([id, a]) => [id, where(a)]);
  return { rows, addresses, trace: session.trace.length, nextId: session.nextId };
}

/** What the worker does, run here: slices of `every` with a real pause between them, so that `signal` can stop it midway. */
function inProcess({ every = 500, calls } = {}) {
  return async (ops, options, { onProgress, signal }) => {
    calls?.push(ops.length);
    const replayer = new Replayer(decodeOps(encodeOps(ops)), options);
    try {
      while (!replayer.finished) {
        if (signal?.aborted) throw new DOMException("cancelled", "AbortError");
        replayer.advance(every);
        onProgress?.({ done: replayer.done, total: replayer.total });
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      return replayer.report();
    } finally {
      replayer.dispose();
    }
  };
}

/** Operations that make a few ones run() cannot do (calloc, aligned malloc, writes, names). */
function mixedOps(count) {
  const maker = new Session();
  for (let i = 0; maker.trace.length < count; i++) {
    if (i % 7 === 0) maker.calloc(2, 8 + (i % 50));
    else if (i % 11 === 0) maker.malloc(24, { align: 64, name: `v${i % 5}` });
    else if (i % 3 === 0 && maker.live().size) maker.free({ id: [...maker.live().keys()][0] });
    else maker.malloc(8 + (i % 90));
    if (i % 50 === 0 && maker.live().size) maker.write({ id: [...maker.live().keys()][0] }, 0, [1, 2, 3]);
  }
  const ops = maker.trace.slice(0, count);
  maker.dispose();
  return ops;
}

describe("the compact form", () => {
  test("every kind of operation survives encodeOps → decodeOps (names aside), in one transferable buffer", () => {
    const ops = [
      { op: "malloc", id: 1, size: 24, align: 0, name: "p" },
      { op: "malloc", id: 2, size: 100, align: 64 },
      { op: "calloc", id: 3, count: 4, size: 2 ** 31 },
      { op: "realloc", id: 1, size: 4000 },
      { op: "write", id: 3, offset: 5, bytes: [1, 2, 255] },
      { op: "free", id: 2 },
      { op: "write", id: 1, offset: 0, bytes: [9] },
      { op: "malloc", id: 4, size: Number.NaN, align: 0 },
      { op: "teleport", id: 5 },
    ];
    const encoded = encodeOps(ops);
    expect(encoded.words).toBeInstanceOf(Float64Array);
    expect(encoded.words.length).toBe(ops.length * 4);
    expect(encoded.writes).toEqual([[1, 2, 255], [9]]);
    const back = decodeOps(structuredClone(encoded));
    expect(back.slice(0, 7)).toEqual(ops.slice(0, 7).map(({ name, ...op }) => op));
    expect(back[7].size).toBeNaN();
    expect(back[8]).toEqual({ op: "unknown", id: 5 });
  });
});

describe("the words", () => {
  test("progress counts with thousands separators", () => {
    expect(progressText(120_000, 2_000_000)).toBe("Replaying 120,000 of 2,000,000 operations…");
    expect(progressText(0, 50_001)).toBe("Replaying 0 of 50,001 operations…");
  });

  test("a load says how many operations it loaded, or what failed and how many were dropped", () => {
    expect(loadedResult({ loaded: 150_000, ms: 3 })).toEqual({ ok: true, code: undefined, ms: 3, message: "150000 operations loaded" });
    const failed = loadedResult({ loaded: 10, dropped: 5, failure: "free #3 (operation 11) failed: double-free" });
    expect(failed).toMatchObject({ ok: false, code: "replay-failed", message: "free #3 (operation 11) failed: double-free (5 operations dropped)" });
  });

  test("the worker takes loads of more than 50,000 operations", () => {
    expect(WORKER_THRESHOLD).toBe(50_000);
    expect(needsWorker(50_000)).toBe(false);
    expect(needsWorker(50_001)).toBe(true);
  });
});

describe("Replayer", () => {
  test("replays every operation, reporting progress after each slice", async () => {
    const ops = recordedOps(await generateWorkload("random", { seed: 3, count: 3500 }));
    const seen = [];
    const report = replayAll(ops, { policy: "best-fit" }, { every: 1000, onProgress: (p) => seen.push(p) });
    expect(report).toEqual({ done: 3500, total: 3500, failedAt: null, message: "" });
    expect(seen).toEqual([1000, 2000, 3000, 3500].map((done) => ({ done, total: 3500 })));
    expect(PROGRESS_EVERY).toBeLessThanOrEqual(10_000);
  });

  test("the heap it builds is the heap the timeline builds (run() and the session's path alike)", () => {
    const ops = mixedOps(900);
    const replayer = new Replayer(ops, { policy: "next-fit" });
    expect(replayer.firstSlow).toBe(0);
    replayer.advance(10_000);
    expect(replayer.report()).toMatchObject({ done: 900, failedAt: null });
    const timeline = new Timeline(new Session({ policy: "next-fit" }));
    timeline.load(ops, { policy: "next-fit" }, ops.length);
    expect(state(replayer.session)).toEqual(state(timeline.session));
    replayer.dispose();
    timeline.session.dispose();
  });

  test("stops at the first failing operation of run()'s part, with its index and the reason", () => {
    const ops = [
      { op: "malloc", id: 1, size: 8, align: 0 },
      { op: "malloc", id: 2, size: 8, align: 0 },
      { op: "free", id: 1 },
      { op: "free", id: 1 },
      { op: "malloc", id: 3, size: 8, align: 0 },
    ];
    const replayer = new Replayer(ops, {}).advance(100);
    expect(replayer.finished).toBe(true);
    expect(replayer.report()).toMatchObject({ done: 3, failedAt: 3 });
    // In the session's words, as the rest of the page says it (run() counts ids from 0).
    expect(replayer.message).toBe("free #1 (operation 4) failed: double-free");
    replayer.dispose();
  });

  test("stops at the first failing operation of the session's part (a memory limit, a double free)", () => {
    const limited = [
      { op: "malloc", id: 1, size: 64, align: 0 },
      { op: "calloc", id: 2, count: 1, size: 16 },
      { op: "calloc", id: 3, count: 1000, size: 1000 },
      { op: "free", id: 1 },
    ];
    const a = new Replayer(limited, { maxBytes: 64 * 1024 }).advance(2);
    expect(a.finished).toBe(false);
    expect(a.done).toBe(2);
    a.advance(2);
    expect(a.report()).toMatchObject({ done: 2, failedAt: 2 });
    expect(a.message).toBe("calloc #3 (operation 3) failed: out-of-memory");
    a.dispose();
    const twice = [{ op: "calloc", id: 1, count: 2, size: 8 }, { op: "free", id: 1 }, { op: "free", id: 1 }];
    const b = new Replayer(twice, {}).advance(10);
    expect(b.report()).toMatchObject({ done: 2, failedAt: 2, message: "free #1 (operation 3) failed: double-free" });
    b.dispose();
  });

  test("invalid options are refused with a coded error", () => {
    expect(() => new Replayer([], { policy: "nope" })).toThrow(expect.objectContaining({ code: "invalid-option" }));
  });
});

describe("Timeline.loadInWorker", () => {
  test("loads as load() does: the same heap, operations and message; only the point in time is replayed here", async () => {
    const ops = recordedOps(await generateWorkload("random", { seed: 5, count: 6000 }));
    const reference = new Timeline(new Session({ policy: "best-fit" }));
    const expected = reference.load(ops, { policy: "best-fit" }, 2500);
    const session = new Session();
    const timeline = new Timeline(session);
    const progress = [];
    const calls = [];
    const result = await timeline.loadInWorker(ops, { ...session.options, policy: "best-fit" }, 2500, {
      replay: inProcess({ calls }),
      onProgress: (p) => progress.push(p.done),
    });
    expect(calls).toEqual([6000]);
    expect(result.message).toBe(expected.message);
    expect(result).toMatchObject({ ok: true, message: "6000 operations loaded" });
    expect([timeline.at, timeline.length, session.options.policy]).toEqual([2500, 6000, "best-fit"]);
    expect(state(session)).toEqual(state(reference.session));
    expect(progress.at(-1)).toBe(6000);
    expect(progress.length).toBeGreaterThan(5);
    // No checkpoint past the point in time yet: the worker went to the end, not this heap.
    expect(timeline.checkpoints.every((c) => c.at <= 2500)).toBe(true);
    expect(timeline.goto(6000).ok).toBe(true);
    reference.goto(6000);
    expect(state(session)).toEqual(state(reference.session));
    session.dispose();
    reference.session.dispose();
  });

  test("drops the operations from the first failing one on, and says so", async () => {
    const ops = mixedOps(400);
    const bad = ops.findIndex((op, i) => i > 200 && op.op === "free");
    const broken = [...ops.slice(0, bad), { op: "free", id: 9999 }, ...ops.slice(bad)];
    const session = new Session();
    const timeline = new Timeline(session);
    const result = await timeline.loadInWorker(broken, session.options, broken.length, { replay: inProcess() });
    expect(result.ok).toBe(false);
    expect(result.code).toBe("replay-failed");
    expect(result.message).toBe(`free #9999 (operation ${bad + 1}) failed: unknown-block (${broken.length - bad} operations dropped)`);
    expect([timeline.length, timeline.at, session.trace.length]).toEqual([bad, bad, bad]);
    session.dispose();
  });

  test("Cancel (the signal) stops it and changes nothing: operations, point in time, heap, options", async () => {
    const session = new Session();
    const timeline = new Timeline(session);
    session.malloc(24, { name: "p" });
    session.malloc(48);
    session.free({ id: 1 });
    timeline.goto(2);
    const before = { state: state(session), heap: session.heap, at: timeline.at, length: timeline.length, options: session.options };
    let changes = 0;
    timeline.onChange(() => changes++);
    const ops = recordedOps(await generateWorkload("random", { seed: 9, count: 8000 }));
    const controller = new AbortController();
    const progress = [];
    const result = await timeline.loadInWorker(ops, { ...session.options, policy: "worst-fit" }, 0, {
      replay: inProcess({ every: 400 }),
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p.done);
        if (p.done >= 2000) controller.abort();
      },
    });
    expect(result).toMatchObject({ ok: false, code: "cancelled", cancelled: true });
    expect(result.message).toBe("Loading cancelled after 2000 of 8000 operations: nothing was changed");
    expect(progress.at(-1)).toBe(2000);
    expect(changes).toBe(0);
    expect(session.heap).toBe(before.heap);
    expect(session.options).toEqual(before.options);
    expect({ state: state(session), at: timeline.at, length: timeline.length }).toEqual({ state: before.state, at: before.at, length: before.length });
    expect(timeline.redo().ok).toBe(true);
    session.dispose();
  });

  test("a load started meanwhile wins; a worker that fails and invalid options change nothing", async () => {
    const session = new Session();
    const timeline = new Timeline(session);
    const ops = recordedOps(await generateWorkload("random", { seed: 4, count: 3000 }));
    const pending = timeline.loadInWorker(ops, session.options, 0, { replay: inProcess() });
    const small = timeline.load(ops.slice(0, 10), session.options, 10);
    expect(small.message).toBe("10 operations loaded");
    const late = await pending;
    expect(late).toMatchObject({ ok: false, cancelled: true });
    expect(late.message).toMatch(/^Another load took its place after \d+ of 3000 operations: nothing was changed$/);
    expect([timeline.length, timeline.at]).toEqual([10, 10]);

    const failing = async () => {
      throw new Error("the replay worker failed");
    };
    const crashed = await timeline.loadInWorker(ops, session.options, 0, { replay: failing });
    expect(crashed).toMatchObject({ ok: false, code: "replay-failed" });
    expect(crashed.message).toBe("could not replay the 3000 operations in the background (the replay worker failed): nothing was changed");
    expect([timeline.length, timeline.at]).toEqual([10, 10]);

    const calls = [];
    const invalid = await timeline.loadInWorker(ops, { ...session.options, align: 3 }, 0, { replay: inProcess({ calls }) });
    expect(invalid.ok).toBe(false);
    expect(invalid.code).toBe("invalid-option");
    expect(calls).toEqual([]);
    expect([timeline.length, timeline.at, session.options.align]).toEqual([10, 10, 8]);
    session.dispose();
  });

  test("the listeners hear of the new operations, even when the point in time stays 0", async () => {
    const session = new Session();
    const timeline = new Timeline(session);
    session.malloc(8);
    const heard = [];
    timeline.onChange((t) => heard.push([t.at, t.length]));
    const ops = recordedOps(await generateWorkload("random", { seed: 6, count: 1200 }));
    await timeline.loadInWorker(ops, session.options, 0, { replay: inProcess() });
    expect(heard.at(-1)).toEqual([0, 1200]);
    await timeline.loadInWorker(ops.slice(0, 900), session.options, 700, { replay: inProcess() });
    expect(heard.at(-1)).toEqual([700, 900]);
    session.dispose();
  });

  test("beforeApply runs once the replay is done, before the heap is replaced", async () => {
    const session = new Session();
    const timeline = new Timeline(session);
    const ops = recordedOps(await generateWorkload("random", { seed: 2, count: 1000 }));
    const seen = [];
    await timeline.loadInWorker(ops, session.options, 1000, {
      replay: inProcess(),
      onProgress: () => seen.push("progress"),
      beforeApply: () => seen.push(`apply at ${timeline.length}`),
    });
    expect(seen.at(-1)).toBe("apply at 0");
    expect(seen.filter((s) => s.startsWith("apply"))).toHaveLength(1);
    expect(timeline.length).toBe(1000);
    session.dispose();
  });
});
