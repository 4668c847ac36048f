#!/usr/bin/env node
// Runs every suite: Rust (cargo test; the lean heap's tests again with
// feature `small`; the core built without std, in both builds), the
// benchmark's wasm modules (built, run briefly, measured), real programs
// under the LD_PRELOAD library and the benchmark's real-program row, the Node
// and front-end unit tests (Vitest, incl. the built wasm package loaded in
// Node), the production build, and the end-to-end tests in headless Chromium
// against that build; the npm package, the docs-tool recipes and the crate as
// their users get them (pack, recipes, crate); the core's unit tests and the
// engine's model tests under Miri (installing the component when missing),
// and every fuzz target for a short fixed time (scripts/fuzz.mjs, installing
// a pinned cargo-fuzz).
//
// Two lanes run side by side, each suite after the other within its lane:
//   main  rust … crate, in the order below (most of them use both cores);
//   side  miri, miri-models, fuzz: Miri interprets on one thread and each
//         fuzz target runs on one, so they fill the core that the main lane
//         leaves idle (a browser waiting on a page, npm waiting on the
//         network, a single-threaded link).
// Before either lane starts, the network-bound installs that later suites
// need begin in the background: the Miri component and the recipes' npm
// packages (Docusaurus, Starlight) and mdBook; the suite that needs one
// waits for it.
// Every line a suite prints is prefixed with its name (`[e2e] …`), since
// two suites print at once. Every suite runs even when an earlier one fails;
// the summary at the end names each failed suite's failing lines, and the
// exit status says whether all passed. `npm test` runs scripts/setup.mjs first.
//
// Usage: node scripts/test.mjs [--serial] [SUITE…]
//   --serial (or HEAPLAB_TEST_SERIAL=1): one suite at a time, lanes one after
//   the other (for a machine with one core, or to time a suite alone).
import { execFileSync, spawn } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const argv = process.argv.slice(2);
const serial = argv.includes("--serial") || process.env.HEAPLAB_TEST_SERIAL === "1";
const only = argv.filter((a) => a !== "--serial");

const SUITES = [
  ["rust", "cargo", ["test", "--workspace", "--quiet"]],
  // The engine compiled for code size (feature `small`) passes the
  // integration tests, both faces; the few about speed-build paths it does
  // not have (quick lists, the slide, the wilderness) are compiled out there.
  ["small", "cargo", ["test", "-p", "heaplab", "--features", "small", "--test", "all", "--quiet"]],
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
  ["recipes", "node", ["scripts/recipes-test.mjs"], { after: "recipes-install" }],
  // The crate as a dependency: cargo package, cargo doc with warnings
  // denied (native and wasm32), the examples run (one as a wasm module).
  ["crate", "node", ["scripts/crate-test.mjs"]],
  // Undefined behaviour in the core: its unit tests, the model tests of both
  // faces and the corruption rounds, under Miri with sizes reduced by
  // `cfg(miri)`. Isolation off: proptest reads its saved regressions.
  ["miri", "cargo", ["+nightly", "miri", "test", "-p", "heaplab", "--lib", "--quiet"], { side: true, miri: true, after: "miri-install" }],
  ["miri-models", "cargo", ["+nightly", "miri", "test", "-p", "heaplab", "--test", "all", "--quiet", "--", "faces::", "corrupt::"], { side: true, miri: true, after: "miri-install" }],
  // Every fuzz target, 20 s each, two at a time (each fuzzes on one
  // thread); prints each target's execution count.
  ["fuzz", "node", ["scripts/fuzz.mjs", "--seconds", process.env.HEAPLAB_FUZZ_SECONDS ?? "20", "--jobs", serial ? "1" : "2"], { side: true }],
];

/** Lines that name what failed, in any suite's output: Playwright's ✘ lines,
 * cargo's failed tests and panics, Vitest's FAIL lines, fuzz findings. */
// (A fuzz finding is fuzz.mjs's "CRASH" or libFuzzer's crash-<hash> file,
// not any word "crash": the corruption tests' names hold one.)
const FAILURE = /✘|^\s*\d+\) \[|^test .* FAILED$|panicked at|^\s*FAIL\s|^---- .* stdout ----|CRASH|crash-[0-9a-f]{8,}|deadly signal/;

/**
 * Runs a command with each line of its output prefixed by `[label] `,
 * keeping its last lines and the lines that name a failure, so the summary
 * at the end (which is what a CI log's tail shows) can say which test failed
 * and why. Resolves to `{ status, tail, failures }`.
 */
function runPrefixed(label, cmd, args, env = process.env) {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    const tail = [];
    const failures = [];
    const partial = { out: "", err: "" };
    const emit = (line, stream) => {
      stream.write(`[${label}] ${line}\n`);
      const clean = line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
      tail.push(clean);
      if (tail.length > 25) tail.shift();
      if (FAILURE.test(clean) && failures.length < 40) failures.push(clean.trim());
    };
    const take = (chunk, key, stream) => {
      // A carriage return redraws a line in a terminal: here it ends one.
      const lines = (partial[key] + chunk.toString()).split(/\r?\n|\r/);
      partial[key] = lines.pop();
      for (const line of lines) emit(line, stream);
    };
    child.stdout.on("data", (c) => take(c, "out", process.stdout));
    child.stderr.on("data", (c) => take(c, "err", process.stderr));
    let done = false;
    const finish = (status) => {
      if (done) return;
      done = true;
      if (partial.out) emit(partial.out, process.stdout);
      if (partial.err) emit(partial.err, process.stderr);
      resolvePromise({ status, tail, failures });
    };
    child.on("error", (error) => {
      emit(`could not start ${cmd}: ${error.message}`, process.stderr);
      finish(1);
    });
    child.on("close", (code) => finish(code ?? 1));
  });
}

/** Is the Miri component (with rust-src) on the nightly toolchain? */
function haveMiri() {
  try {
    const installed = execFileSync("rustup", ["+nightly", "component", "list", "--installed"], { encoding: "utf8" });
    const have = (c) => installed.split("\n").some((line) => line.startsWith(c));
    return have("miri") && have("rust-src");
  } catch {
    return false;
  }
}

/**
 * The background installs, started before the lanes: each resolves to true
 * when done (a failed one resolves to false; the suite that waits for it
 * then reports the failure, or installs again itself).
 */
const PREPARE = {
  // Miri and the standard library's sources (about 30 s, once).
  "miri-install": () => (haveMiri() ? Promise.resolve(true) : runPrefixed("miri-install", "rustup", ["+nightly", "component", "add", "miri", "rust-src"]).then((r) => r.status === 0 && haveMiri())),
  // Docusaurus's and Starlight's npm packages and mdBook, into the scratch
  // folders the recipes suite builds in (network-bound: minutes on a new machine).
  "recipes-install": () => runPrefixed("recipes-install", "node", ["scripts/recipes-test.mjs", "--install-only"]).then((r) => r.status === 0),
};

const chosen = SUITES.filter(([name]) => !only.length || only.includes(name));
const started = Date.now();
const preparing = new Map();
for (const [, , , options = {}] of chosen) {
  if (options.after && !preparing.has(options.after)) preparing.set(options.after, PREPARE[options.after]());
}

const results = new Map();
let buildFailed = false; // e2e needs the build

async function runSuite([name, cmd, args, options = {}]) {
  if (name === "e2e" && buildFailed) {
    console.log(`[e2e] not run: the build failed`);
    results.set(name, { ok: false, seconds: "0.0", tail: ["not run: the build failed"] });
    return;
  }
  const env = { ...process.env };
  if (options.after) {
    const ready = await preparing.get(options.after);
    if (!ready && options.miri) {
      results.set(name, { ok: false, seconds: "0.0", tail: ["the Miri component could not be installed: rustup +nightly component add miri rust-src"] });
      return;
    }
  }
  if (options.miri) env.MIRIFLAGS = `-Zmiri-disable-isolation ${process.env.MIRIFLAGS ?? ""}`.trim();
  console.log(`[${name}] === ${cmd} ${args.join(" ")}   (at ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  const t0 = Date.now();
  const { status, tail, failures } = await runPrefixed(name, cmd, args, env);
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(`[${name}] === ${status === 0 ? "passed" : `FAILED (exit ${status})`} in ${seconds} s`);
  results.set(name, { ok: status === 0, seconds, tail, failures });
  if (name === "build" && status !== 0) buildFailed = true;
}

async function runLane(suites) {
  for (const suite of suites) await runSuite(suite);
}

const main = chosen.filter(([, , , o = {}]) => !o.side);
const side = chosen.filter(([, , , o = {}]) => o.side);
if (serial) await runLane([...main, ...side]);
else await Promise.all([runLane(main), runLane(side)]);
await Promise.all(preparing.values());

console.log(`\n=== summary (${serial ? "one suite at a time" : "lanes main and side side by side"}; ${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
const ordered = chosen.map(([name]) => [name, results.get(name)]).filter(([, r]) => r);
const width = Math.max(...ordered.map(([name]) => name.length));
for (const [name, r] of ordered) console.log(`${r.ok ? "pass" : "FAIL"}  ${name.padEnd(width)} ${r.seconds}s`);
// What failed, named again at the very end: a CI log is read from its tail.
for (const [name, r] of ordered.filter(([, r]) => !r.ok || r.failures?.length)) {
  if (r.ok) {
    // Playwright retries a failed test once under CI: a pass on the retry is
    // a flaky test, named here so that it gets fixed rather than forgotten.
    console.log(`\n--- ${name} passed, but these failed at least once:`);
    for (const line of r.failures.slice(-25)) console.log(`  ${line}`);
    continue;
  }
  console.log(`\n--- ${name} failed:`);
  const lines = r.failures?.length ? r.failures : (r.tail ?? []).filter((l) => l.trim());
  for (const line of lines.slice(-25)) console.log(`  ${line}`);
}
process.exit(ordered.length === chosen.length && ordered.every(([, r]) => r.ok) ? 0 : 1);
