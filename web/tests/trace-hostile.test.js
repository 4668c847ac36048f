// Hostile traces for the JS trace reader: whatever the input, parseTrace
// either returns a trace or throws a TraceError coded "malformed-trace" at a
// line inside the text - never another exception, never a hang. (The `.rep`
// reader is the Rust one, in wasm: loaded first.)
import { describe, test, expect } from "vitest";
import { init } from "../src/heaplab.js";
import { parseTrace, TraceError } from "../src/trace.js";

await init();

/** Deterministic pseudo-random numbers (mulberry32); the seed is in the test name. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Lines in `input` (text or bytes), as the reader counts them. */
function lineCount(input) {
  if (typeof input === "string") return input.split("\n").length;
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  return bytes.reduce((n, b) => n + (b === 10 ? 1 : 0), 1);
}

/** Parses `input`; a failure must be a coded TraceError at a line inside it. */
function parseOrReject(input, what) {
  try {
    return parseTrace(input, { name: "hostile" });
  } catch (error) {
    expect(error, `${what}: ${error}`).toBeInstanceOf(TraceError);
    expect(error.code).toBe("malformed-trace");
    expect(Number.isInteger(error.line), `${what}: line ${error.line}`).toBe(true);
    expect(error.line).toBeGreaterThanOrEqual(1);
    expect(error.line).toBeLessThanOrEqual(lineCount(input));
    expect(error.message).toBe(`hostile:${error.line}: ${error.reason}`);
    return error;
  }
}

/** Expects a TraceError at `line` whose reason matches `reason`. */
function rejects(input, line, reason) {
  const error = parseOrReject(input, String(input).slice(0, 60));
  expect(error, "accepted").toBeInstanceOf(TraceError);
  expect(error.line).toBe(line);
  expect(error.reason).toMatch(reason);
}

/** A valid short-header trace of `count` operations (alloc then free, 8 ids). */
function validLines(count) {
  const lines = new Array(count + 2);
  lines[0] = "8";
  lines[1] = String(count);
  for (let i = 0; i < count; i++) {
    const id = (i >> 1) & 7;
    lines[i + 2] = i % 2 === 0 ? `a ${id} ${(i % 4000) + 1}` : `f ${id}`;
  }
  return lines;
}

describe("hostile .rep text gives a coded error at the right line", () => {
  test.each([
    ["an unknown operation", "2\n2\na 0 8\nm 0 8\n", 4, /unknown operation 'm'/],
    ["an operation in upper case", "2\n1\nA 0 8\n", 3, /unknown operation 'A'/],
    ["a free of an id never allocated", "3\n1\nf 2\n", 3, /id 2 freed before it was allocated/],
    ["a realloc of an id never allocated", "3\n1\nr 1 9\n", 3, /id 1 reallocated before it was allocated/],
    ["an id far above the declared ids", "2\n1\na 4294967296 8\n", 3, /id 4294967296 is not below|above the limit/],
    ["an id written as a float", "2\n1\na 1e0 8\n", 3, /id '1e0' is not a non-negative integer/],
    ["an id that is NaN", "2\n1\na NaN 8\n", 3, /id 'NaN' is not a non-negative integer/],
    ["an id that is Infinity", "2\n1\na Infinity 8\n", 3, /id 'Infinity' is not/],
    ["a header that declares 2M operations and holds 1", "1\n2000000\na 0 8\n", 2, /declares 2000000 operations but the trace has 1/],
    ["a header that declares fewer operations", "1\n1\na 0 8\nf 0\n", 4, /more operations than the 1 declared/],
    ["a header that declares too few ids", "1\n2\na 0 8\na 1 8\n", 4, /id 1 is not below the declared number of ids \(1\)/],
    ["a header above the limits", "3000000\n1\na 0 8\n", 1, /declares 3000000 ids, above the limit/],
    ["a header of 10^30", "1000000000000000000000000000000\n1\n", 1, /above the limit/],
    ["no header before the operations", "\n\na 0 8\n", 3, /missing header/],
    ["a header interrupted by an operation", "4\na 0 8\n", 1, /header has 1 numbers/],
    ["a header number after the operations", "2\n2\na 0 8\n7\n", 4, /unknown operation '7'|takes/],
  ])("%s", (_, text, line, reason) => rejects(text, line, reason));
});

describe("binary garbage is rejected as binary, at its line", () => {
  test("a PNG signature, an ELF header, UTF-16 text", () => {
    rejects(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 1, /invalid UTF-8|control character/);
    rejects(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]), 1, /control character|NUL/);
    const utf16 = new Uint8Array([...("2\n1\na 0 8\n")].flatMap((c) => [c.charCodeAt(0), 0]));
    rejects(utf16, 1, /NUL byte/);
  });

  test("garbage after a valid start stops at the garbage's line", () => {
    const bytes = new TextEncoder().encode("2\n3\na 0 8\nf 0\n");
    const withGarbage = new Uint8Array([...bytes, 0xc3, 0x28, 0x0a]); // invalid UTF-8 on line 5
    rejects(withGarbage.buffer, 5, /invalid UTF-8/);
  });

  test("seed 7: 2000 random byte strings", () => {
    const next = random(7);
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(1 + Math.floor(next() * 200));
      // Mostly the trace alphabet, sometimes anything.
      const alphabet = "0123456789 afr\n\t\r#-.x";
      for (let j = 0; j < bytes.length; j++) {
        bytes[j] = next() < 0.9 ? alphabet.charCodeAt(Math.floor(next() * alphabet.length)) : Math.floor(next() * 256);
      }
      parseOrReject(bytes, `random bytes #${i}`);
    }
  });

  test("seed 11: 2000 one-line mutations of a valid trace", () => {
    const next = random(11);
    const base = validLines(40);
    for (let i = 0; i < 2000; i++) {
      const lines = base.slice();
      const at = Math.floor(next() * lines.length);
      const kind = Math.floor(next() * 4);
      if (kind === 0) lines.splice(at, 1);
      else if (kind === 1) lines.splice(at, 0, lines[Math.floor(next() * lines.length)]);
      else if (kind === 2) lines[at] = lines[at].replace(/\d+/, String(Math.floor(next() * 20) - 5));
      else lines[at] = `${lines[at]} ${Math.floor(next() * 9)}`;
      const text = lines.join("\n");
      const result = parseOrReject(text, `mutation #${i} (${kind} at line ${at + 1})`);
      if (result instanceof TraceError) expect(result.line).toBeGreaterThanOrEqual(1);
    }
  });
});

describe("hostile JSON traces", () => {
  const doc = (rest) => `{"format":"heaplab-trace","version":1,${rest}}`;
  test.each([
    ["a value nested 100000 deep as an operation", doc(`"ops":[${"[".repeat(100000)}${"]".repeat(100000)}]`), /unknown operation/],
    ["options nested 100000 deep", doc(`"options":${'{"a":'.repeat(100000)}1${"}".repeat(100000)},"ops":[]`), /must be a string, number or boolean/],
    ["a format nested 100000 deep", `{"format":${"[".repeat(100000)}${"]".repeat(100000)},"version":1,"ops":[]}`, /"format" must be/],
    ["an array 200000 deep", "[".repeat(200000) + "]".repeat(200000), /must be an object/],
    ["an unterminated document", doc(`"ops":[["a",0,8]`), /invalid JSON/],
    ["an id of 1e300", doc(`"ops":[["a",1e300,8]]`), /above the limit/],
    ["a size of -0.5", doc(`"ops":[["a",0,-0.5]]`), /negative size/],
    ["a free before the malloc", doc(`"ops":[["f",0]]`), /freed before it was allocated/],
  ])("%s", (_, text, reason) => {
    const error = parseOrReject(text, _);
    expect(error).toBeInstanceOf(TraceError);
    expect(error.reason).toMatch(reason);
  });

  test("__proto__ and constructor options stay plain data", () => {
    const trace = parseTrace(doc(`"options":{"__proto__":"x","constructor":"y"},"ops":[]`));
    expect(Object.getPrototypeOf(trace.options)).toBe(Object.prototype);
    expect(Object.keys(trace.options).sort()).toEqual(["__proto__", "constructor"]);
    expect({}.x).toBeUndefined();
  });
});

describe("a million lines", () => {
  const lines = validLines(1_000_000);

  test("a valid million-operation trace parses", () => {
    const text = `${lines.join("\n")}\n`;
    const start = performance.now();
    const trace = parseTrace(text);
    const ms = performance.now() - start;
    console.log(`trace-hostile: 1,000,000 operations (${(text.length / 1e6).toFixed(1)} MB) parsed in ${ms.toFixed(0)} ms`);
    expect(trace.ops.length).toBe(1_000_000);
    expect(trace.ops.at(-1)).toEqual({ op: "f", id: 7, line: 1_000_002 });
  });

  test("a bad last line of a million is reported at its line", () => {
    const bad = lines.slice();
    bad[bad.length - 1] = "f 9";
    rejects(`${bad.join("\n")}\n`, 1_000_002, /id 9 is not below the declared number of ids \(8\)/);
  });

  test("a million lines without a header fail at line 1, and a million blank lines are empty", () => {
    rejects(lines.slice(2).join("\n"), 1, /missing header/);
    rejects("\n".repeat(1_000_000), 1, /empty trace/);
  });
});
