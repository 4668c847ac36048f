// The figures of a comparison: the malloc-lab performance index, the results
// table's rows and their CSV. Pure; the same in the page, the worker and Node.
import { formatBytes, formatPercent } from "../format.js";
import { PEAK_UTILIZATION_DEFINITION } from "../stats-panel.js";

/**
 * The malloc-lab performance index as CS:APP's driver (mdriver.c) computes it:
 *   P = w·U + (1 − w)·min(1, T / Tlibc)
 * U the average utilization, T the throughput, Tlibc the reference throughput.
 * The malloc-lab handout's config.h (read by mdriver.c): `#define UTIL_WEIGHT .60`
 * and `#define AVG_LIBC_THRUPUT 600E3`
 * (600 Kops/s, libc malloc on the course's grading machine).
 */
export const INDEX = Object.freeze({ weight: 0.6, libcKops: 600 });

/** P in [0, 1] from utilization U in [0, 1] and throughput in Kops/s. */
export function performanceIndex(utilization, kops, { weight = INDEX.weight, libcKops = INDEX.libcKops } = {}) {
  if (!Number.isFinite(utilization) || !Number.isFinite(kops)) return null;
  return weight * utilization + (1 - weight) * Math.min(1, kops / libcKops);
}

/** The formula as the page shows it. */
export const INDEX_FORMULA = `P = ${INDEX.weight}·U + ${(1 - INDEX.weight).toFixed(1)}·min(1, T / Tlibc), Tlibc = ${INDEX.libcKops} Kops/s`;

/** Columns of the results table: key, title, how a cell is shown, the CSV value, and a definition shown on hover. */
export const COLUMNS = Object.freeze([
  { key: "policy", title: "Policy", show: (v) => v, csv: (v) => v },
  { key: "operations", title: "Operations", show: (v) => v.toLocaleString("en-US"), csv: (v) => v },
  { key: "utilization", title: "Peak utilization (U)", show: formatPercent, csv: (v) => round(v, 6), definition: PEAK_UTILIZATION_DEFINITION },
  { key: "peakHeap", title: "Peak heap", show: formatBytes, csv: (v) => v },
  { key: "fragmentationMean", title: "Fragmentation (mean)", show: percentOrDash, csv: (v) => round(v, 6) },
  { key: "fragmentationEnd", title: "Fragmentation (end)", show: percentOrDash, csv: (v) => round(v, 6) },
  { key: "examinedMean", title: "Blocks examined (mean)", show: (v) => fixed(v, 2), csv: (v) => round(v, 4) },
  { key: "examinedMax", title: "Blocks examined (max)", show: (v, row) => (v === null ? "–" : `${row.examinedMaxExact ? "" : "≥ "}${v}`), csv: (v) => v ?? "" },
  { key: "kops", title: "Kops/s in wasm (T)", show: (v) => fixed(v, 0), csv: (v) => round(v, 1) },
  { key: "index", title: "Performance index (P)", show: (v) => fixed(v, 3), csv: (v) => round(v, 4) },
]);

/** A percentage, or "–" for a figure the allocator does not give. */
function percentOrDash(v) {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : formatPercent(v);
}

function fixed(v, digits) {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function round(v, digits) {
  return v === null || v === undefined || !Number.isFinite(v) ? "" : Number(v.toFixed(digits));
}

/**
 * One row of the results table from a policy's finished run (worker.js's
 * `result`): `{ policy, operations, failure, stats, fragmentationMean,
 * examinedMax, examinedMaxExact, seconds }`.
 */
export function resultRow(result) {
  const { stats } = result;
  const kops = result.seconds > 0 && !result.failure ? result.operations / result.seconds / 1000 : null;
  const utilization = stats.highWaterMark > 0 ? stats.peakLiveRequested / stats.highWaterMark : 0;
  return {
    policy: result.policy,
    operations: result.operations,
    failure: result.failure ?? null,
    utilization,
    peakHeap: stats.highWaterMark,
    fragmentationMean: result.fragmentationMean,
    fragmentationEnd: stats.externalFragmentation,
    // A production allocator does not say how many blocks it looked at (null: "–").
    examinedMean: stats.totalExamined === null ? null : result.operations > 0 ? stats.totalExamined / result.operations : 0,
    examinedMax: result.examinedMax,
    examinedMaxExact: result.examinedMaxExact,
    kops,
    index: result.failure ? null : performanceIndex(utilization, kops),
  };
}

/** A CSV field, quoted when it holds a comma, quote or line break (RFC 4180). */
function csvField(value) {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The results as CSV: a header line, one line per policy, then the trace and the index formula as comments-free rows. */
export function toCsv(rows, { trace = "" } = {}) {
  const header = ["trace", ...COLUMNS.map((c) => c.title), "failure"];
  const lines = [header.map(csvField).join(",")];
  for (const row of rows) {
    const cells = [trace, ...COLUMNS.map((c) => c.csv(row[c.key])), row.failure ?? ""];
    lines.push(cells.map(csvField).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** Operations between samples so that a trace of `count` operations gives at most `points` + 1 samples. */
export function sampleEvery(count, points = 2000) {
  return Math.max(1, Math.ceil(count / points));
}

/**
 * How each chart is read: which figure of a policy's line stands for it
 * ("peak" or "mean" over the trace), whether more is better, and the noun.
 */
const CHART_READING = Object.freeze({
  heapBytes: { figure: "peak", better: "less", noun: "peak heap" },
  liveRequested: { figure: "peak", better: null, noun: "peak live requested bytes" },
  utilization: { figure: "end", better: "more", noun: "peak utilization at the end" },
  fragmentation: { figure: "mean", better: "less", noun: "mean external fragmentation" },
  examined: { figure: "mean", better: "less", noun: "mean blocks examined per operation" },
});

/** Relative spread under which the policies count as not differing. */
const SAME = 0.005;

/**
 * One sentence saying what differs between the policies on a chart (or that
 * they do not differ on this trace): `series` is `[{ policy, y, n }]`, `unit`
 * "bytes", "percent" or "count".
 */
export function summarizeChart(metric, series, unit) {
  const reading = CHART_READING[metric];
  // Policies without this figure (a production allocator's blocks examined) are left out.
  const lines = series.filter((s) => s.n > 0 && Array.prototype.some.call(s.y.subarray ? s.y.subarray(0, s.n) : s.y.slice(0, s.n), Number.isFinite));
  if (!reading || lines.length === 0) return "";
  const show = (v) => (unit === "bytes" ? formatBytes(Math.round(v)) : unit === "percent" ? formatPercent(v) : fixed(v, 2));
  const figures = lines.map((s) => {
    const ys = s.y.subarray ? s.y.subarray(0, s.n) : s.y.slice(0, s.n);
    let peak = -Infinity;
    let sum = 0;
    for (const v of ys) {
      if (v > peak) peak = v;
      sum += v;
    }
    const value = reading.figure === "peak" ? peak : reading.figure === "end" ? ys[s.n - 1] : sum / s.n;
    return { policy: s.policy, value };
  });
  const sorted = [...figures].sort((a, b) => a.value - b.value);
  const low = sorted[0];
  const high = sorted[sorted.length - 1];
  const scale = Math.max(Math.abs(high.value), 1e-9);
  const all = lines.length === 1 ? "The policy" : lines.length === 2 ? "Both policies" : `All ${lines.length} policies`;
  if (metric === "liveRequested") {
    return `The trace's own requests: the same for every policy (${reading.noun} ${show(high.value)}); the other charts show what each policy makes of them.`;
  }
  if (lines.length === 1) return `${low.policy}: ${reading.noun} ${show(low.value)}.`;
  if ((high.value - low.value) / scale < SAME) return `${all} are the same here (${reading.noun} ${show(high.value)}): on this trace the policy makes no difference.`;
  const [best, worst] = reading.better === "more" ? [high, low] : [low, high];
  const ratio = unit === "percent" ? `${((worst.value - best.value) * 100).toFixed(1).replace("-", "")} points` : low.value > 0 ? `${(high.value / low.value).toFixed(2)}×` : "";
  const ties = figures.filter((f) => Math.abs(f.value - best.value) / scale < SAME).map((f) => f.policy);
  const bestNames = ties.length > 1 ? ties.join(" and ") : best.policy;
  return `${bestNames} ${ties.length > 1 ? "do" : "does"} best on ${reading.noun} (${show(best.value)}); ${worst.policy} worst (${show(worst.value)}${ratio ? `, ${ratio} apart` : ""}).`;
}

/** Policy names as prose: "a", "a and b", "a, b and c". */
function names(rows) {
  const n = rows.map((r) => r.policy);
  return n.length < 2 ? n.join("") : `${n.slice(0, -1).join(", ")} and ${n[n.length - 1]}`;
}

/** A share as whole points when big, one decimal when small: "12 points", "0.4 points". */
function points(a, b) {
  const d = Math.round(Math.abs(a - b) * 1000) / 10;
  return `${d >= 10 ? d.toFixed(0) : d.toFixed(1)} point${d.toFixed(1) === "1.0" ? "" : "s"}`;
}

/**
 * The paragraph under the results table, written from the rows (resultRow's):
 * who keeps the most of its heap in use and by how much, the best textbook
 * fit beside the best production allocator when both ran, who is fastest in
 * wasm and by how much, and where first fit's search cost shows (blocks
 * examined per operation, against the fit that examines least). `isPeer`
 * tells a production allocator's name. Sentences for figures that are not
 * there (one policy, no timing) are left out; "" for no rows.
 */
export function summarizeResults(rows, { isPeer = () => false } = {}) {
  const ok = rows.filter((r) => !r.failure);
  const out = [];
  const failed = rows.filter((r) => r.failure);
  if (failed.length) out.push(`${failed.map((r) => r.policy).join(", ")} did not finish the trace (${failed.map((r) => r.failure).join("; ")}), so ${failed.length === 1 ? "its figures are" : "their figures are"} left out.`);
  if (ok.length === 0) return out.join(" ");
  const byU = [...ok].sort((a, b) => b.utilization - a.utilization);
  const [best, worst] = [byU[0], byU[byU.length - 1]];
  // Policies within 0.05 points (utilization) or 2 % (throughput) of a figure count as tied with it.
  const tiedU = (row) => names(ok.filter((r) => Math.abs(r.utilization - row.utilization) < 0.0005));
  if (ok.length === 1) out.push(`${best.policy} kept ${formatPercent(best.utilization)} of its heap span in use at the peak (${formatBytes(best.peakHeap)} of pages).`);
  else if (best.utilization - worst.utilization < 0.0005) out.push(`Every policy kept the same share of its heap in use at the peak (${formatPercent(best.utilization)}): on this trace the choice makes no difference to memory.`);
  else {
    out.push(
      `${tiedU(best)} used memory best: ${formatPercent(best.utilization)} of the heap span was live data at the peak (${formatBytes(best.peakHeap)} of pages), ` +
        `${points(best.utilization, worst.utilization)} above ${tiedU(worst)} (${formatPercent(worst.utilization)}, ${formatBytes(worst.peakHeap)}).`,
    );
  }
  const toys = byU.filter((r) => !isPeer(r.policy));
  const peers = byU.filter((r) => isPeer(r.policy));
  if (toys.length && peers.length) {
    const [t, p] = [toys[0], peers[0]];
    const lead = t.utilization >= p.utilization ? `the textbook fit ${t.policy} is ahead by ${points(t.utilization, p.utilization)}` : `the production allocator ${p.policy} is ahead by ${points(t.utilization, p.utilization)}`;
    out.push(`Best textbook fit against best production allocator: ${t.policy} ${formatPercent(t.utilization)}, ${p.policy} ${formatPercent(p.utilization)}; ${lead}.`);
  }
  const timed = ok.filter((r) => Number.isFinite(r.kops) && r.kops > 0).sort((a, b) => b.kops - a.kops);
  if (timed.length > 1) {
    const [fast, slow] = [timed[0], timed[timed.length - 1]];
    const tiedT = (row) => names(ok.filter((r) => timed.includes(r) && Math.abs(r.kops - row.kops) <= 0.02 * row.kops));
    if (fast.kops <= slow.kops * 1.02) out.push(`All ran the trace equally fast in wasm (about ${fixed(fast.kops, 0)} K operations per second).`);
    else out.push(`Fastest in wasm: ${tiedT(fast)} at ${fixed(fast.kops, 0)} K operations per second, ${(fast.kops / slow.kops).toFixed(1)}× ${tiedT(slow)} (${fixed(slow.kops, 0)} K), the slowest.`);
  }
  const counted = ok.filter((r) => r.examinedMean !== null && Number.isFinite(r.examinedMean));
  const first = counted.find((r) => r.policy === "first-fit");
  const least = [...counted].sort((a, b) => a.examinedMean - b.examinedMean)[0];
  if (first && least && least !== first && first.examinedMean > least.examinedMean) {
    out.push(
      `First fit's search shows in its blocks examined: ${fixed(first.examinedMean, 1)} per operation on average (${first.examinedMax === null ? "" : `at most ${first.examinedMaxExact ? "" : "≥ "}${first.examinedMax}, `}walking the free list from its head), against ${fixed(least.examinedMean, 1)} for ${least.policy}.`,
    );
  } else if (first) out.push(`First fit examined ${fixed(first.examinedMean, 1)} blocks per operation on average: on this trace its free list stays short.`);
  if (peers.length && toys.length && timed.length > 1) {
    out.push("Speed between the two kinds is not like for like: the fits here run in Heaplab's checked heap (every free validated, figures counted, the page map kept, for the pictures), the production allocators bare; `npm run bench` times Heaplab's lean heap, the one a program would use, against them.");
  }
  if (peers.length) out.push("Production allocators do not count the blocks they examine, and only some show their free blocks, so those cells are “–”.");
  return out.join(" ");
}
