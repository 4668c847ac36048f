#!/usr/bin/env node
// Suite `crate`: the crate heaplab as someone who depends on it gets it.
//   1. `cargo package -p heaplab` (builds the packaged crate on its own, as
//      crates.io would), and the package holds the README, the sources and the
//      examples, and nothing of the tests, fuzz targets or benchmark;
//   2. `cargo doc -p heaplab --no-deps` with every feature and warnings denied
//      (missing docs are errors too: #![deny(missing_docs)]);
//   3. the README is the crate's documentation (its examples run as doctests
//      in suite `rust`);
//   4. the examples run: checked_heap, global_fixed, policies natively, and
//      wasm_global built for wasm32 and called from Node (its global
//      allocator is heaplab over wasm memory).
// Prints "N passed, N failed".
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Report, assert } from "./browser-check.mjs";
import { root, run, output } from "./scratch.mjs";

const report = new Report();

await report.check("cargo package -p heaplab: packaged, built on its own, with README and examples only", async () => {
  run("cargo", ["package", "-p", "heaplab", "--allow-dirty", "--quiet"]);
  const files = output("cargo", ["package", "-p", "heaplab", "--allow-dirty", "--list"]).trim().split("\n");
  for (const file of ["README.md", "Cargo.toml", "src/lib.rs", "examples/global_fixed.rs", "examples/wasm_global.rs"]) assert(files.includes(file), `${file} is packaged (${files.length} files)`);
  const strays = files.filter((f) => /^(tests|fuzz|bench|trace|wasm)\//.test(f));
  assert(strays.length === 0, `nothing of the tests, fuzz targets or benchmark: ${strays.join(", ")}`);
});

await report.check("cargo doc -p heaplab --all-features with warnings denied, native and wasm32", async () => {
  // Both targets docs.rs builds (the wasm page source exists only on wasm32).
  run("cargo", ["doc", "-p", "heaplab", "--no-deps", "--all-features", "--quiet", "--target", "wasm32-unknown-unknown"], { env: { RUSTDOCFLAGS: "-D warnings" } });
  run("cargo", ["doc", "-p", "heaplab", "--no-deps", "--all-features", "--quiet"], { env: { RUSTDOCFLAGS: "-D warnings" } });
  const lib = readFileSync(join(root, "crate", "src", "lib.rs"), "utf8");
  assert(lib.includes('#![doc = include_str!("../README.md")]'), "the crate docs are the README");
  assert(lib.includes("#![deny(missing_docs)]"), "missing docs are errors");
  const page = readFileSync(join(root, "target", "doc", "heaplab", "index.html"), "utf8");
  assert(page.includes("Drawbacks"), "the README's Drawbacks section is on the crate's doc page");
});

await report.check("the native examples run and say what they show", async () => {
  const runExample = (name) => output("cargo", ["run", "-q", "-p", "heaplab", "--example", name]);
  assert(/free\(a\) twice: double-free/.test(runExample("checked_heap")), "checked_heap catches the double free");
  assert(/\d+ distinct words; \d+ blocks in use/.test(runExample("global_fixed")), "global_fixed ran on the static region");
  const policies = runExample("policies");
  assert(/FirstFit\s+malloc\(40\) lands in the 208-byte hole/.test(policies) && /BestFit\s+malloc\(40\) lands in the 56-byte hole/.test(policies), `policies: ${policies}`);
});

await report.check("wasm_global: a wasm module whose global allocator is heaplab, called from Node", async () => {
  run("cargo", ["build", "-q", "-p", "heaplab", "--example", "wasm_global", "--target", "wasm32-unknown-unknown", "--release"]);
  const bytes = readFileSync(join(root, "target", "wasm32-unknown-unknown", "release", "examples", "wasm_global.wasm"));
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const { sum_of_squares, heap_blocks, memory } = instance.exports;
  assert(sum_of_squares(1000) === 332_833_500n, "sum of squares below 1000");
  const pages = memory.buffer.byteLength / 65536;
  assert(sum_of_squares(200_000) === 2_666_646_666_700_000n, "a Vec of 200 000 u64 (1.6 MB): memory grew");
  assert(memory.buffer.byteLength / 65536 > pages, "the heap grew wasm memory");
  assert(heap_blocks() === 0, `every Vec freed: ${heap_blocks()} blocks in use`);
});

process.exit(report.close());
