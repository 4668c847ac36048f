#!/usr/bin/env node
// Runs every suite, in order: Rust (cargo test; the lean heap's tests again
// with feature `small`; the core built without std, in both builds), the
// benchmark's wasm modules (built, run briefly, measured), real programs
// under the LD_PRELOAD library and the benchmark's real-program row, the Node
// and front-end unit
// tests (Vitest, incl. the built wasm package loaded in Node), the production
// build, and the end-to-end tests in headless Chromium against that build;
// the npm package, the docs-tool recipes and the crate as their users get
// them (pack, recipes, crate);
// then the core's unit tests and the engine's model tests under Miri
// (installing the component when missing), and every fuzz target for a
// short fixed time (scripts/fuzz.mjs, installing a pinned cargo-fuzz).
// Every suite runs even when an earlier one fails; the exit status says whether
// all passed. `npm test` runs scripts/setup.mjs first.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const only = process.argv.slice(2);

const SUITES = [
  ["rust", "cargo", ["test", "--workspace", "--quiet"]],
  // The lean heap compiled for code size passes the lean heap's tests.
  ["small", "cargo", ["test", "-p", "heaplab", "--features", "small", "--test", "all", "--quiet", "lean"]],
  // The core builds without std, as a kernel or a wasm program uses it.
  ["no_std", "cargo", ["build", "-p", "heaplab", "--target", "wasm32-unknown-unknown", "--quiet"]],
  ["no_std-small", "cargo", ["build", "-p", "heaplab", "--features", "small", "--target", "wasm32-unknown-unknown", "--quiet"]],
  ["bench", "node", ["scripts/bench.mjs", "--smoke"]],
  // Real programs (ls, python3, git, gcc, a threaded C program) under the
  // LD_PRELOAD library with every policy, against glibc; a recorded trace.
  ["preload", "node", ["scripts/preload.mjs"]],
  // The benchmark's real-program row prints (one quick run each).
  ["bench-program", "node", ["scripts/bench-program.mjs"]],
  ["unit", "npx", ["vitest", "run"]],
  ["build", "npx", ["vite", "build", "--logLevel", "warn"]],
  ["e2e", "npx", ["playwright", "test", "-c", "web/e2e/playwright.config.js"]],
  // The npm package as a user gets it: packed, installed outside the
  // repository, a plain page and a Vite app in Chromium, the types (tsc).
  ["pack", "node", ["scripts/pack-test.mjs"]],
  // Each docs tool's example (mdBook, Docusaurus, Starlight, a plain page)
  // built with the packed package and checked in Chromium; installs each
  // tool once per machine (scratch folders under the system's tmp).
  ["recipes", "node", ["scripts/recipes-test.mjs"]],
  // The crate as a dependency: cargo package, cargo doc with warnings
  // denied (native and wasm32), the examples run (one as a wasm module).
  ["crate", "node", ["scripts/crate-test.mjs"]],
  // Undefined behaviour in the core: its unit tests, the model tests of both
  // faces and the corruption rounds, under Miri with sizes reduced by
  // `cfg(miri)`. Isolation off: proptest reads its saved regressions.
  ["miri", "cargo", ["+nightly", "miri", "test", "-p", "heaplab", "--lib", "--quiet"], { miri: true }],
  ["miri-models", "cargo", ["+nightly", "miri", "test", "-p", "heaplab", "--test", "all", "--quiet", "--", "faces::", "corrupt::"], { miri: true }],
  // Every fuzz target, 20 s each; prints each target's execution count.
  ["fuzz", "node", ["scripts/fuzz.mjs", "--seconds", process.env.HEAPLAB_FUZZ_SECONDS ?? "20"]],
];

/** Adds Miri to the nightly toolchain when it is missing (about 30 s, once). */
function ensureMiri() {
  let installed = "";
  try {
    installed = execFileSync("rustup", ["+nightly", "component", "list", "--installed"], { encoding: "utf8" });
  } catch {
    return false;
  }
  const have = (c) => installed.split("\n").some((line) => line.startsWith(c));
  if (have("miri") && have("rust-src")) return true;
  console.log("installing the Miri component: rustup +nightly component add miri rust-src");
  return spawnSync("rustup", ["+nightly", "component", "add", "miri", "rust-src"], { stdio: "inherit" }).status === 0;
}

/** Lines that name what failed, in any suite's output: Playwright's ✘ lines,
 * cargo's failed tests and panics, Vitest's FAIL lines, fuzz findings. */
const FAILURE = /✘|^\s*\d+\) \[|^test .* FAILED$|panicked at|^\s*FAIL\s|^---- .* stdout ----|crash|deadly signal/;

/**
 * Runs one suite with its output streamed through, keeping its last lines and
 * the lines that name a failure, so the summary at the end (which is what a CI
 * log's tail shows) can say which test failed and why.
 */
function runSuite(cmd, args, env) {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ["inherit", "pipe", "pipe"] });
    const tail = [];
    const failures = [];
    let partial = "";
    const take = (chunk, stream) => {
      stream.write(chunk);
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop();
      for (const line of lines) {
        const clean = line.replace(/\x1b\[[0-9;]*m/g, "");
        tail.push(clean);
        if (tail.length > 25) tail.shift();
        if (FAILURE.test(clean) && failures.length < 40) failures.push(clean.trim());
      }
    };
    child.stdout.on("data", (c) => take(c, process.stdout));
    child.stderr.on("data", (c) => take(c, process.stderr));
    child.on("error", () => resolvePromise({ status: 1, tail, failures }));
    child.on("close", (code) => resolvePromise({ status: code ?? 1, tail, failures }));
  });
}

const results = [];
let skipE2e = false; // e2e needs the build
for (const [name, cmd, args, options = {}] of SUITES) {
  if (only.length && !only.includes(name)) continue;
  if (name === "e2e" && skipE2e) continue;
  console.log(`\n=== ${name}: ${cmd} ${args.join(" ")}`);
  const started = Date.now();
  const env = { ...process.env };
  if (options.miri) {
    if (!ensureMiri()) {
      results.push({ name, ok: false, seconds: "0.0" });
      continue;
    }
    env.MIRIFLAGS = `-Zmiri-disable-isolation ${process.env.MIRIFLAGS ?? ""}`.trim();
  }
  const { status, tail, failures } = await runSuite(cmd, args, env);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push({ name, ok: status === 0, seconds, tail, failures });
  if (name === "build" && status !== 0) skipE2e = true;
}

console.log("\n=== summary");
const width = Math.max(...results.map((r) => r.name.length));
for (const r of results) console.log(`${r.ok ? "pass" : "FAIL"}  ${r.name.padEnd(width)} ${r.seconds}s`);
// What failed, named again at the very end: a CI log is read from its tail.
for (const r of results.filter((r) => !r.ok || r.failures?.length)) {
  if (r.ok) {
    // Playwright retries a failed test once under CI: a pass on the retry is
    // a flaky test, named here so that it gets fixed rather than forgotten.
    console.log(`\n--- ${r.name} passed, but these failed at least once:`);
    for (const line of r.failures.slice(-25)) console.log(`  ${line}`);
    continue;
  }
  console.log(`\n--- ${r.name} failed:`);
  const lines = r.failures?.length ? r.failures : (r.tail ?? []).filter((l) => l.trim());
  for (const line of lines.slice(-25)) console.log(`  ${line}`);
}
process.exit(results.every((r) => r.ok) ? 0 : 1);
