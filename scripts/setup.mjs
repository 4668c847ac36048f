#!/usr/bin/env node
// Toolchain bootstrap shared by `npm start`, `npm test` and `npm run build`.
//
// Installs only what is missing, so a second run takes seconds. Steps 1 to 4
// run side by side (npm and rustup wait on the network while the two cargo
// installs compile), their lines prefixed with the step's name:
//   1. npm dependencies (npm ci), which include a working `wasm-opt` (binaryen);
//   2. the Rust targets wasm32-unknown-unknown and i686-unknown-linux-musl (rustup);
//   3. the wasm-bindgen CLI of exactly the version in Cargo.lock (cargo install);
//   4. wasm-pack of a pinned version (cargo install --locked; its npm package and
//      its own downloads fail here);
//   5. the wasm build itself (wasm-pack build), skipped when up to date;
//   6. the production allocators' wasm modules for the compare page and the
//      playground (the benchmark's modules of crate/bench/wasm/, with their
//      trace exports), copied to web/pkg/peers/, skipped when up to date;
//   7. lib/, the npm package's files (vite.lib.config.js), skipped when up to date.
//
// Usage: node scripts/setup.mjs [--no-wasm] [--force-wasm] [--force-lib]
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = new Set(process.argv.slice(2));
const cargoBin = join(process.env.CARGO_HOME ?? join(homedir(), ".cargo"), "bin");

// Tools installed by this script land in ~/.cargo/bin and node_modules/.bin; make
// sure both are found even when the caller's PATH lacks them.
process.env.PATH = [join(root, "node_modules", ".bin"), cargoBin, process.env.PATH].join(delimiter);

function log(message) {
  console.log(`[setup] ${message}`);
}

function run(cmd, cmdArgs, options = {}) {
  log(`$ ${cmd} ${cmdArgs.join(" ")}`);
  const result = spawnSync(cmd, cmdArgs, { stdio: "inherit", cwd: root, ...options });
  if (result.error) throw new Error(`${cmd} could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(" ")} failed with status ${result.status}`);
}

/**
 * As `run`, without waiting: resolves when the command succeeded, each line
 * it prints prefixed with `[setup:label]` (other steps print meanwhile).
 */
function runAsync(label, cmd, cmdArgs) {
  log(`$ ${cmd} ${cmdArgs.join(" ")}   (${label})`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, cmdArgs, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
      let partial = "";
      from.on("data", (chunk) => {
        const lines = (partial + chunk.toString()).split(/\r?\n|\r/);
        partial = lines.pop();
        for (const line of lines) to.write(`[setup:${label}] ${line}\n`);
      });
      from.on("end", () => partial && to.write(`[setup:${label}] ${partial}\n`));
    }
    child.on("error", (error) => reject(new Error(`${cmd} could not start: ${error.message}`)));
    child.on("close", (code) => (code === 0 ? resolvePromise() : reject(new Error(`${cmd} ${cmdArgs.join(" ")} failed with status ${code}`))));
  });
}

/** The first line a command prints, or null when it is missing or fails. */
function probe(cmd, cmdArgs) {
  try {
    return execFileSync(cmd, cmdArgs, { cwd: root, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return null;
  }
}

async function ensureNodeModules() {
  const lock = join(root, "package-lock.json");
  const installed = join(root, "node_modules", ".package-lock.json");
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  await runAsync("npm", "npm", ["ci", "--no-audit", "--no-fund"]);
}

/**
 * The Rust targets: wasm32 for the allocator in the browser, and a 32-bit
 * Linux one (musl: links without a 32-bit libc installed) on which the
 * production allocators' native replay has wasm32's pointer size, so its
 * figures are the compare page's (web/tests/peers.test.js).
 */
async function ensureTargets() {
  const targets = (probe("rustup", ["target", "list", "--installed"]) ?? "").split("\n");
  const missing = ["wasm32-unknown-unknown", "i686-unknown-linux-musl"].filter((t) => !targets.includes(t));
  if (missing.length) await runAsync("rustup", "rustup", ["target", "add", ...missing]);
}

/** The wasm-bindgen version pinned in Cargo.lock (the CLI must match it exactly). */
function lockedBindgenVersion() {
  const lock = readFileSync(join(root, "Cargo.lock"), "utf8");
  const match = lock.match(/name = "wasm-bindgen"\nversion = "([^"]+)"/);
  if (!match) throw new Error("Cargo.lock has no wasm-bindgen entry");
  return match[1];
}

async function ensureBindgenCli() {
  const version = lockedBindgenVersion();
  const have = probe("wasm-bindgen", ["--version"]);
  if (have && have.split(" ")[1] === version) return;
  // `--locked` fails here (a locked dependency is missing from the registry).
  await runAsync("wasm-bindgen", "cargo", ["install", "wasm-bindgen-cli", "--version", version, "--force"]);
}

/** The wasm-pack this project builds with (`--locked` installs here). */
const WASM_PACK_VERSION = "0.15.1";

async function ensureWasmPack() {
  if (probe("wasm-pack", ["--version"]) === `wasm-pack ${WASM_PACK_VERSION}`) return;
  await runAsync("wasm-pack", "cargo", ["install", "wasm-pack", "--version", WASM_PACK_VERSION, "--locked", "--force"]);
}

/** Newest modification time of any file under `dir` (recursively). */
function newest(dir) {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    time = Math.max(time, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return time;
}

function buildWasm() {
  const output = join(root, "web", "pkg", "heaplab_bg.wasm");
  const inputs = [
    join(root, "crate", "src"),
    join(root, "crate", "Cargo.toml"),
    join(root, "crate", "wasm", "src"),
    join(root, "crate", "wasm", "Cargo.toml"),
    join(root, "Cargo.lock"),
    join(root, "Cargo.toml"),
  ];
  const inputTime = Math.max(...inputs.map((p) => (statSync(p).isDirectory() ? newest(p) : statSync(p).mtimeMs)));
  if (!args.has("--force-wasm") && existsSync(output) && statSync(output).mtimeMs >= inputTime) {
    log("wasm package is up to date");
    return;
  }
  run("wasm-pack", [
    "build", "crate/wasm", "--release", "--target", "web", "--out-dir", "../../web/pkg", "--out-name", "heaplab",
    "--no-pack",
  ]);
}

/** The production allocators' modules: crate directory under crate/bench/wasm/ → file in web/pkg/peers/. */
const PEER_MODULES = ["talc", "rlsf", "dlmalloc", "lla", "buddy"];

function buildPeers() {
  const outDir = join(root, "web", "pkg", "peers");
  const wasmDir = join(root, "crate", "bench", "wasm");
  const inputs = [join(root, "crate", "peers"), join(wasmDir, "module.rs"), join(wasmDir, "Cargo.toml"), join(wasmDir, "Cargo.lock"), ...PEER_MODULES.map((m) => join(wasmDir, m))];
  const inputTime = Math.max(...inputs.map((p) => (statSync(p).isDirectory() ? newest(p) : statSync(p).mtimeMs)));
  const outputs = PEER_MODULES.map((m) => join(outDir, `${m}.wasm`));
  if (!args.has("--force-wasm") && outputs.every((o) => existsSync(o) && statSync(o).mtimeMs >= inputTime)) {
    log("production allocators' modules are up to date");
    return;
  }
  // The benchmark's target directory: `npm run bench` reuses these builds.
  const targetDir = join(root, "target", "wasm-bench");
  run("cargo", ["build", "--release", "--target", "wasm32-unknown-unknown", "--manifest-path", join(wasmDir, "Cargo.toml"), "--target-dir", targetDir, ...PEER_MODULES.flatMap((m) => ["-p", `bench-wasm-${m}`])]);
  mkdirSync(outDir, { recursive: true });
  for (const m of PEER_MODULES) copyFileSync(join(targetDir, "wasm32-unknown-unknown", "release", `bench_wasm_${m}.wasm`), join(outDir, `${m}.wasm`));
}

/**
 * Builds lib/, the npm package's files (vite.lib.config.js), when older than
 * the wasm package or the front end's sources: `import "heaplab"` in this
 * repository (a self-reference, as in web/tests/node/) and `npm pack` use it.
 */
function buildLib() {
  const output = join(root, "lib", "element.js");
  const inputTime = Math.max(newest(join(root, "web", "src")), newest(join(root, "web", "pkg")), statSync(join(root, "vite.lib.config.js")).mtimeMs);
  if (!args.has("--force-lib") && existsSync(output) && statSync(output).mtimeMs >= inputTime) return;
  run("npx", ["vite", "build", "-c", "vite.lib.config.js", "--logLevel", "warn"]);
}

try {
  // Every step runs to its end even when another fails (a half-killed
  // install helps no one); the first failure is then reported.
  const steps = await Promise.allSettled([ensureNodeModules(), ensureTargets(), ensureBindgenCli(), ensureWasmPack()]);
  const failed = steps.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  if (!args.has("--no-wasm")) {
    buildWasm();
    buildPeers();
    buildLib();
  }
} catch (error) {
  console.error(`[setup] ${error.message}`);
  process.exit(1);
}
