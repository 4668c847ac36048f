#!/usr/bin/env node
// Runs every suite, in order: Rust (cargo test; the lean heap's tests again
// with feature `small`; the core built without std, in both builds), the
// benchmark's wasm modules (built, run briefly, measured), the Node
// and front-end unit
// tests (Vitest, incl. the built wasm package loaded in Node), the production
// build, and the end-to-end tests in headless Chromium against that build.
// Every suite runs even when an earlier one fails; the exit status says whether
// all passed. `npm test` runs scripts/setup.mjs first.
import { spawnSync } from "node:child_process";
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
];

const results = [];
for (const [name, cmd, args] of SUITES) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n=== ${name}: ${cmd} ${args.join(" ")}`);
  const started = Date.now();
  const run = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push({ name, ok: run.status === 0, seconds });
  if (name === "build" && run.status !== 0) break; // e2e needs the build
}

console.log("\n=== summary");
const width = Math.max(...results.map((r) => r.name.length));
for (const r of results) console.log(`${r.ok ? "pass" : "FAIL"}  ${r.name.padEnd(width)} ${r.seconds}s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
