#!/usr/bin/env node
// Records the malloc / free / realloc calls of a real program as a malloc-lab
// `.rep` trace, with Valgrind's `--trace-malloc=yes` (no LD_PRELOAD shim, no
// rebuild of the program):
//
//   node scripts/record-trace.mjs [--limit N] [--out file.rep] -- program args...
//   valgrind --trace-malloc=yes program 2>log; node scripts/record-trace.mjs --from log
//
// Valgrind prints one line per call: `--pid-- malloc(24) = 0x4A5B040`,
// `free(0x4A5B040)`, `realloc(0x…,48) = 0x…` (and `realloc(0x0,48)malloc(48) = 0x…`
// for realloc(NULL)), `calloc(4,8) = 0x…`, `memalign(…)`, C++'s `__builtin_new(…)`.
// Addresses become malloc-lab ids (the smallest id not live, as the course's
// traces number them); free(NULL) is dropped, size 0 becomes 1 (Heaplab
// rejects 0), a free of an address never seen (allocated before tracing began)
// is dropped. After `--limit` operations the blocks still live are freed, so
// the trace ends with an empty heap.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const CALL = /^--\d+-- (malloc|calloc|realloc|free|memalign|__builtin_new|__builtin_vec_new|__builtin_delete|__builtin_vec_delete)\(([^)]*)\)(?:\w+\(([^)]*)\))?(?: = (0x[0-9A-Fa-f]+))?/;

/** Converts Valgrind `--trace-malloc=yes` output to trace operations `{ op, id, size }`. */
export function fromValgrind(text, { limit = Infinity } = {}) {
  const ops = [];
  const idOf = new Map(); // address -> id
  const freeIds = []; // ids not live, smallest first
  let ids = 0;
  const take = () => {
    if (freeIds.length) {
      freeIds.sort((a, b) => a - b);
      return freeIds.shift();
    }
    return ids++;
  };
  const release = (address) => {
    const id = idOf.get(address);
    idOf.delete(address);
    freeIds.push(id);
    return id;
  };
  for (const line of text.split("\n")) {
    if (ops.length >= limit) break;
    const m = CALL.exec(line);
    if (!m) continue;
    const [, fn, args, , result] = m;
    const numbers = args.split(",").map((a) => Number(a.trim()));
    const address = result ? Number(result) : 0;
    if (fn === "free" || fn.startsWith("__builtin_delete") || fn === "__builtin_vec_delete") {
      if (numbers[0] && idOf.has(numbers[0])) ops.push({ op: "f", id: release(numbers[0]) });
    } else if (fn === "realloc") {
      const [old, size] = numbers;
      if (!address) continue;
      if (!old || !idOf.has(old)) {
        const id = take();
        idOf.set(address, id);
        ops.push({ op: "a", id, size: Math.max(1, size) });
      } else {
        const id = idOf.get(old);
        idOf.delete(old);
        idOf.set(address, id);
        ops.push({ op: "r", id, size: Math.max(1, size) });
      }
    } else if (address) {
      const size = fn === "calloc" ? numbers[0] * numbers[1] : fn === "memalign" ? numbers[1] : numbers[0];
      const id = take();
      idOf.set(address, id);
      ops.push({ op: "a", id, size: Math.max(1, size) });
    }
  }
  for (const address of [...idOf.keys()]) ops.push({ op: "f", id: release(address) });
  return { ops, ids };
}

function main(argv) {
  const dash = argv.indexOf("--");
  const flags = dash < 0 ? argv : argv.slice(0, dash);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  const flag = (name) => {
    const i = flags.indexOf(name);
    return i < 0 ? undefined : flags[i + 1];
  };
  const limit = Number(flag("--limit") ?? Infinity);
  const out = flag("--out");
  let text;
  if (flag("--from")) text = readFileSync(flag("--from"), "utf8");
  else if (command.length) {
    const run = spawnSync("valgrind", ["--trace-malloc=yes", ...command], { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "ignore", "pipe"] });
    if (run.error) throw new Error(`could not run valgrind (apt-get install valgrind): ${run.error.message}`);
    text = run.stderr;
  } else {
    console.error("usage: node scripts/record-trace.mjs [--limit N] [--out file.rep] (--from valgrind.log | -- program args...)");
    process.exit(2);
  }
  const { ops, ids } = fromValgrind(text, { limit });
  const lines = [ids, ops.length, ...ops.map((op) => (op.op === "f" ? `f ${op.id}` : `${op.op} ${op.id} ${op.size}`))];
  const rep = `${lines.join("\n")}\n`;
  if (out) writeFileSync(out, rep);
  else process.stdout.write(rep);
  console.error(`${ops.length} operations on ${ids} ids${out ? ` written to ${out}` : ""}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
