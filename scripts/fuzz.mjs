#!/usr/bin/env node
// `npm run fuzz`: a short run of every cargo-fuzz target in crate/fuzz/
// (about 2 minutes of fuzzing in total), installing cargo-fuzz when missing.
//
//   npm run fuzz                              every target, 20 s each
//   npm run fuzz -- heap_ops --seconds 600    one target, ten minutes
//   npm run fuzz -- --jobs 2                  two targets at a time (libFuzzer
//                                             runs each on one thread)
//
// Needs the nightly toolchain (`rustup toolchain install nightly`). A crash
// stops the run with a non-zero exit; the input is saved under
// crate/fuzz/artifacts/<target>/ and `cargo +nightly fuzz run <target> <file>`
// (from crate/) replays it.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const TARGETS = ["heap_ops", "heap_corrupt", "trace_parse", "global_fixed", "lean_ops", "kernel_ops"];
const crateDir = fileURLToPath(new URL("../crate/", import.meta.url));

function parseArgs(argv) {
  const targets = [];
  let seconds = Number(process.env.HEAPLAB_FUZZ_SECONDS ?? 20);
  let jobs = 1;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--seconds") seconds = Number(argv[++i]);
    else if (argv[i] === "--jobs") jobs = Number(argv[++i]);
    else if (TARGETS.includes(argv[i])) targets.push(argv[i]);
    else fail(`unknown argument '${argv[i]}': expected ${TARGETS.join(", ")} or --seconds N`);
  }
  if (!Number.isInteger(seconds) || seconds < 1) fail("--seconds takes a whole number of seconds, at least 1");
  if (!Number.isInteger(jobs) || jobs < 1) fail("--jobs takes a whole number, at least 1");
  return { targets: targets.length ? targets : TARGETS, seconds, jobs };
}

function fail(message) {
  console.error(`fuzz: ${message}`);
  process.exit(2);
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: crateDir, ...options });
  if (r.error) fail(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  return r.status;
}

/** The cargo-fuzz this project fuzzes with (`--locked` installs here). */
const CARGO_FUZZ_VERSION = "0.13.1";

function ensureToolchain() {
  const nightly = spawnSync("cargo", ["+nightly", "--version"], { encoding: "utf8" });
  if (nightly.status !== 0) fail("the nightly toolchain is missing: rustup toolchain install nightly");
  const fuzz = spawnSync("cargo", ["fuzz", "--version"], { encoding: "utf8" });
  if (fuzz.status !== 0 || fuzz.stdout.trim() !== `cargo-fuzz ${CARGO_FUZZ_VERSION}`) {
    console.log(`fuzz: installing cargo-fuzz ${CARGO_FUZZ_VERSION} (about 90 s, once)`);
    const args = ["install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--locked", "--force"];
    if (run("cargo", args) !== 0) fail("cargo install cargo-fuzz failed");
  }
}

/** Runs one target for `seconds`; resolves to { runs, cov, crashed }. */
function fuzz(target, seconds) {
  return new Promise((resolve) => {
    const args = ["+nightly", "fuzz", "run", target, "--", `-max_total_time=${seconds}`, "-print_final_stats=1"];
    const child = spawn("cargo", args, { cwd: crateDir, stdio: ["ignore", "inherit", "pipe"] });
    let runs = 0;
    let cov = 0;
    let crashed = false;
    let tail = "";
    let pending = ""; // a line cut between two chunks
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      tail = (tail + chunk).slice(-20000);
      const lines = (pending + chunk).split("\n");
      pending = lines.pop();
      for (const line of lines) {
        const stat = /^#(\d+)\s.*cov: (\d+)/.exec(line);
        if (stat) {
          runs = Number(stat[1]);
          cov = Number(stat[2]);
        }
        const done = /^Done (\d+) runs/.exec(line);
        if (done) runs = Number(done[1]);
        if (/panicked|deadly signal|ERROR: libFuzzer/.test(line)) crashed = true;
        if (crashed || /^#\d+\s+(INITED|DONE|pulse)/.test(line)) process.stdout.write(`${target}: ${line}\n`);
      }
    });
    child.on("close", (code) => {
      if (code !== 0) {
        crashed = true;
        process.stdout.write(tail.split("\n").slice(-40).join("\n") + "\n");
      }
      resolve({ runs, cov, crashed });
    });
  });
}

const { targets, seconds, jobs } = parseArgs(process.argv.slice(2));
ensureToolchain();
console.log(`fuzz: building ${targets.join(", ")}`);
// Every target in one cargo run when all are asked for: one build graph,
// the shared crates compiled once and the targets linked in parallel.
const builds = targets.length === TARGETS.length ? [[]] : targets.map((t) => [t]);
for (const build of builds) {
  if (run("cargo", ["+nightly", "fuzz", "build", ...build]) !== 0) fail(`building ${build.join(", ") || "the fuzz targets"} failed`);
}
// `jobs` targets at a time, in the order given; after a crash no new one
// starts (those running finish their time).
const results = [];
let next = 0;
let crashed = false;
async function worker() {
  while (next < targets.length && !crashed) {
    const target = targets[next++];
    console.log(`fuzz: ${target} for ${seconds} s`);
    const r = await fuzz(target, seconds);
    results.push({ target, ...r });
    if (r.crashed) crashed = true;
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, targets.length) }, worker));
results.sort((a, b) => targets.indexOf(a.target) - targets.indexOf(b.target));
console.log("\ntarget         executions  coverage  result");
for (const r of results) {
  console.log(`${r.target.padEnd(14)} ${String(r.runs).padStart(10)}  ${String(r.cov).padStart(8)}  ${r.crashed ? "CRASH (see crate/fuzz/artifacts/)" : "clean"}`);
}
process.exit(results.some((r) => r.crashed) ? 1 : 0);
