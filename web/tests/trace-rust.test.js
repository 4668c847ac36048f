// One `.rep` reader: the Rust one (crate heaplab-trace, in wasm). Every JS
// entry point that reads a `.rep` file - trace.js's parseTrace, the
// playground's readTraceText, the replay worker's read, the compare worker's
// loadSource, the mdriver script - gives what the wasm reader gives: the same
// operations, or the same first bad line and reason.
import { describe, test, expect } from "vitest";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { init, parseTrace as wasmParse, RUN } from "../src/heaplab.js";
import { parseTrace, TraceError } from "../src/trace.js";
import { readTraceText, recordedOps } from "../src/trace-files.js";
import { readAnswer } from "../src/replay-worker.js";
import { decodeOps } from "../src/replay.js";
import { loadSource } from "../src/compare/worker.js";
import { main as mdriver } from "../../scripts/mdriver.mjs";

await init();

const TRACE_DIR = new URL("../../../shared/traces/malloclab/", import.meta.url);
const haveTraces = existsSync(TRACE_DIR);
if (!haveTraces) console.warn(`skipping the malloc-lab header variants: ${fileURLToPath(TRACE_DIR)} is absent`);

/** The wasm reader's verdict on `text`: `{ line, reason }` or null when it accepts it. */
function rustVerdict(text) {
  try {
    wasmParse(text);
    return null;
  } catch (error) {
    expect(error.code).toBe("invalid-trace");
    return { line: error.line, reason: error.reason };
  }
}

/** What mdriver writes on stderr for `text` in a file named `name` (a malformed trace runs no heap). */
async function mdriverSays(text, name) {
  const dir = mkdtempSync(join(tmpdir(), "heaplab-rep-"));
  try {
    const file = join(dir, name);
    writeFileSync(file, text);
    let err = "";
    const sink = { write: () => true };
    const status = await mdriver(["--quiet", file], { stdout: sink, stderr: { write: (s) => (err += s) }, makeHeap: () => null });
    return { status, err, file };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every entry point's error for `text`, as `{ line, reason }` (or the message, where that is all it says). */
async function everyEntryPoint(text, name) {
  const out = {};
  try {
    parseTrace(text, { name });
  } catch (error) {
    expect(error).toBeInstanceOf(TraceError);
    out.parseTrace = { line: error.line, reason: error.reason };
  }
  const read = readTraceText(text, name);
  if (!read.ok) out.readTraceText = { line: read.line, message: read.message };
  const bytes = new TextEncoder().encode(text).buffer;
  const answer = (await readAnswer({ bytes, name })).message;
  if (!answer.ok) out.worker = { line: answer.line, message: answer.message };
  try {
    loadSource({ kind: "file", name, text });
  } catch (error) {
    out.compare = { line: error.line, reason: error.reason };
  }
  return out;
}

const BAD = [
  ["a free of an id never allocated", "3\n2\na 0 8\nf 2\n"],
  ["a double free, with the line of the first", "2\n4\na 0 8\nf 0\n\n# then\nf 0\na 1 1\n"],
  ["an unknown operation", "2\n1\nmalloc 0 8\n"],
  ["a size that is not a number", "2\n1\na 0 24B\n"],
  ["a negative id", "2\n1\nf -1\n"],
  ["a header of three numbers", "100\n2\n1\na 0 8\n"],
  ["fewer operations than declared (reported at the header)", "20000\n2\n3\n1\na 0 8\nf 0\n"],
  ["more operations than declared", "2\n1\na 0 8\nf 0\n"],
  ["a control character", "2\n1\na 0 8\u0007\n"],
  ["an empty file", "  \n\n"],
];

describe("a trace the Rust reader rejects is rejected at the same line, for the same reason, everywhere", () => {
  test.each(BAD)("%s", async (_, text) => {
    const rust = rustVerdict(text);
    expect(rust, "the Rust reader accepted it").not.toBeNull();
    const said = await everyEntryPoint(text, "bad.rep");
    const message = `bad.rep:${rust.line}: ${rust.reason}`;
    expect(said).toEqual({
      parseTrace: rust,
      readTraceText: { line: rust.line, message },
      worker: { line: rust.line, message },
      compare: rust,
    });
    const driver = await mdriverSays(text, "bad.rep");
    expect(driver.status).toBe(1);
    expect(driver.err).toBe(`${driver.file}:${rust.line}: ${rust.reason}\n`);
  });

  test("the reasons are the Rust reader's own words (a long field is quoted cut at 40 bytes)", () => {
    const field = "7".repeat(30) + "x".repeat(30);
    const rust = rustVerdict(`2\n1\na 0 ${field}\n`);
    expect(rust).toEqual({ line: 3, reason: `size '${field.slice(0, 40)}...' is not a non-negative integer` });
    expect(() => parseTrace(`2\n1\na 0 ${field}\n`)).toThrow(new TraceError("trace", 3, rust.reason));
  });

  test("seed 5: 300 damaged traces get one verdict from the wasm reader and from trace.js", () => {
    let seed = 5;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const base = ["4", "12", "a 0 8", "a 1 16", "r 0 32", "f 1", "a 2 4", "f 0", "a 1 1", "r 2 9", "f 2", "a 3 0", "f 1", "f 3"];
    const junk = ["", "f 9", "a 0 1", "r 3 3", "x", "1", "f 1 1", "# c", "a 1 -1"];
    let rejected = 0;
    for (let i = 0; i < 300; i++) {
      const lines = base.slice();
      const at = Math.floor(next() * lines.length);
      const bit = junk[Math.floor(next() * junk.length)];
      if (next() < 0.5) lines.splice(at, 1, bit);
      else lines.splice(at, 0, bit);
      const text = lines.join("\n");
      const rust = rustVerdict(text);
      let js = null;
      try {
        parseTrace(text);
      } catch (error) {
        js = { line: error.line, reason: error.reason };
      }
      expect(js, `damage #${i}: ${JSON.stringify(text)}`).toEqual(rust);
      if (rust) rejected++;
    }
    expect(rejected).toBeGreaterThan(100);
  });
});

describe("an accepted trace reads to the same operations everywhere", () => {
  const TEXT = "\ufeff# both kinds\r\n20000\n3\n6\n1\na 0 24\na 1 8 # one\nr 0 48\n\nf 1\na 2 0\nf 0\n";

  test("trace.js's operations are the wasm reader's triples, with their text lines", () => {
    const raw = wasmParse(TEXT);
    const trace = parseTrace(TEXT, { name: "t.rep" });
    expect(trace).toMatchObject({ ids: raw.ids, header: "classic", name: "t.rep" });
    const codes = { a: RUN.MALLOC, f: RUN.FREE, r: RUN.REALLOC };
    expect(trace.ops.flatMap((op) => [codes[op.op], op.id, op.size ?? 0])).toEqual([...raw.ops]);
    expect(trace.ops.map((op) => op.line)).toEqual([...raw.lines]);
    expect(trace.ops.map((op) => op.line)).toEqual([6, 7, 8, 10, 11, 12]);
  });

  test("the playground on the page, in the worker and the compare page read the same", async () => {
    const onPage = readTraceText(TEXT, "t.rep");
    expect(onPage.ok).toBe(true);
    const answer = await readAnswer({ bytes: new TextEncoder().encode(TEXT).buffer, name: "t.rep" });
    expect(answer.message.ok).toBe(true);
    expect(answer.transfer).toEqual([answer.message.ops.words.buffer]);
    expect(decodeOps(answer.message.ops)).toEqual(onPage.ops);
    expect([...loadSource({ kind: "file", name: "t.rep", text: TEXT }).ops]).toEqual([...wasmParse(TEXT).ops]);
  });

  test.skipIf(!haveTraces)("both header variants of the malloc-lab traces, through every entry point", async () => {
    const files = readdirSync(TRACE_DIR).filter((f) => f.endsWith(".rep"));
    const read = (f) => readFileSync(new URL(f, TRACE_DIR));
    const kinds = new Set();
    for (const file of files) {
      const bytes = read(file);
      const raw = wasmParse(bytes);
      kinds.add(raw.header);
      const trace = parseTrace(bytes, { name: file });
      expect(trace.header, file).toBe(raw.header);
      expect(trace.ops.length, file).toBe(raw.lines.length);
      const answer = (await readAnswer({ bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), name: file })).message;
      expect(answer.ok, file).toBe(true);
      expect(decodeOps(answer.ops), file).toEqual(recordedOps(trace));
      expect([...loadSource({ kind: "file", name: file, text: bytes.toString("utf8") }).ops], file).toEqual([...raw.ops]);
    }
    expect([...kinds].sort()).toEqual(["classic", "short"]);
    // The two variants of short1 hold the same operations, at lines 2 apart.
    const classic = parseTrace(read("short1-classic.rep"));
    const short = parseTrace(read("short1-bal.rep"));
    expect(classic.ops.map(({ line, ...op }) => op)).toEqual(short.ops.map(({ line, ...op }) => op));
    expect(classic.ops[0].line).toBe(short.ops[0].line + 2);
  });
});
