#!/usr/bin/env node
// The benchmark's real-program row, once, quickly (the `bench-program` suite
// of `npm test`): builds the LD_PRELOAD library and runs the native
// benchmark with `--only program --quick`, then checks the row is there with
// a time and a peak RSS for glibc and every policy. `npm run bench` prints
// the same row from five runs each, after the other rows.
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { buildLibrary } from "./preload.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const library = buildLibrary();
const r = spawnSync("cargo", ["run", "--release", "-q", "-p", "heaplab-bench", "--", "--quick", "--only", "program", "--preload", library], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
const lines = (r.stdout ?? "").split("\n");
const header = lines.find((l) => l.startsWith("| real program"));
const cells = (prefix) => lines.find((l) => l.startsWith(prefix))?.split("|").slice(3, -1).map((c) => Number(c.trim())) ?? [];
const columns = header?.split("|").slice(3, -1).map((c) => c.trim()) ?? [];
const [wall, rss] = [cells("| wall time"), cells("| peak RSS")];
const want = ["glibc", "first-fit", "next-fit", "best-fit", "worst-fit", "segregated"];
let passed = 0;
let failed = 0;
const check = (name, ok, detail) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}: ${detail}`);
  ok ? passed++ : failed++;
};
check("the benchmark ran", r.status === 0, `exit ${r.status}`);
check("the row has glibc and every policy", JSON.stringify(columns) === JSON.stringify(want), columns.join(", ") || "no row");
check("every column has a wall time", wall.length === want.length && wall.every((v) => v > 0), wall.join(" ms, ") + " ms");
check("every column has a peak RSS", rss.length === want.length && rss.every((v) => v > 1), rss.join(" MiB, ") + " MiB");
if (header) console.log(lines.filter((l) => l.startsWith("|")).join("\n"));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
