#!/usr/bin/env node
// Heaplab under real programs (the `preload` suite of `npm test`): builds the
// LD_PRELOAD library (crate/preload) and runs each program under glibc's
// malloc and then under Heaplab's lean heap with every policy, and requires
// the same output and exit status:
//
//   ls -lR /usr/share/doc
//   python3 -c "$(cat crate/preload/programs/workload.py)" (dicts, lists and
//     strings; PYTHONMALLOC=malloc, so that every object comes from malloc)
//   git log --stat (on this repository)
//   gcc -O2 -c crate/preload/programs/threads.c (the object file compared)
//   that program, linked, under the library: four threads allocating at once
//
// then records a program's calls with HEAPLAB_TRACE and reads the trace with
// Heaplab's own reader and replays it on a heap, and checks that a bad
// HEAPLAB_POLICY stops with a message and an unwritable HEAPLAB_TRACE does
// not stop the program. Prints one line per check and "N passed, M failed".
//
// Usage: node scripts/preload.mjs [--policies first-fit,segregated]
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
export const LIBRARY = join(root, "target", "release", "libheaplab_preload.so");
const ALL_POLICIES = ["first-fit", "next-fit", "best-fit", "worst-fit", "segregated"];

/** The Python workload (dicts, lists and strings): crate/preload/programs/workload.py, shared with the benchmark. */
export const PYTHON_WORKLOAD = readFileSync(join(root, "crate", "preload", "programs", "workload.py"), "utf8");

/** Python from the system (not a version manager's shim): /usr/bin/python3 when there is one. */
export const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

/** Builds the library (release; a few seconds when up to date). */
export function buildLibrary() {
  const r = spawnSync("cargo", ["build", "--release", "--quiet", "-p", "heaplab-preload"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error("cargo build -p heaplab-preload failed");
  return LIBRARY;
}

/** Runs a program; `preload` is null (glibc) or `{ policy, trace }`. */
export function runProgram(cmd, args, { preload = null, env = {}, cwd = root } = {}) {
  const extra = preload ? { LD_PRELOAD: LIBRARY, HEAPLAB_POLICY: preload.policy, ...(preload.trace ? { HEAPLAB_TRACE: preload.trace } : {}) } : {};
  // PYTHONMALLOC=malloc: Python's small objects too come from malloc (not its own arenas).
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, PYTHONHASHSEED: "0", PYTHONMALLOC: "malloc", LC_ALL: "C", ...env, ...extra }, maxBuffer: 256 << 20 });
  if (r.error) throw new Error(r.error.code === "ENOENT" ? `${cmd} is not installed (.ci/run installs it; or apt-get install it)` : `${cmd}: ${r.error.message}`);
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.toString() };
}

async function main() {
  const arg = process.argv.indexOf("--policies");
  const policies = arg > 0 ? process.argv[arg + 1].split(",") : ALL_POLICIES;
  const unknown = policies.filter((p) => !ALL_POLICIES.includes(p));
  if (unknown.length) {
    console.error(`preload: not a policy: ${unknown.join(", ")} (${ALL_POLICIES.join(", ")})`);
    process.exit(2);
  }
  let passed = 0;
  let failed = 0;
  const check = (name, ok, detail = "") => {
    console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
    ok ? passed++ : failed++;
  };
  const attempt = (name, fn) => {
    try {
      fn();
    } catch (error) {
      check(name, false, error.message);
    }
  };

  buildLibrary();
  const work = mkdtempSync(join(tmpdir(), "heaplab-preload-"));
  const threadsC = join(root, "crate", "preload", "programs", "threads.c");
  const threadsBin = join(work, "threads");
  const programs = [
    { name: "ls -lR /usr/share/doc", cmd: "ls", args: ["-lR", "/usr/share/doc"] },
    { name: "python3 workload", cmd: PYTHON, args: ["-c", PYTHON_WORKLOAD] },
    { name: "git log --stat", cmd: "git", args: ["--no-pager", "log", "--stat"] },
    { name: "gcc -O2 -c threads.c", cmd: "gcc", args: ["-O2", "-c", threadsC, "-o", "OUT"], output: "OUT" },
    { name: "threads (4 at once)", cmd: threadsBin, args: [], before: () => runProgram("gcc", ["-O2", "-pthread", threadsC, "-o", threadsBin]) },
  ];
  for (const p of programs) {
    attempt(p.name, () => {
      if (p.before && p.before().status !== 0) throw new Error("could not build it");
      const outFile = (tag) => join(work, `${tag}.out`);
      const args = (tag) => p.args.map((a) => (a === "OUT" ? outFile(tag) : a));
      const result = (run, tag) => ({ ...run, stdout: p.output ? readFileSync(outFile(tag)) : run.stdout });
      const glibc = result(runProgram(p.cmd, args("glibc")), "glibc");
      if (glibc.status !== 0) throw new Error(`fails under glibc too (status ${glibc.status}): ${glibc.stderr.slice(0, 300)}`);
      for (const policy of policies) {
        const ours = result(runProgram(p.cmd, args(policy), { preload: { policy } }), policy);
        const same = ours.status === glibc.status && ours.stdout.equals(glibc.stdout);
        check(`${p.name} under ${policy}`, same, same ? `${ours.stdout.length} bytes of output as glibc's` : `status ${ours.status ?? ours.signal}, ${ours.stdout.length} vs ${glibc.stdout.length} bytes; ${ours.stderr.slice(0, 300)}`);
      }
    });
  }

  // A trace recorded from a real program reads and replays as Heaplab's own.
  attempt("HEAPLAB_TRACE", () => {
    const trace = join(work, "python.rep");
    const run = runProgram(PYTHON, ["-c", PYTHON_WORKLOAD], { preload: { policy: "segregated", trace } });
    const glibc = runProgram(PYTHON, ["-c", PYTHON_WORKLOAD]);
    check("a traced run gives the same output", run.status === 0 && run.stdout.equals(glibc.stdout));
    return traceChecks(trace, check);
  });

  attempt("bad variables", () => {
    const bad = runProgram("ls", ["/"], { preload: { policy: "fastest-fit" } });
    check("HEAPLAB_POLICY=fastest-fit stops with a message", bad.status === 127 && /HEAPLAB_POLICY=fastest-fit is not a policy/.test(bad.stderr) && bad.stdout.length === 0, bad.stderr.trim());
    const glibc = runProgram("ls", ["/"]);
    const lost = runProgram("ls", ["/"], { preload: { policy: "best-fit", trace: "/nonexistent-dir/t.rep" } });
    check("an unwritable HEAPLAB_TRACE is said and the program runs", lost.status === 0 && lost.stdout.equals(glibc.stdout) && /cannot create this file/.test(lost.stderr), lost.stderr.trim());
  });

  await pendingTrace;
  rmSync(work, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

let pendingTrace = Promise.resolve();

/** Reads a recorded trace with Heaplab's `.rep` reader (wasm) and replays it on a heap. */
function traceChecks(path, check) {
  pendingTrace = (async () => {
    const { init, Heap } = await import("../web/src/heaplab.js");
    const { parseTrace } = await import("../web/src/trace.js");
    const { toTriples } = await import("../web/src/compare/generators.js");
    await init();
    const text = readFileSync(path, "utf8");
    try {
      const trace = parseTrace(text, { name: "python.rep" });
      const [ids, ops] = text.split("\n", 2).map((l) => Number(l.trim()));
      check("the recorded trace reads (Heaplab's .rep reader)", trace.ops.length === ops && trace.ids === ids && ops > 50_000, `${ops} operations on ${ids} ids`);
      const heap = new Heap({ policy: "first-fit", maxBytes: 1 << 30 });
      heap.run(toTriples(trace));
      const s = heap.stats();
      check("the recorded trace replays on a heap and ends as the program left it", s.operations === ops && s.liveBlocks <= ids, `${s.liveBlocks} blocks still live at exit, peak ${s.peakLiveRequested} bytes requested`);
      heap.dispose();
    } catch (error) {
      check("the recorded trace reads and replays", false, `${error.message}${error.line ? ` (line ${error.line})` : ""}`);
    }
  })();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
