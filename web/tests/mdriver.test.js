// The trace driver. Its checks run here against a small fake heap (a bump
// allocator written below), so that they are exercised without the wasm
// package; the command line then runs as a child process, on the real heap
// once web/pkg/ is built.
import { describe, test, expect, beforeAll, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { init } from "../src/heaplab.js";
import { parseTrace, toRep } from "../src/trace.js";
import { replay, runTrace, summarize, formatTable, parseArguments, main, PayloadIndex, POLICIES, PATTERN_BYTES } from "../../scripts/mdriver.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DRIVER = join(ROOT, "scripts", "mdriver.mjs");
const WASM = new URL("../pkg/heaplab_bg.wasm", import.meta.url);
const TRACE_DIR = new URL("../../../shared/traces/malloclab/", import.meta.url);
const haveWasm = existsSync(WASM);
const haveTraces = existsSync(TRACE_DIR);
if (!haveWasm) console.warn(`skipping the driver runs on the real heap: ${fileURLToPath(WASM)} is not built yet`);
await init(); // the .rep reader of trace.js is the Rust one, in wasm
if (!haveTraces) console.warn(`skipping the driver runs on the malloc-lab traces: ${fileURLToPath(TRACE_DIR)} is absent`);

function coded(code, message) {
  return Object.assign(new Error(message), { code });
}

/**
 * A bump allocator with Heap's methods: each payload follows an 8-byte header
 * at the next aligned address, nothing is reused, the one segment ends at the
 * top. `flaw` makes it misbehave on the `at`-th call of the kind named, to
 * show that the driver notices.
 */
class FakeHeap {
  static BASE = 1 << 16;

  constructor({ policy = "first-fit", align = 8, flaw = null, at = 1 } = {}) {
    this.policy = policy;
    this.align = align;
    this.flaw = flaw;
    this.at = at;
    this.calls = 0;
    this.memory = new Uint8Array(1 << 12);
    this.top = FakeHeap.BASE;
    this.live = new Map(); // payload address -> size
    this.disposed = false;
  }

  flawed(name) {
    return this.flaw === name && this.calls === this.at;
  }

  malloc(size) {
    if (!Number.isInteger(size) || size < 0) throw coded("invalid-size", `invalid size ${size}`);
    this.calls++;
    if (this.flawed("throw")) throw coded("out-of-memory", "the fake heap is full");
    let address = Math.ceil((this.top + 8) / this.align) * this.align;
    this.top = address + size;
    this.reserve();
    if (this.flawed("misalign")) address += 4;
    if (this.flawed("overlap")) address = [...this.live.keys()].at(-1);
    if (this.flawed("outside")) address = Math.ceil((this.top + 4096) / this.align) * this.align;
    if (this.flawed("scribble")) this.memory[[...this.live.keys()].at(-1) - FakeHeap.BASE] ^= 0xff;
    if (this.flawed("null")) address = 0;
    this.live.set(address, size);
    return address;
  }

  reserve() {
    const needed = this.top - FakeHeap.BASE;
    if (needed <= this.memory.length) return;
    let length = this.memory.length;
    while (length < needed) length *= 2;
    const memory = new Uint8Array(length);
    memory.set(this.memory);
    this.memory = memory;
  }

  free(address) {
    if (!this.live.has(address)) throw coded("invalid-free", `no payload at ${address}`);
    this.live.delete(address);
  }

  realloc(address, size) {
    const old = this.live.get(address);
    if (old === undefined) throw coded("invalid-free", `no payload at ${address}`);
    if (size === 0) {
      this.free(address); // as glibc's realloc(p, 0)
      return 0;
    }
    const to = this.malloc(size);
    let keep = Math.min(old, size);
    if (this.flawed("drop-tail")) keep = Math.min(keep, PATTERN_BYTES);
    if (!this.flawed("drop-all")) this.memory.copyWithin(to - FakeHeap.BASE, address - FakeHeap.BASE, address - FakeHeap.BASE + keep);
    this.free(address);
    return to;
  }

  inside(address, length) {
    if (address < FakeHeap.BASE || address + length > this.top) throw coded("out-of-bounds", `outside the heap: ${address}+${length}`);
    return address - FakeHeap.BASE;
  }

  read(address, length) {
    const at = this.inside(address, length);
    return this.memory.slice(at, at + length);
  }

  write(address, bytes) {
    this.memory.set(bytes, this.inside(address, bytes.length));
  }

  stats() {
    return { highWaterMark: this.top - FakeHeap.BASE };
  }

  segments() {
    return [{ base: FakeHeap.BASE, bytes: this.top - FakeHeap.BASE }];
  }

  check() {
    if (this.flaw === "corrupt") throw coded("corrupt-heap", "block 0x10010: header size 0");
  }

  dispose() {
    this.disposed = true;
  }
}

/** A trace from its operations written as in a .rep file. */
function trace(lines, ids = 8, name = "test.rep") {
  return parseTrace(`${ids}\n${lines.length}\n${lines.join("\n")}\n`, { name });
}

/** A valid trace of `count` operations mixing malloc, realloc and free (deterministic). */
function generatedTrace(count, ids = 64, seed = 1) {
  let x = seed;
  const next = (n) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const live = [];
  const spare = Array.from({ length: ids }, (_, i) => ids - 1 - i);
  const lines = [];
  const allocate = () => {
    const id = spare.pop();
    live.push(id);
    lines.push(`a ${id} ${1 + next(next(4) === 0 ? 3000 : 200)}`);
  };
  // Each malloc will need its free: stop with room for them, to end at `count`.
  while (lines.length + live.length < count - 1) {
    const choice = next(10);
    if (spare.length > 0 && (live.length === 0 || choice < 5)) {
      allocate();
    } else if (choice < 7) {
      lines.push(`r ${live[next(live.length)]} ${1 + next(500)}`);
    } else {
      const id = live.splice(next(live.length), 1)[0];
      spare.push(id);
      lines.push(`f ${id}`);
    }
  }
  if (lines.length + live.length === count - 1) {
    if (live.length > 0) lines.push(`r ${live[0]} ${1 + next(500)}`);
    else return allocate(), trace(lines, ids, "generated.rep"); // one payload left live
  }
  for (const id of live) lines.push(`f ${id}`);
  return trace(lines, ids, "generated.rep");
}

const SMALL = ["a 0 100", "a 1 50", "r 0 300", "f 1", "a 2 30", "f 0", "f 2"];

describe("replay on a correct heap", () => {
  test("is valid and measures utilization as malloc-lab does", () => {
    const heap = new FakeHeap();
    const result = replay(trace(SMALL), heap);
    expect(result.failure).toBe(null);
    expect(result.valid).toBe(true);
    expect(result.operations).toBe(7);
    expect(result.peakLive).toBe(350); // 300 + 50 after the realloc
    expect(result.highWater).toBe(heap.top - FakeHeap.BASE);
    expect(result.utilization).toBeCloseTo(350 / result.highWater, 12);
    expect(result.seconds).toBeGreaterThanOrEqual(0);
  });

  test("keeps the bytes of payloads large and small through realloc, at 8 and 16", () => {
    // (`r 1 0` frees id 1, as glibc's realloc(p, 0); `a 1` then takes it again.)
    const lines = ["a 0 1000", "a 1 3", "r 0 2000", "r 1 200", "r 0 130", "r 0 129", "r 0 1", "r 1 0", "a 1 7", "r 1 5000", "f 0", "f 1"];
    for (const align of [8, 16]) {
      const result = replay(trace(lines), new FakeHeap({ align }), { align });
      expect(result.failure).toBe(null);
    }
  });

  test("an unchecked replay makes the same calls and figures", () => {
    const t = generatedTrace(2000);
    const checked = replay(t, new FakeHeap());
    const timed = replay(t, new FakeHeap(), { check: false });
    expect(checked.valid && timed.valid).toBe(true);
    expect(timed.peakLive).toBe(checked.peakLive);
    expect(timed.highWater).toBe(checked.highWater);
    expect(timed.operations).toBe(2000);
  });

  test("a trace that leaves payloads live is checked at the end too", () => {
    const result = replay(trace(["a 0 8", "a 1 8"]), new FakeHeap({ flaw: "scribble", at: 2 }));
    expect(result.valid).toBe(false);
    expect(result.failure.line).toBe(null);
    expect(result.failure.reason).toMatch(/payload of id 0 changed by the end of the trace: byte 0/);
  });
});

describe("replay notices a heap that breaks the rules", () => {
  const LARGE = ["a 0 1000", "r 0 2000", "f 0"];
  const cases = [
    ["a misaligned payload", "misalign", 2, 4, /payload \[0x[0-9a-f]+, 0x[0-9a-f]+\) is not aligned to 8 bytes/],
    ["a payload over a live one", "overlap", 2, 4, /of id 1 overlaps live payload \[0x[0-9a-f]+, 0x[0-9a-f]+\) of id 0 \(line 3\)/],
    ["a payload outside the segments", "outside", 1, 3, /is not inside the heap's segments/],
    ["a null address", "null", 1, 3, /the heap returned 0, not a payload address/],
    ["a heap that throws", "throw", 2, 4, /^malloc\(50\) threw out-of-memory: the fake heap is full$/],
    ["a write into a live payload", "scribble", 3, 6, /payload of id 1 changed before free: byte 0 at 0x/],
    ["a realloc that loses the bytes", "drop-all", 3, 5, /payload of id 0 changed after realloc: byte 0 /],
    ["a realloc that loses the end", "drop-tail", 2, 4, /payload of id 0 changed after realloc: byte 936 /, LARGE],
    ["a failing heap check", "corrupt", 1, null, /heap check failed at the end: block 0x10010/],
  ];
  test.each(cases)("%s", (_, flaw, at, line, reason, lines = SMALL) => {
    const result = replay(trace(lines), new FakeHeap({ flaw, at }));
    expect(result.valid).toBe(false);
    expect(result.failure.line).toBe(line);
    expect(result.failure.reason).toMatch(reason);
    if (line !== null) expect(result.failure.operation).toBe(lines[line - 3]);
  });

  test("an alignment of 16 is checked when asked", () => {
    const heap = new FakeHeap({ align: 8 });
    heap.malloc(4); // shifts every later payload to an odd multiple of 8
    const result = replay(trace(["a 0 8", "f 0"]), heap, { align: 16 });
    expect(result.failure.reason).toMatch(/not aligned to 16 bytes/);
  });

  test("the unchecked (timed) replay still reports a heap that throws", () => {
    const result = replay(trace(SMALL), new FakeHeap({ flaw: "throw", at: 2 }), { check: false });
    expect(result).toMatchObject({ valid: false, operations: 1, failure: { line: 4, operation: "a 1 50" } });
  });
});

describe("PayloadIndex", () => {
  test("agrees with a brute-force list on 20k random inserts, removes and lookups", () => {
    const index = new PayloadIndex();
    const model = new Map(); // start -> [end, id]
    let x = 7;
    const next = (n) => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return x % n;
    };
    const brute = (s, e) => [...model].find(([start, [end]]) => start < e && s < end);
    for (let i = 0; i < 20_000; i++) {
      const start = 8 * next(4000);
      const end = start + 1 + next(100);
      const expected = brute(start, end);
      const found = index.overlapping(start, end);
      expect(found === null, `step ${i}`).toBe(expected === undefined);
      if (found) expect(brute(found.start, found.end)?.[0]).toBe(found.start);
      if (!found && next(3) > 0) {
        index.insert(start, end, i);
        model.set(start, [end, i]);
      } else if (model.size > 0) {
        const victim = [...model.keys()][next(model.size)];
        expect(index.remove(victim)).toBe(true);
        model.delete(victim);
      }
      expect(index.size).toBe(model.size);
    }
    expect(index.remove(-1)).toBe(false);
  });

  test("speed: prints the time of a checked replay of 200k operations", () => {
    const t = generatedTrace(200_000, 5000, 3);
    const started = performance.now();
    const result = replay(t, new FakeHeap());
    console.log(`checked replay of ${result.operations} operations on the fake heap: ${(performance.now() - started).toFixed(0)} ms`);
    expect(result.failure).toBe(null);
  });
});

describe("runTrace, summarize, formatTable and the arguments", () => {
  test("runTrace: a checked run, then timed runs on fresh heaps, all disposed", () => {
    const heaps = [];
    const makeHeap = (options) => {
      const heap = new FakeHeap(options);
      heaps.push(heap);
      return heap;
    };
    const result = runTrace(trace(SMALL), "best-fit", makeHeap, { align: 16, runs: 3 });
    expect(heaps.map((h) => [h.policy, h.align, h.disposed])).toEqual(Array(4).fill(["best-fit", 16, true]));
    expect(result).toMatchObject({ trace: "test.rep", policy: "best-fit", valid: true, operations: 7 });
    expect(result.seconds).toBeGreaterThanOrEqual(0);
    const broken = runTrace(trace(SMALL), "next-fit", (o) => new FakeHeap({ ...o, flaw: "misalign", at: 1 }));
    expect(broken).toMatchObject({ valid: false, seconds: null, kops: null });
  });

  test("summarize: mean utilization and Kops/s of the valid runs, per policy", () => {
    const results = [
      { policy: "first-fit", valid: true, utilization: 0.5, operations: 1000, seconds: 0.001 },
      { policy: "first-fit", valid: true, utilization: 0.7, operations: 3000, seconds: 0.003 },
      { policy: "best-fit", valid: false, utilization: 0, operations: 3, seconds: null },
    ];
    const [first, best] = summarize(results);
    expect(first).toMatchObject({ policy: "first-fit", runs: 2, valid: 2, operations: 4000 });
    expect(first.meanUtilization).toBeCloseTo(0.6);
    expect(first.kops).toBeCloseTo(1000);
    expect(best).toMatchObject({ policy: "best-fit", runs: 1, valid: 0, meanUtilization: null, kops: null });
  });

  test("formatTable aligns columns, right-aligning titles that start with a space", () => {
    expect(formatTable(["name", " n"], [["a", 1], ["long name", 100]])).toEqual([
      "name         n",
      "---------  ---",
      "a            1",
      "long name  100",
    ]);
  });

  test("parseArguments", () => {
    expect(parseArguments([])).toMatchObject({ policies: POLICIES, align: 8, runs: 1, quiet: false, json: false, files: [] });
    expect(parseArguments(["--policy", "segregated,first-fit", "--align=16", "-q", "a.rep", "--", "--b.rep"])).toMatchObject({
      policies: ["first-fit", "segregated"],
      align: 16,
      quiet: true,
      files: ["a.rep", "--b.rep"],
    });
    expect(parseArguments(["--policy", "all", "--policy", "best-fit"]).policies).toEqual(POLICIES);
    for (const bad of [["--policy", "fastest"], ["--align", "4"], ["--runs", "0"], ["--what"], ["--policy"]]) {
      expect(() => parseArguments(bad), bad.join(" ")).toThrow();
    }
  });
});

/** Collects what main() writes. */
function sink() {
  const out = { text: "", write: (s) => (out.text += s) };
  return out;
}

describe("main, in process, with the fake heap", () => {
  let dir;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "mdriver-"));
    writeFileSync(join(dir, "small.rep"), toRep(trace(SMALL)));
    writeFileSync(join(dir, "gen.rep"), toRep(generatedTrace(500), { header: "classic" }));
    writeFileSync(join(dir, "bad.rep"), "2\n3\na 0 8\nf 1\nf 0\n");
    writeFileSync(join(dir, "t.json"), '{"format":"heaplab-trace","version":1,"ops":[["a",0,8],["r",0,16],["f",0]]}');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (args, makeHeap = (o) => new FakeHeap(o)) => {
    const stdout = sink();
    const stderr = sink();
    const status = await main(args, { stdout, stderr, makeHeap });
    return { status, out: stdout.text, err: stderr.text };
  };

  test("prints a table per trace and policy and a summary; status 0", async () => {
    const { status, out, err } = await run([join(dir, "small.rep"), join(dir, "gen.rep"), join(dir, "t.json")]);
    expect(err).toBe("");
    expect(status).toBe(0);
    expect(out).toMatch(/^trace\s+policy\s+valid\s+util\s+ops\s+secs\s+Kops\/s$/m);
    for (const policy of POLICIES) expect(out).toMatch(new RegExp(`^gen\\.rep\\s+${policy}\\s+yes\\s+\\d+\\.\\d%\\s+500\\s`, "m"));
    expect(out).toMatch(/^Summary over 3 trace\(s\)$/m);
    expect(out).toMatch(/^segregated\s+3\/3\s+\d+\.\d%\s+510\s/m);
  });

  test("a malformed trace: file:line: reason on stderr, the others still run, status 1", async () => {
    const bad = join(dir, "bad.rep");
    const { status, out, err } = await run(["--policy", "best-fit", bad, join(dir, "small.rep")]);
    expect(err).toBe(`${bad}:4: id 1 freed before it was allocated\n`);
    expect(status).toBe(1);
    expect(out).toMatch(/^small\.rep\s+best-fit\s+yes/m);
    expect(out).toMatch(/1 malformed trace\(s\) skipped/);
    const missing = await run([join(dir, "nope.rep")]);
    expect(missing.status).toBe(1);
    expect(missing.err).toMatch(/nope\.rep: cannot read: /);
  });

  test("an invalid run is named with its line and reason; status 1", async () => {
    const { status, out } = await run(["--quiet", "--policy", "first-fit", join(dir, "small.rep")], (o) => new FakeHeap({ ...o, flaw: "overlap", at: 2 }));
    expect(status).toBe(1);
    expect(out).toMatch(/^invalid: first-fit on .*small\.rep:4 \(a 1 50\): payload .* overlaps live payload/m);
    expect(out).not.toMatch(/^trace\s+policy/m); // --quiet: the summary only
    expect(out).toMatch(/^first-fit\s+0\/1\s+-/m);
  });

  test("--json prints results, summary and malformed traces", async () => {
    const { status, out } = await run(["--json", "--policy", "next-fit,worst-fit", join(dir, "small.rep"), join(dir, "bad.rep")]);
    expect(status).toBe(1);
    const report = JSON.parse(out);
    expect(report.results.map((r) => [r.policy, r.valid, r.operations])).toEqual([
      ["next-fit", true, 7],
      ["worst-fit", true, 7],
    ]);
    expect(report.summary.map((s) => s.policy)).toEqual(["next-fit", "worst-fit"]);
    expect(report.malformed).toEqual([{ file: join(dir, "bad.rep"), line: 4, reason: "id 1 freed before it was allocated" }]);
  });
});

/** Runs the CLI as a child process. */
function cli(args) {
  const run = spawnSync(process.execPath, [DRIVER, ...args], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
  return { status: run.status, out: run.stdout, err: run.stderr };
}

describe("the command line, as a child process", () => {
  let dir;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "mdriver-cli-"));
    writeFileSync(join(dir, "bad-op.rep"), "2\n2\na 0 8\nq 0\n");
    writeFileSync(join(dir, "bad-count.rep"), "20000\n2\n3\n1\na 0 8\nf 0\n");
    writeFileSync(join(dir, "gen.rep"), toRep(generatedTrace(3000)));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("malformed traces: each reported as file:line: reason, status 1", () => {
    const { status, err } = cli([join(dir, "bad-op.rep"), join(dir, "bad-count.rep")]);
    expect(err).toBe(
      `${join(dir, "bad-op.rep")}:4: unknown operation 'q' (expected a, f or r)\n` +
        `${join(dir, "bad-count.rep")}:3: header declares 3 operations but the trace has 2\n`,
    );
    expect(status).toBe(1);
  });

  test("a usage error: status 2 and the usage", () => {
    const { status, err } = cli(["--policy", "fastest", "x.rep"]);
    expect(status).toBe(2);
    expect(err).toMatch(/unknown policy "fastest"[\s\S]*usage: mdriver/);
    expect(cli(["--help"])).toMatchObject({ status: 0, out: expect.stringMatching(/^usage: mdriver/) });
  });

  test.skipIf(!haveWasm)("a generated trace on the real heap: every policy valid, status 0", () => {
    const { status, out, err } = cli([join(dir, "gen.rep")]);
    expect(err).toBe("");
    expect(status).toBe(0);
    for (const policy of POLICIES) expect(out).toMatch(new RegExp(`^gen\\.rep\\s+${policy}\\s+yes\\s`, "m"));
  });

  test.skipIf(!haveWasm)("the real heap at alignment 16, with a malformed trace beside, in JSON", () => {
    const { status, out, err } = cli(["--json", "--align", "16", join(dir, "gen.rep"), join(dir, "bad-op.rep")]);
    expect(err).toMatch(/bad-op\.rep:4: unknown operation 'q'/);
    expect(status).toBe(1);
    const report = JSON.parse(out);
    expect(report.results.every((r) => r.valid && r.utilization > 0 && r.utilization <= 1)).toBe(true);
  });

  test.skipIf(!haveWasm || !haveTraces)("every malloc-lab trace with every policy on the real heap", () => {
    const { status, out, err } = cli(["--policy", "all", "--json"]);
    expect(err).toBe("");
    const report = JSON.parse(out);
    const invalid = report.results.filter((r) => !r.valid).map((r) => `${r.policy} ${r.trace}: ${JSON.stringify(r.failure)}`);
    expect(invalid).toEqual([]);
    expect(status).toBe(0);
    expect(report.summary.map((s) => s.policy)).toEqual(POLICIES);
    for (const s of report.summary) console.log(`${s.policy}: mean utilization ${(100 * s.meanUtilization).toFixed(1)}%, ${s.kops?.toFixed(0)} Kops/s`);
  }, 120_000);
});
