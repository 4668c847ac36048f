// The compare page's presets: a trace and a set of policies chosen to teach
// one thing. "Toy vs production" runs the calls GCC's preprocessor made
// (recorded, workloads/cc1-recorded.rep) on three textbook fits and two
// production allocators. `presetFigures` computes the preset's results rows
// the way the page does (PolicyRun, resultRow) without the page: the lesson
// that uses the preset judges answers by them.
import { init, Heap } from "../heaplab.js";
import { parseTrace } from "../trace.js";
import { CC1_RECORDED, readText } from "../workloads.js";
import { toTriples } from "./generators.js";
import { PolicyRun } from "./engine.js";
import { resultRow } from "./metrics.js";
import { isPeer, loadPeer, peerHeapClass } from "./peers.js";

export const TOY_VS_PRODUCTION = Object.freeze({
  key: "toy-vs-production",
  trace: "cc1-recorded.rep (GCC's preprocessor, recorded)",
  policies: Object.freeze(["first-fit", "best-fit", "segregated", "talc", "dlmalloc"]),
});

/** The preset's trace: `{ name, text }`. */
export async function presetTrace() {
  return { name: TOY_VS_PRODUCTION.trace, text: await readText(CC1_RECORDED) };
}

/** The preset's results rows (untimed), in its policy order. */
export async function presetFigures() {
  await init();
  const ops = toTriples(parseTrace((await presetTrace()).text));
  const rows = [];
  for (const policy of TOY_VS_PRODUCTION.policies) {
    const HeapClass = isPeer(policy) ? peerHeapClass(policy, await loadPeer(policy)) : Heap;
    const run = new PolicyRun(HeapClass, ops, policy);
    while (!run.finished) run.advance(1_000_000);
    rows.push(resultRow(run.result(null)));
    run.dispose();
  }
  return rows;
}
