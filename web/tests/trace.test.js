// The trace reader and writers: round trips, every kind of malformed input
// with its line, the malloc-lab traces of ../shared, and a speed figure. The
// `.rep` reader is the Rust one (in wasm): loaded first.
import { describe, test, expect } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { init } from "../src/heaplab.js";
import { parseTrace, toRep, toJson, TraceError, traceLimits } from "../src/trace.js";

await init();

const TRACE_DIR = new URL("../../../shared/traces/malloclab/", import.meta.url);
const haveTraces = existsSync(TRACE_DIR);
if (!haveTraces) console.warn(`skipping the malloc-lab trace tests: ${fileURLToPath(TRACE_DIR)} is absent`);

/** The operations without their lines: what a round trip must keep. */
function shape(trace) {
  return { ids: trace.ids, ops: trace.ops.map(({ line, ...op }) => op) };
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A valid random trace of about `count` operations on at most `ids` ids. */
function randomTrace(seed, count, ids = 16) {
  const next = random(seed);
  const live = new Set();
  const used = new Set();
  const ops = [];
  for (let i = 0; i < count; i++) {
    const id = Math.floor(next() * ids);
    const size = Math.floor(next() * (next() < 0.1 ? 2 ** 31 + 1 : 5000));
    if (!live.has(id)) {
      if (used.has(id) && next() < 0.5) continue; // ids may be reused after a free
      ops.push({ op: "a", id, size });
      live.add(id);
      used.add(id);
    } else if (next() < 0.5) {
      // (Size 0 would free the id: `realloc(p, 0)` as glibc's.)
      ops.push({ op: "r", id, size: Math.max(1, size) });
    } else {
      ops.push({ op: "f", id });
      live.delete(id);
    }
  }
  return { ops, ids };
}

/** Expects `text` to be rejected at `line` with a reason matching `reason`. */
function expectMalformed(text, line, reason, options = { name: "bad.rep" }) {
  let error;
  try {
    parseTrace(text, options);
  } catch (e) {
    error = e;
  }
  const shown = typeof text === "string" ? JSON.stringify(text.slice(0, 80)) : `${text.byteLength} bytes`;
  expect(error, `no error for ${shown}`).toBeInstanceOf(TraceError);
  expect(error.code).toBe("malformed-trace");
  expect(error.line).toEqual(line);
  expect(error.reason).toMatch(reason);
  expect(error.message).toBe(`${options.name}:${error.line}: ${error.reason}`);
}

const SHORT = "3\n5\na 0 24\na 1 8\nr 0 48\nf 1\nf 0\n";

describe("parseTrace on .rep text", () => {
  test("reads the short header and each operation with its line", () => {
    const trace = parseTrace(SHORT, { name: "small.rep" });
    expect(trace).toEqual({
      ops: [
        { op: "a", id: 0, size: 24, line: 3 },
        { op: "a", id: 1, size: 8, line: 4 },
        { op: "r", id: 0, size: 48, line: 5 },
        { op: "f", id: 1, line: 6 },
        { op: "f", id: 0, line: 7 },
      ],
      ids: 3,
      header: "short",
      name: "small.rep",
    });
  });

  test("reads the classic header (heap size, ids, operations, weight)", () => {
    const trace = parseTrace("20000\n3\n5\n1\na 0 24\na 1 8\nr 0 48\nf 1\nf 0\n");
    expect(trace.header).toBe("classic");
    expect(trace.name).toBe("trace");
    expect(shape(trace)).toEqual(shape(parseTrace(SHORT)));
  });

  test("accepts blank lines, tabs, CRLF, trailing spaces, comments, a BOM and no final newline", () => {
    const text = "\ufeff# a comment\r\n3 \r\n\r\n5\t\r\n  a\t0 24   # first\r\na 1 8\r\n\r\nr 0 48\nf 1\nf 0";
    const trace = parseTrace(text);
    expect(shape(trace)).toEqual(shape(parseTrace(SHORT)));
    expect(trace.ops.map((op) => op.line)).toEqual([5, 6, 8, 9, 10]);
  });

  test("reads bytes as UTF-8 (Uint8Array and ArrayBuffer)", () => {
    const bytes = new TextEncoder().encode(SHORT);
    expect(shape(parseTrace(bytes))).toEqual(shape(parseTrace(SHORT)));
    expect(shape(parseTrace(bytes.buffer))).toEqual(shape(parseTrace(SHORT)));
  });

  test("accepts an empty trace, an id reused after its free, and sizes 0 and 2^31", () => {
    expect(parseTrace("0\n0\n").ops).toEqual([]);
    const trace = parseTrace(`1\n4\na 0 0\nf 0\na 0 ${2 ** 31}\nf 0\n`);
    expect(trace.ops.map((op) => op.size)).toEqual([0, undefined, 2 ** 31, undefined]);
  });
});

describe("parseTrace rejects malformed .rep text at its first bad line", () => {
  const cases = [
    ["an unknown operation", "2\n2\na 0 8\nx 0\n", 4, /unknown operation 'x'/],
    ["an operation word", "2\n1\nalloc 0 8\n", 3, /unknown operation 'alloc'/],
    ["a missing size", "2\n1\na 0\n", 3, /'a id size' takes 3 fields, found 2/],
    ["an extra field on free", "2\n2\na 0 8\nf 0 8\n", 4, /'f id' takes 2 fields, found 3/],
    ["too many fields", "2\n1\na 0 8 9 10 11\n", 3, /takes 3 fields, found 6/],
    ["a negative size", "2\n1\na 0 -8\n", 3, /negative size -8/],
    ["a negative id", "2\n1\na -1 8\n", 3, /negative id -1/],
    ["a fractional size", "2\n1\na 0 8.5\n", 3, /size '8.5' is not a non-negative integer/],
    ["a size in hex", "2\n1\na 0 0x10\n", 3, /size '0x10' is not/],
    ["a signed size", "2\n1\na 0 +8\n", 3, /size '\+8' is not/],
    ["a size above 2^31", `2\n1\na 0 ${2 ** 31 + 1}\n`, 3, /size 2147483649 is above the limit of 2147483648/],
    ["a huge size", "2\n1\na 0 123456789012345678901234567890\n", 3, /is above the limit/],
    ["an id not below the declared ids", "2\n1\na 2 8\n", 3, /id 2 is not below the declared number of ids \(2\)/],
    ["a free before the malloc", "4\n2\na 0 8\nf 3\n", 4, /id 3 freed before it was allocated/],
    ["a double free", "2\n3\na 0 8\nf 0\nf 0\n", 5, /id 0 freed twice \(first freed at line 4\)/],
    ["a realloc before the malloc", "2\n1\nr 0 8\n", 3, /id 0 reallocated before it was allocated/],
    ["a realloc after the free", "2\n3\na 0 8\nf 0\nr 0 8\n", 5, /id 0 reallocated after it was freed \(at line 4\)/],
    ["a malloc of a live id", "2\n2\na 0 8\na 0 8\n", 4, /id 0 allocated while still live \(allocated at line 3\)/],
    ["more operations than declared", "2\n1\na 0 8\nf 0\n", 4, /more operations than the 1 declared in the header \(line 2\)/],
    ["fewer operations than declared", "2\n3\na 0 8\nf 0\n", 2, /header declares 3 operations but the trace has 2/],
    ["a missing header", "a 0 8\nf 0\n", 1, /missing header/],
    ["an empty file", "", 1, /empty trace/],
    ["only blank lines", "\n\n  \n", 1, /empty trace/],
    ["a header of one number", "2\na 0 8\n", 1, /header has 1 numbers/],
    ["a header of three numbers", "100\n2\n1\na 0 8\n", 3, /header has 3 numbers/],
    ["a header of five numbers", "1\n2\n3\n4\n5\na 0 8\n", 5, /more than 4 numbers/],
    ["a header on one line", "2 1\na 0 8\n", 1, /header line holds 2 fields/],
    ["a negative header number", "2\n-1\n", 2, /negative header number -1/],
    ["a word in the header", "2\n?\na 0 8\n", 2, /header number '\?' is not a non-negative integer/],
    ["a header that lies about the ids", "1\n2\na 0 8\na 1 8\n", 4, /id 1 is not below the declared number of ids \(1\)/],
    ["a NUL byte", "2\n1\na 0 8\0\n", 3, /NUL byte/],
    ["invalid UTF-8", "2\n1\na 0 \ufffd\n", 3, /invalid UTF-8/],
    ["a control character", "2\n1\na 0 8\u0001\n", 3, /control character U\+0001/],
  ];
  test.each(cases)("%s", (_, text, line, reason) => expectMalformed(text, line, reason));

  test("binary bytes (invalid UTF-8 and NUL)", () => {
    expectMalformed(new Uint8Array([0x32, 0x0a, 0x31, 0x0a, 0x61, 0x20, 0x30, 0x20, 0xff, 0xfe]), 3, /invalid UTF-8/);
    expectMalformed(new Uint8Array([0x00, 0x01, 0x02, 0x03]), 1, /NUL byte/);
  });

  test("limits on operations, declared ids and text size: the Rust reader's, for both formats", () => {
    const limits = traceLimits();
    expect(limits).toEqual({ maxOps: 2_000_000, maxSize: 2 ** 31, maxBytes: 64 * 1024 * 1024 });
    expectMalformed(`1\n${limits.maxOps + 1}\na 0 8\n`, 2, /declares 2000001 operations, above the limit of 2000000/);
    expectMalformed(`${limits.maxOps + 1}\n1\na 0 8\n`, 1, /declares 2000001 ids, above the limit of 2000000/);
    expect(parseTrace(`${limits.maxOps}\n0\n`).ids).toBe(limits.maxOps); // at the limit: accepted
    const blank = new Uint8Array(limits.maxBytes + 1).fill(10); // blank lines, one byte too many
    expectMalformed(blank, 1, /^trace is 67108865 bytes, above the limit of 67108864$/);
    blank[0] = 0x7b; // "{": a JSON trace
    expectMalformed(blank, 1, /^trace is 67108865 bytes, above the limit of 67108864$/, { name: "t.json" });
  });

  test("the error is an Error with the first bad line, never partial data", () => {
    const error = (() => {
      try {
        return parseTrace("2\n4\na 0 8\nf 1\nq\nf 0\n", { name: "x.rep" });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("TraceError");
    expect(error.message).toBe("x.rep:4: id 1 freed before it was allocated");
  });
});

const JSON_TRACE = '{"format":"heaplab-trace","version":1,"ops":[["a",0,24],["a",1,8],["r",0,48],["f",1],["f",0]]}';

describe("parseTrace on JSON", () => {
  test("reads the format; ids default to the largest id + 1; lines are op indices + 1", () => {
    const trace = parseTrace(`  \n${JSON_TRACE}`, { name: "t.json" });
    expect(trace.header).toBe("json");
    expect(trace.ids).toBe(2);
    expect(trace.ops.map((op) => op.line)).toEqual([1, 2, 3, 4, 5]);
    expect(shape(trace).ops).toEqual(shape(parseTrace(SHORT)).ops);
    expect(trace).not.toHaveProperty("options");
  });

  test("keeps declared ids and heap options", () => {
    const trace = parseTrace('{"format":"heaplab-trace","version":1,"ids":9,"options":{"policy":"best-fit","align":16},"ops":[]}');
    expect(trace.ids).toBe(9);
    expect(trace.options).toEqual({ policy: "best-fit", align: 16 });
  });

  const doc = (fields) => JSON.stringify({ format: "heaplab-trace", version: 1, ...fields });
  const cases = [
    ["not an object", "[1, 2]", 1, /must be an object/],
    ["a wrong format", '{"format":"other","version":1,"ops":[]}', 1, /"format" must be "heaplab-trace"/],
    ["a missing version", '{"format":"heaplab-trace","ops":[]}', 1, /unsupported "version" undefined/],
    ["a newer version", doc({ version: 2, ops: [] }), 1, /unsupported "version" 2/],
    ["an unknown field", doc({ ops: [], extra: 1 }), 1, /unknown field "extra"/],
    ["missing ops", doc({}), 1, /"ops" must be an array/],
    ["bad ids", doc({ ids: -1, ops: [] }), 1, /"ids" must be an integer/],
    ["bad options", doc({ options: [1], ops: [] }), 1, /"options" must be an object/],
    ["a nested option", doc({ options: { policy: {} }, ops: [] }), 1, /option "policy" must be a string/],
    ["an operation that is not an array", doc({ ops: [["a", 0, 8], { op: "f" }] }), 2, /must be an array like/],
    ["an unknown operation", doc({ ops: [["a", 0, 8], ["x", 0]] }), 2, /unknown operation "x"/],
    ["a missing size", doc({ ops: [["a", 0]] }), 1, /'a id size' takes 3 fields, found 2/],
    ["a string id", doc({ ops: [["a", "0", 8]] }), 1, /id "0" is not a non-negative integer/],
    ["a negative size", doc({ ops: [["a", 0, -8]] }), 1, /negative size -8/],
    ["a fractional size", doc({ ops: [["a", 0, 1.5]] }), 1, /size 1.5 is not a non-negative integer/],
    ["a size above 2^31", doc({ ops: [["a", 0, 2 ** 31 + 1]] }), 1, /above the limit of 2147483648/],
    ["an id not below ids", doc({ ids: 1, ops: [["a", 1, 8]] }), 1, /id 1 is not below the declared number of ids/],
    ["a free before the malloc", doc({ ops: [["a", 0, 8], ["f", 3]] }), 2, /id 3 freed before it was allocated/],
    ["a double free", doc({ ops: [["a", 0, 8], ["f", 0], ["f", 0]] }), 3, /freed twice \(first freed at operation 2\)/],
    ["a NUL byte", `${doc({ ops: [] })}\n\0`, 2, /NUL byte/],
  ];
  test.each(cases)("rejects %s", (_, text, line, reason) => expectMalformed(text, line, reason, { name: "t.json" }));

  test("rejects more operations or ids than the limit", () => {
    const { maxOps, maxSize } = traceLimits();
    const text = `{"format":"heaplab-trace","version":1,"ops":[${"0,".repeat(maxOps)}0]}`;
    expectMalformed(text, 1, /trace has 2000001 operations, above the limit of 2000000/, { name: "t.json" });
    expectMalformed(doc({ ids: maxOps + 1, ops: [] }), 1, /"ids" must be an integer from 0 to 2000000/, { name: "t.json" });
    expectMalformed(doc({ ops: [["a", 0, maxSize + 1]] }), 1, /size 2147483649 is above the limit of 2147483648/, { name: "t.json" });
  });

  test("rejects a syntax error with the message on one line", () => {
    expectMalformed('{"format": "heaplab-trace",\n"version": 1, "ops": [}', expect.any(Number), /^invalid JSON: [^\n]*$/, { name: "t.json" });
  });
});

describe("toRep and toJson", () => {
  const trace = parseTrace(SHORT);

  test("write the formats the docs describe", () => {
    expect(toRep(trace)).toBe(SHORT);
    expect(toRep(trace, { header: "classic" })).toBe(`56\n3\n5\n1\n${SHORT.split("\n").slice(2).join("\n")}`);
    expect(toJson(trace)).toBe('{"format":"heaplab-trace","version":1,"ids":3,"ops":[["a",0,24],\n["a",1,8],\n["r",0,48],\n["f",1],\n["f",0]]}\n');
    expect(toJson({ ops: [], options: { policy: "segregated" } })).toBe(
      '{"format":"heaplab-trace","version":1,"ids":0,"options":{"policy":"segregated"},"ops":[]}\n',
    );
  });

  test("a JSON file written by toJson reports errors on the editor's line", () => {
    const text = toJson(trace).replace('["f",1]', '["f",2]');
    expectMalformed(text, 4, /id 2 freed before it was allocated/, { name: "t.json" });
    expect(text.split("\n")[3]).toBe('["f",2],');
  });

  test("reject what is not a trace", () => {
    expect(() => toRep({ ops: [{ op: "m", id: 0 }] })).toThrow(TypeError);
    expect(() => toJson({ ops: [{ op: "a", id: 0 }] })).toThrow(TypeError);
    expect(() => toRep(trace, { header: "long" })).toThrow(/unknown header/);
    expect(() => parseTrace(42)).toThrow(TypeError);
  });

  test("round trips are exact on 300 random traces, in every format", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const original = randomTrace(seed, 1 + (seed % 97), 1 + (seed % 23));
      const expected = { ids: original.ids, ops: original.ops };
      const viaShort = parseTrace(toRep(original));
      const viaClassic = parseTrace(toRep(original, { header: "classic" }));
      const viaJson = parseTrace(toJson({ ...original, options: { seed } }));
      expect(shape(viaShort), `seed ${seed}`).toEqual(expected);
      expect(shape(viaClassic), `seed ${seed}`).toEqual(expected);
      expect(shape(viaJson), `seed ${seed}`).toEqual(expected);
      expect(viaJson.options).toEqual({ seed });
      expect([viaShort.header, viaClassic.header, viaJson.header]).toEqual(["short", "classic", "json"]);
      expect(toRep(viaJson)).toBe(toRep(original)); // and back again, text for text
      expect(toJson(viaClassic)).toBe(toJson(original));
    }
  });

  test("random damage to a valid trace is either parsed or reported at a line, never thrown otherwise", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const lines = toRep(randomTrace(seed, 30)).split("\n");
      const at = Math.floor(next() * lines.length);
      const junk = ["", "x", "-1", "a", "f 99", "a 0 1", "1.5", "\0"][Math.floor(next() * 8)];
      lines[at] = next() < 0.5 ? junk : `${lines[at]} ${junk}`;
      try {
        parseTrace(lines.join("\n"));
      } catch (error) {
        expect(error, `seed ${seed}`).toBeInstanceOf(TraceError);
        expect(error.line).toBeGreaterThanOrEqual(1);
        expect(error.line).toBeLessThanOrEqual(lines.length);
      }
    }
  });
});

describe("the malloc-lab traces", () => {
  const files = haveTraces ? readdirSync(TRACE_DIR).filter((f) => f.endsWith(".rep")).sort() : [];

  test.skipIf(!haveTraces)("every trace parses, and writes back byte for byte", () => {
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = readFileSync(new URL(file, TRACE_DIR), "utf8");
      const trace = parseTrace(text, { name: file });
      expect(trace.ops.length, file).toBeGreaterThan(0);
      const header = text.split("\n").findIndex((l) => /^[a-z]/.test(l));
      expect(trace.header, file).toBe(header === 4 ? "classic" : "short");
      if (trace.header === "short") expect(toRep(trace), file).toBe(text);
      expect(shape(parseTrace(toJson(trace))), file).toEqual(shape(trace));
    }
  });

  test.skipIf(!haveTraces)("both header variants of short1 hold the same operations", () => {
    const read = (f) => parseTrace(readFileSync(new URL(f, TRACE_DIR)), { name: f });
    const classic = read("short1-classic.rep");
    const short = read("short1-bal.rep");
    expect(classic.header).toBe("classic");
    expect(short.header).toBe("short");
    expect(shape(classic)).toEqual(shape(short));
    expect(classic.ops[0]).toEqual({ op: "a", id: 0, size: 2040, line: 5 });
  });

  test.skipIf(!haveTraces)("speed: prints how fast the largest trace and a 1M-operation trace parse", () => {
    const sizes = files.map((f) => [f, readFileSync(new URL(f, TRACE_DIR), "utf8")]);
    const [file, text] = sizes.sort((a, b) => b[1].length - a[1].length)[0];
    const ms = (f) => {
      const started = performance.now();
      f();
      return performance.now() - started;
    };
    const largest = ms(() => parseTrace(text));
    const lines = ["1000", "1000000"];
    for (let i = 0; i < 500_000; i++) lines.push(`a ${i % 1000} ${(i * 37) % 4096}`, `f ${i % 1000}`);
    const million = `${lines.join("\n")}\n`;
    let count = 0;
    const big = ms(() => (count = parseTrace(million).ops.length));
    console.log(`parse speed: ${file} (${text.length} chars) ${largest.toFixed(1)} ms; 1M operations (${million.length} chars) ${big.toFixed(0)} ms`);
    expect(count).toBe(1_000_000);
  });
});
