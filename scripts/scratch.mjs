// Scratch folders outside the repository for the package and recipe suites,
// and the steps they share: run a command, pack the npm package, copy an
// example folder, unpack the package into a folder's node_modules.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * A folder under the system's temporary folder, named after this checkout
 * (two checkouts on one machine do not share one) and `name`; kept between
 * runs, so installed packages are reused.
 */
export function scratchDir(name) {
  const checkout = createHash("sha256").update(root).digest("hex").slice(0, 8);
  const dir = join(process.env.HEAPLAB_SCRATCH ?? tmpdir(), `heaplab-${checkout}`, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs a command with its output shown; throws when it fails. */
export function run(cmd, args, { cwd = root, env = {} } = {}) {
  console.log(`  $ ${cmd} ${args.join(" ")}   (in ${cwd})`);
  const result = spawnSync(cmd, args, { cwd, stdio: "inherit", env: { ...process.env, ...env } });
  if (result.error) throw new Error(`${cmd} could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed with status ${result.status}`);
}

/** Runs a command and returns what it printed; throws when it fails. */
export function output(cmd, args, { cwd = root } = {}) {
  const result = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * `npm pack` of the repository into `dest`, lib/ built first (what its
 * prepack script does, run here on its own so that pack's JSON is all it
 * prints); returns `{ tarball, files }`, the tarball's path and its files.
 */
export function packPackage(dest) {
  for (const old of readdirSync(dest).filter((f) => f.endsWith(".tgz"))) rmSync(join(dest, old));
  run("npm", ["run", "--silent", "build:lib"]);
  const [info] = JSON.parse(output("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dest]));
  return { tarball: join(dest, info.filename), files: info.files.map((f) => f.path) };
}

/** Copies the example folder `from` into `to`, leaving out what a build or an install makes. */
export function copyExample(from, to) {
  const made = new Set(["node_modules", "build", "dist", "book", ".docusaurus", ".astro", "heaplab"]);
  cpSync(from, to, { recursive: true, filter: (src) => !made.has(src.split(/[\\/]/).pop()) || src === from });
}

/** Unpacks the package's tarball as `node_modules/heaplab` of `dir` (what `npm install <tarball>` puts there: the package has no dependencies). */
export function unpackInto(tarball, dir) {
  const target = join(dir, "node_modules", "heaplab");
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  run("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"]);
  return target;
}
