#!/usr/bin/env node
// Runs every suite, in order: Rust (cargo test; the lean heap's tests again
// with feature `small`; the core built without std, in both builds), the
// benchmark's wasm modules (built, run briefly, measured), the Node
// and front-end unit
// tests (Vitest, incl. the built wasm package loaded in Node), the production
// build, and the end-to-end tests in headless Chromium against that build;
// then the core's unit tests and the engine's model tests under Miri
// (installing the component when missing), and every fuzz target for a
// short fixed time (scripts/fuzz.mjs, installing a pinned cargo-fuzz).
// Every suite runs even when an earlier one fails; the exit status says whether
// all passed. `npm test` runs scripts/setup.mjs first.
import { execFileSync, spawnSync } from "node:child_process";
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
  ["unit", "npx", ["vitest", "run"]],
  ["build", "npx", ["vite", "build", "--logLevel", "warn"]],
  ["e2e", "npx", ["playwright", "test", "-c", "web/e2e/playwright.config.js"]],
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
  const run = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push({ name, ok: run.status === 0, seconds });
  if (name === "build" && run.status !== 0) skipE2e = true;
}

console.log("\n=== summary");
const width = Math.max(...results.map((r) => r.name.length));
for (const r of results) console.log(`${r.ok ? "pass" : "FAIL"}  ${r.name.padEnd(width)} ${r.seconds}s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
