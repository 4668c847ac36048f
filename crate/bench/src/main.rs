//! heaplab-bench: heaplab's policies beside talc, rlsf, dlmalloc and
//! linked_list_allocator, measured side by side in one run, printed as one
//! table (see the README's "Benchmarks" section).
//!
//! ```text
//! cargo run --release -p heaplab-bench -- [--quick] [--wasm FILE]
//! cargo run --release -p heaplab-bench -- --profile CONTENDER ACTIONS [MAX]
//! ```
//!
//! `--wasm FILE` adds the wasm rows that `scripts/bench.mjs` measured in Node
//! (lines `ROW CONTENDER VALUE`). `--profile` runs a fixed number of random
//! actions on one contender only, for callgrind.

mod breakdown;
mod contenders;
mod kernel;
mod programs;
mod rng;
mod trace;
mod workloads;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use contenders::{Contender, ALL};
use workloads::Variant;

/// The contenders of this run (`--contenders`; all by default).
static SELECTED: std::sync::OnceLock<Vec<&'static Contender>> = std::sync::OnceLock::new();

fn selected() -> &'static [&'static Contender] {
    SELECTED.get_or_init(|| ALL.iter().collect())
}
use rng::Rng;

/// The memory every contender runs in, page aligned and touched once.
struct Region {
    ptr: *mut u8,
    len: usize,
}

impl Region {
    fn new(len: usize) -> Self {
        let layout = std::alloc::Layout::from_size_align(len, 4096).unwrap();
        // SAFETY: non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!ptr.is_null(), "cannot get the {len}-byte benchmark region");
        for i in (0..len).step_by(4096) {
            // SAFETY: inside the region; touching every page up front keeps
            // first-touch page faults out of the timings.
            unsafe { ptr.add(i).write_volatile(1) };
        }
        Region { ptr, len }
    }
}

/// How long and how often to measure.
struct Plan {
    trials: u32,
    duration: Duration,
    warmup: Duration,
    efficiency_rounds: u32,
    trace_time: Duration,
    /// The kernel rows (module `kernel`): timed rounds, operations per round.
    kernel: kernel::KernelPlan,
}

const FULL: Plan = Plan { trials: 5, duration: Duration::from_millis(200), warmup: Duration::from_millis(20), efficiency_rounds: 300, trace_time: Duration::from_millis(60), kernel: kernel::KernelPlan { rounds: 11, ops: 500_000 } };
const QUICK: Plan = Plan { trials: 1, duration: Duration::from_millis(50), warmup: Duration::from_millis(5), efficiency_rounds: 4, trace_time: Duration::from_millis(10), kernel: kernel::KernelPlan { rounds: 3, ops: 30_000 } };

const REGION: usize = 256 << 20;
const EFFICIENCY_HEAP: usize = 8 << 20;
const EFFICIENCY_MAX: usize = 10_000;
const LIVE_BLOCKS: usize = 10_000;

/// One row of the table.
struct Row {
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    higher_is_better: bool,
    values: HashMap<String, f64>,
}

impl Row {
    fn new(key: &'static str, label: &'static str, unit: &'static str, higher_is_better: bool) -> Self {
        Row { key, label, unit, higher_is_better, values: HashMap::new() }
    }
    fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied()
    }
    /// How many times better `a` is than `b` (> 1: `a` is better).
    fn ratio(&self, a: &str, b: &str) -> Option<f64> {
        let (x, y) = (self.get(a)?, self.get(b)?);
        if x <= 0.0 || y <= 0.0 {
            return None;
        }
        Some(if self.higher_is_better { x / y } else { y / x })
    }
}

fn make(c: &Contender, r: &Region, len: usize) -> Box<dyn std::alloc::GlobalAlloc> {
    // SAFETY: the region lives for the whole run; each allocator is dropped
    // before the next one is built over the same memory.
    unsafe { (c.make)(r.ptr, len.min(r.len)) }
}

/// Runs `trial(contender, t)` for every trial and contender, trials in the
/// outer loop, so that every contender sees the same spread of machine load
/// (these machines are shared), and returns the mean per second in millions.
fn interleaved(label: &str, plan: &Plan, r: &Region, trial: impl Fn(&dyn std::alloc::GlobalAlloc, u64) -> u64) -> HashMap<String, f64> {
    interleaved_in(label, plan, r, r.len, trial)
}

/// [`interleaved`] with every allocator over the first `len` bytes of the
/// region.
fn interleaved_in(label: &str, plan: &Plan, r: &Region, len: usize, trial: impl Fn(&dyn std::alloc::GlobalAlloc, u64) -> u64) -> HashMap<String, f64> {
    // Actions per trial, per contender (trial `t` runs the harness loop's
    // placement `t mod PLACEMENTS`: see `workloads::PLACEMENTS`).
    let mut runs = vec![Vec::new(); selected().len()];
    for t in 0..plan.trials {
        for (i, c) in selected().iter().enumerate() {
            let a = make(c, r, len);
            runs[i].push(trial(&*a, u64::from(t)));
        }
    }
    let per_sec = |n: u64| n as f64 / plan.duration.as_secs_f64() / 1e6;
    selected()
        .iter()
        .zip(runs)
        .map(|(c, n)| {
            let m = n.iter().map(|&x| per_sec(x)).sum::<f64>() / n.len().max(1) as f64;
            let (lo, hi) = n.iter().fold((f64::MAX, 0f64), |(lo, hi), &x| (lo.min(per_sec(x)), hi.max(per_sec(x))));
            eprintln!("  {label:<28} {:<10} {m:>8.3} M actions/s (trials {lo:.1}–{hi:.1})", c.name);
            (c.name.to_string(), m)
        })
        .collect()
}

fn random_actions_row(key: &'static str, label: &'static str, max: usize, r: &Region, plan: &Plan) -> Row {
    let mut row = Row::new(key, label, "M actions/s", true);
    row.values = interleaved(label, plan, r, |a, t| {
        workloads::random_actions(a, 1000 + t, t, max, plan.warmup, Variant::BASE);
        workloads::random_actions(a, t, t, max, plan.duration, Variant::BASE)
    });
    row
}

/// The random-actions rows again under what another harness could
/// plausibly do differently: the program touching every block it gets,
/// smaller arenas, another generator, a larger realloc share. A result
/// that holds in one harness only is not yet a result.
const VARIANTS: &[(&str, Variant, usize)] = &[
    ("as above (talc's design, 256 MiB)", Variant::BASE, REGION),
    ("program touches every block", Variant { touch: true, ..Variant::BASE }, REGION),
    ("arena 16 MiB", Variant::BASE, 16 << 20),
    ("arena 64 MiB", Variant::BASE, 64 << 20),
    ("xoshiro256** instead of SplitMix64", Variant { xoshiro: true, ..Variant::BASE }, REGION),
    ("realloc share 1/3 (not 1/7)", Variant { realloc_in: 3, ..Variant::BASE }, REGION),
];

/// Each variant's figures: `(variant, random actions ≤200 B values, ≤30 KB
/// values, 10k live blocks values)`.
type VariantRuns = Vec<(&'static str, HashMap<String, f64>, HashMap<String, f64>, HashMap<String, f64>)>;

fn variant_runs(r: &Region, plan: &Plan) -> VariantRuns {
    // Every placement of the harness loops (one per trial: see
    // `workloads::PLACEMENTS`), in 30 % of the base rows' time each: the
    // same time per figure as three trials of half the time, which left
    // two placements out (and a loop's placement moves a figure more
    // than a trial's length does).
    let plan = Plan { duration: plan.duration * 3 / 10, ..*plan };
    VARIANTS
        .iter()
        .map(|&(name, var, len)| {
            let run = |max: usize| {
                interleaved_in(&format!("{name} ≤{max}"), &plan, r, len, |a, t| {
                    workloads::random_actions(a, 1000 + t, t, max, plan.warmup, var);
                    workloads::random_actions(a, t, t, max, plan.duration, var)
                })
            };
            // The 10k-live-blocks row under the same variant; it has no
            // reallocs, so a variant of the realloc share alone would only
            // repeat the base (not run: "–" in the table).
            let live = if var.realloc_in == Variant::BASE.realloc_in {
                interleaved_in(&format!("{name} 10k live"), &plan, r, len, |a, t| workloads::steady_live(a, t, t, LIVE_BLOCKS, 200, plan.duration, var))
            } else {
                HashMap::new()
            };
            (name, run(200), run(30_000), live)
        })
        .collect()
}

/// The variants table: segregated fit over each peer and the checked heap
/// over the global build, per variant and row.
fn print_variants(runs: &VariantRuns) -> String {
    let ratio = |m: &HashMap<String, f64>, a: &str, b: &str| match (m.get(a), m.get(b)) {
        (Some(x), Some(y)) if *y > 0.0 => format!("{:.2}×", x / y),
        _ => "–".into(),
    };
    let mut out = String::from("| variant | seg÷talc ≤200 B | seg÷talc ≤30 KB | seg÷talc 10k live | seg÷rlsf ≤200 B | seg÷rlsf ≤30 KB | seg÷rlsf 10k live | seg÷dlmalloc ≤200 B | seg÷dlmalloc ≤30 KB | seg÷dlmalloc 10k live | checked÷seg ≤200 B | checked÷seg ≤30 KB | checked÷seg 10k live |\n");
    out += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    for (name, small, big, live) in runs {
        let mut cells = vec![name.to_string()];
        for p in ["talc", "rlsf", "dlmalloc"] {
            cells.push(ratio(small, "segregated", p));
            cells.push(ratio(big, "segregated", p));
            cells.push(ratio(live, "segregated", p));
        }
        cells.push(ratio(small, "checked(seg)", "segregated"));
        cells.push(ratio(big, "checked(seg)", "segregated"));
        cells.push(ratio(live, "checked(seg)", "segregated"));
        out += &format!("| {} |\n", cells.join(" | "));
    }
    out
}

/// Targets over every variant: met only when met in each.
fn variant_targets(runs: &VariantRuns) -> String {
    let mut out = String::new();
    for (what, row, a, b, target) in [
        ("segregated ≥ 1.1× talc, random actions ≤200 B, every variant", 0, "segregated", "talc", 1.1),
        ("segregated ≥ 1.1× talc, random actions ≤30 KB, every variant", 1, "segregated", "talc", 1.1),
        ("segregated ≥ 1.1× talc, 10k live blocks, every variant", 2, "segregated", "talc", 1.1),
        ("checked heap ≥ 0.85× global build (segregated), ≤200 B, every variant", 0, "checked(seg)", "segregated", 0.85),
        ("checked heap ≥ 0.85× global build (segregated), ≤30 KB, every variant", 1, "checked(seg)", "segregated", 0.85),
        ("checked heap ≥ 0.85× global build (segregated), 10k live blocks, every variant", 2, "checked(seg)", "segregated", 0.85),
    ] {
        let worst = runs
            .iter()
            .filter_map(|(v, small, large, live)| {
                let m = [small, large, live][row];
                Some((*v, m.get(a)? / m.get(b)?))
            })
            .min_by(|x, y| x.1.total_cmp(&y.1));
        match worst {
            Some((v, x)) => out += &format!("  [{}] {what}: worst {x:.2}× ({v})\n", if x >= target { "met   " } else { "MISSED" }),
            None => out += &format!("  [n/a   ] {what}: not measured\n"),
        }
    }
    out
}


fn steady_row(r: &Region, plan: &Plan) -> Row {
    let mut row = Row::new("live-10k", "10k live blocks, ≤200 B", "M actions/s", true);
    row.values = interleaved("10k live blocks", plan, r, |a, t| workloads::steady_live(a, t, t, LIVE_BLOCKS, 200, plan.duration, Variant::BASE));
    row
}

fn efficiency_row(r: &Region, plan: &Plan) -> Row {
    let mut row = Row::new("efficiency", "heap efficiency (8 MiB heap)", "% in use at OOM", true);
    for c in selected() {
        let mut rng = Rng::new(42);
        let mut sum = 0.0;
        for _ in 0..plan.efficiency_rounds {
            let a = make(c, r, EFFICIENCY_HEAP);
            sum += workloads::heap_efficiency(&*a, &mut rng, EFFICIENCY_HEAP, EFFICIENCY_MAX);
        }
        let pct = sum / f64::from(plan.efficiency_rounds);
        eprintln!("  heap efficiency              {:<10} {pct:>8.2} %", c.name);
        row.values.insert(c.name.to_string(), pct);
    }
    row
}

/// The malloc-lab traces (../shared/traces/malloclab, beside the repository).
fn malloclab_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces/malloclab")
}

/// The kernel rows (issue 22): pages, small objects, and kmalloc's
/// utilization on the malloc-lab traces (with the other contenders' beside
/// it; `None` when the traces are missing). Printed as their own table.
type KernelRows = (kernel::Rates, kernel::Rates, Option<Vec<(&'static str, Vec<Option<f64>>)>>);

fn kernel_rows(r: &Region, plan: &Plan) -> KernelRows {
    let pages = kernel::page_rates(r, &plan.kernel);
    let objects = kernel::object_rates(r, &plan.kernel);
    for (name, v) in pages.iter().chain(&objects) {
        eprintln!("  kernel row                   {name:<10} {:>8.3} M ops/s (median of {})", kernel::median(v), v.len());
    }
    let traces = trace::load_dir(&malloclab_dir());
    let util = if traces.is_empty() {
        eprintln!("  malloc-lab traces: none found at {} — skipping kmalloc's utilization", malloclab_dir().display());
        None
    } else {
        Some(kernel::UTIL_CONTENDERS.iter().map(|&n| (n, kernel::trace_utils(n, r, &traces))).collect())
    };
    (pages, objects, util)
}

fn trace_rows(r: &Region, plan: &Plan) -> Option<(Row, Row)> {
    let dir = malloclab_dir();
    let traces = trace::load_dir(&dir);
    if traces.is_empty() {
        eprintln!("  malloc-lab traces: none found at {} — skipping trace replay", dir.display());
        return None;
    }
    let mut speed = Row::new("trace-ops", "malloc-lab traces: throughput", "M ops/s", true);
    let mut util = Row::new("trace-util", "malloc-lab traces: utilization", "% peak live / span", true);
    let mut slots = Vec::new();
    // Utilization per trace and contender (one replay each), for the table
    // printed after; a trace a contender fails is left out of its timing.
    let mut per_trace: Vec<(&str, Vec<Option<f64>>)> = Vec::new();
    // Per contender, whether each trace replayed (a trace that failed is
    // left out of the timing; one with no span is timed all the same).
    let mut replayed: Vec<Vec<bool>> = Vec::new();
    for c in selected() {
        let mut utils = Vec::new();
        let (mut util_sum, mut n) = (0f64, 0u32);
        let mut failed = Vec::new();
        let mut ok = Vec::new();
        for t in &traces {
            let a = make(c, r, r.len);
            let replay = workloads::replay(&*a, t, &mut slots);
            ok.push(replay.is_some());
            let Some((peak, span)) = replay else {
                failed.push(t.name.as_str());
                utils.push(None);
                continue;
            };
            if span > 0 {
                util_sum += peak as f64 / span as f64;
                n += 1;
            }
            utils.push((span > 0).then(|| peak as f64 * 100.0 / span as f64));
        }
        if !failed.is_empty() {
            eprintln!("  {}: replay failed on {}", c.name, failed.join(", "));
        }
        util.values.insert(c.name.to_string(), util_sum * 100.0 / f64::from(n.max(1)));
        per_trace.push((c.name, utils));
        replayed.push(ok);
    }
    // Throughput: trials in the outer loop and every contender in each, as
    // the other speed rows (so that all see the same spread of machine
    // load), each trace replayed for its share of `trace_time`, on a fresh
    // allocator each time.
    let share = plan.trace_time / plan.trials.max(1);
    let (mut ops, mut secs) = (vec![0u64; selected().len()], vec![0f64; selected().len()]);
    for trial in 0..plan.trials {
        for (i, c) in selected().iter().enumerate() {
            for (t, &ok) in traces.iter().zip(&replayed[i]) {
                if !ok {
                    continue;
                }
                let start = Instant::now();
                while start.elapsed() < share {
                    let a = make(c, r, r.len);
                    let t0 = Instant::now();
                    workloads::replay_placed(&*a, t, &mut slots, u64::from(trial));
                    secs[i] += t0.elapsed().as_secs_f64();
                    ops[i] += t.ops.len() as u64;
                }
            }
        }
    }
    for (i, c) in selected().iter().enumerate() {
        let mops = ops[i] as f64 / secs[i] / 1e6;
        let u = util.values[c.name];
        eprintln!("  malloc-lab traces            {:<10} {mops:>8.2} M ops/s, {u:>6.4} % utilization ({} traces)", c.name, traces.len());
        speed.values.insert(c.name.to_string(), mops);
    }
    // kmalloc (the slab allocator of issue 22) beside them: one replay each.
    let k = kernel::trace_utils("kmalloc", r, &traces);
    let (mean, failed) = kernel::mean_util(&k);
    eprintln!("  malloc-lab traces            {:<10} {mean:>6.2} % utilization ({} traces, {failed} failed)", "kmalloc", traces.len());
    per_trace.push(("kmalloc", k));
    eprintln!("\n{}", per_trace_table(&traces, &per_trace));
    Some((speed, util))
}

/// Utilization (peak live bytes over heap span, %) per trace and contender:
/// where each allocator's space goes, trace by trace (a malloc-lab student
/// reads these first).
fn per_trace_table(traces: &[trace::Trace], per: &[(&str, Vec<Option<f64>>)]) -> String {
    let mut out = String::from("malloc-lab utilization per trace (% peak live / span)\n");
    let _ = write!(out, "  {:<20}", "trace");
    for (name, _) in per {
        let _ = write!(out, " {name:>11}");
    }
    out.push('\n');
    for (i, t) in traces.iter().enumerate() {
        let _ = write!(out, "  {:<20}", t.name.trim_end_matches(".rep"));
        for (_, u) in per {
            match u.get(i).copied().flatten() {
                Some(u) => {
                    let _ = write!(out, " {u:>11.2}");
                }
                None => {
                    let _ = write!(out, " {:>11}", "–");
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Reads the wasm rows written by `scripts/bench.mjs`.
fn wasm_rows(path: &str) -> Vec<Row> {
    let mut rows = vec![
        Row::new("wasm-ra-200", "wasm (Node): random actions ≤200 B", "M actions/s", true),
        Row::new("wasm-ra-30k", "wasm (Node): random actions ≤30 KB", "M actions/s", true),
        Row::new("wasm-size", "wasm size, minimal module (wasm-opt -Oz)", "bytes", false),
    ];
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [key, name, value] = f[..] {
            if let (Some(row), Ok(v)) = (rows.iter_mut().find(|r| r.key == key), value.parse::<f64>()) {
                row.values.insert(name.to_string(), v);
            }
        }
    }
    rows
}

fn fmt_value(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if v >= 1000.0 => format!("{v:.0}"),
        Some(v) if v >= 100.0 => format!("{v:.1}"),
        Some(v) if v >= 10.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.3}"),
    }
}

const PEERS: &[&str] = &["talc", "rlsf", "dlmalloc", "lla"];

/// Columns measured in wasm only: the lean heap compiled for code size
/// (feature `small`, module `heaplab-small`) cannot share a native binary
/// with the default build (Cargo unifies a crate's features per build).
const WASM_ONLY: &[&str] = &["small(seg)"];

fn print_table(rows: &[Row]) -> String {
    let mut head: Vec<String> = vec!["benchmark".into(), "unit".into()];
    // heaplab's columns, those measured in wasm only (when there are wasm
    // rows) among them, then the peers.
    let mut columns: Vec<&str> = selected().iter().map(|c| c.name).collect();
    let at = columns.iter().position(|c| PEERS.contains(c)).unwrap_or(columns.len());
    columns.splice(at..at, WASM_ONLY.iter().copied().filter(|&n| rows.iter().any(|r| r.get(n).is_some())));
    head.extend(columns.iter().map(|c| c.to_string()));
    head.extend(PEERS.iter().map(|p| format!("seg÷{p}")));
    let mut lines: Vec<Vec<String>> = Vec::new();
    for r in rows {
        let mut l = vec![r.label.to_string(), r.unit.to_string()];
        l.extend(columns.iter().map(|&c| fmt_value(r.get(c))));
        l.extend(PEERS.iter().map(|p| r.ratio("segregated", p).map_or("–".into(), |x| format!("{x:.2}×"))));
        lines.push(l);
    }
    let mut out = String::new();
    let line = |cells: &[String]| format!("| {} |", cells.join(" | "));
    out += &line(&head);
    out.push('\n');
    out += &format!("|{}|\n", head.iter().enumerate().map(|(i, _)| if i < 2 { " --- " } else { " ---: " }).collect::<Vec<_>>().join("|"));
    for l in &lines {
        out += &line(l);
        out.push('\n');
    }
    out
}

fn targets(rows: &[Row]) -> String {
    let find = |k: &str| rows.iter().find(|r| r.key == k);
    let mut out = String::new();
    let mut check = |what: &str, ok: Option<bool>, detail: String| {
        let mark = match ok {
            Some(true) => "met   ",
            Some(false) => "MISSED",
            None => "n/a   ",
        };
        let _ = writeln!(out, "  [{mark}] {what}: {detail}");
    };
    // The speed rows: segregated fit over talc (issue 19), and the checked
    // heap over the global build of the same policy (issue 17).
    let speed = [("ra-200", "random actions ≤200 B"), ("ra-30k", "random actions ≤30 KB"), ("live-10k", "10k live blocks"), ("trace-ops", "malloc-lab traces"), ("wasm-ra-200", "wasm random actions ≤200 B"), ("wasm-ra-30k", "wasm random actions ≤30 KB")];
    for (k, row) in speed {
        let x = find(k).and_then(|r| r.ratio("segregated", "talc"));
        check(&format!("segregated ≥ 1.1× talc, {row}"), x.map(|x| x >= 1.1), x.map_or("not measured".into(), |x| format!("{x:.2}×")));
    }
    for (k, row) in speed {
        let x = find(k).and_then(|r| r.ratio("checked(seg)", "segregated"));
        check(&format!("checked heap ≥ 0.85× global build (segregated), {row}"), x.map(|x| x >= 0.85), x.map_or("not measured".into(), |x| format!("{x:.2}×")));
    }
    let u = find("trace-util");
    let ud = u.and_then(|r| r.get("dlmalloc"));
    for name in ["best", "segregated"] {
        let s = u.and_then(|r| r.get(name));
        let pct = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.4}"));
        check(&format!("malloc-lab utilization: {name} fit ≥ dlmalloc"), s.zip(ud).map(|(s, d)| s >= d), format!("{} % vs {} %", pct(s), pct(ud)));
    }
    let e = find("efficiency");
    let d = e.and_then(|r| r.get("dlmalloc"));
    for name in ["best", "segregated"] {
        let s = e.and_then(|r| r.get(name));
        check(&format!("heap efficiency: {name} fit ≥ dlmalloc"), s.zip(d).map(|(s, d)| s >= d), format!("{} % vs {} %", fmt_value(s), fmt_value(d)));
    }
    let x = find("live-10k").and_then(|r| r.ratio("best", "lla"));
    check("best fit ≥ 10× linked_list_allocator, 10k live blocks", x.map(|x| x >= 10.0), x.map_or("not measured".into(), |x| format!("{x:.1}×")));
    // The size build (feature `small`) is the one that competes on size;
    // the default build's size is shown beside it.
    let w = find("wasm-size");
    let (s, t, d) = (w.and_then(|r| r.get("small(seg)")), w.and_then(|r| r.get("talc")), w.and_then(|r| r.get("segregated")));
    check("wasm size: segregated-only ≤ talc", s.zip(t).map(|(s, t)| s <= t), format!("small(seg) {} vs talc {} bytes (default build, segregated: {} bytes)", fmt_value(s), fmt_value(t), fmt_value(d)));
    check("wasm size: default build ≤ 4,096 bytes", d.map(|d| d <= 4096.0), format!("{} bytes", fmt_value(d)));
    for p in ["first", "next"] {
        let xs: Vec<(String, f64)> = ["ra-200", "ra-30k", "live-10k", "wasm-ra-200"].iter().filter_map(|k| Some((k.to_string(), find(k)?.ratio(p, "lla")?))).collect();
        let ok = (!xs.is_empty()).then(|| xs.iter().all(|(_, x)| *x >= 1.0));
        check(&format!("{p} fit not slower than linked_list_allocator"), ok, xs.iter().map(|(k, x)| format!("{k} {x:.2}×")).collect::<Vec<_>>().join(", "));
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut quick = false;
    let mut wasm = None;
    let mut preload: Option<String> = None;
    let mut only: Option<Vec<String>> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--quick" => quick = true,
            "--contenders" => {
                i += 1;
                let names: Vec<&str> = args.get(i).expect("--contenders needs names").split(',').collect();
                let chosen = ALL.iter().filter(|c| names.contains(&c.name)).collect();
                SELECTED.set(chosen).ok().expect("--contenders given once");
            }
            "--only" => {
                i += 1;
                only = Some(args.get(i).expect("--only needs row keys").split(',').map(str::to_string).collect());
            }
            "--wasm" => {
                i += 1;
                wasm = Some(args.get(i).expect("--wasm needs a file").clone());
            }
            "--preload" => {
                i += 1;
                preload = Some(args.get(i).expect("--preload needs the heaplab-preload library").clone());
            }
            "--profile" => {
                let name = args.get(i + 1).expect("--profile CONTENDER ACTIONS [MAX]");
                let actions: u64 = args.get(i + 2).and_then(|s| s.parse().ok()).expect("--profile CONTENDER ACTIONS [MAX]");
                let max: usize = args.get(i + 3).and_then(|s| s.parse().ok()).unwrap_or(200);
                let c = ALL.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no contender {name}"));
                let r = Region { ptr: Region::new(64 << 20).ptr, len: 64 << 20 };
                let a = make(c, &r, r.len);
                let done = workloads::random_actions_fixed(&*a, 7, max, actions);
                println!("{name}: {done} of {actions} actions succeeded");
                return;
            }
            "--profile-live" => {
                // The 10k-live-blocks row's work for a fixed number of
                // actions after its set-up, on one contender, for callgrind.
                let name = args.get(i + 1).expect("--profile-live CONTENDER ACTIONS");
                let actions: u64 = args.get(i + 2).and_then(|s| s.parse().ok()).expect("--profile-live CONTENDER ACTIONS");
                let c = ALL.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no contender {name}"));
                let r = Region::new(REGION);
                let a = make(c, &r, r.len);
                let t0 = Instant::now();
                let done = workloads::steady_live_fixed(&*a, 7, 0, LIVE_BLOCKS, 200, actions);
                let secs = t0.elapsed().as_secs_f64();
                println!("{name}: {done} actions with {LIVE_BLOCKS} live blocks, {:.1} M actions/s (set-up included)", done as f64 / secs / 1e6);
                return;
            }
            "--profile-objects" => {
                // The kernel small-object row's work on one of its
                // contenders (kmalloc, segregated, talc), for callgrind.
                let name = args.get(i + 1).expect("--profile-objects CONTENDER OPS");
                let ops: u64 = args.get(i + 2).and_then(|s| s.parse().ok()).expect("--profile-objects CONTENDER OPS");
                let r = Region::new(64 << 20);
                let done = kernel::object_profile(name, &r, ops);
                println!("{name}: {done} of {ops} object operations");
                return;
            }
            "--profile-traces" => {
                // The malloc-lab traces, `ROUNDS` times each, on one
                // contender only, for callgrind.
                let name = args.get(i + 1).expect("--profile-traces CONTENDER ROUNDS [TRACE]");
                let rounds: u32 = args.get(i + 2).and_then(|s| s.parse().ok()).expect("--profile-traces CONTENDER ROUNDS [TRACE]");
                let c = ALL.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no contender {name}"));
                let mut traces = trace::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces/malloclab"));
                // An optional third argument keeps the traces whose name contains it.
                if let Some(only) = args.get(i + 3) {
                    traces.retain(|t| t.name.contains(only.as_str()));
                }
                let r = Region::new(64 << 20);
                let mut slots = Vec::new();
                let mut secs = vec![0f64; traces.len()];
                for _ in 0..rounds {
                    for (t, s) in traces.iter().zip(&mut secs) {
                        let a = make(c, &r, r.len);
                        let t0 = Instant::now();
                        workloads::replay(&*a, t, &mut slots).expect("replay");
                        *s += t0.elapsed().as_secs_f64();
                    }
                }
                println!("{name}: {} traces × {rounds}; ns per operation, trace by trace:", traces.len());
                for (t, s) in traces.iter().zip(&secs) {
                    println!("  {:<16} {:>8.2}", t.name, s * 1e9 / (f64::from(rounds) * t.ops.len() as f64));
                }
                return;
            }
            "--breakdown" => {
                let max: usize = args.get(i + 1).and_then(|s| s.parse().ok()).expect("--breakdown MAX ACTIONS");
                let actions: u64 = args.get(i + 2).and_then(|s| s.parse().ok()).expect("--breakdown MAX ACTIONS");
                let r = Region::new(REGION);
                print!("{}", breakdown::run(selected(), |c| make(c, &r, r.len), max, actions));
                return;
            }
            "--help" | "-h" => {
                println!("usage: heaplab-bench [--quick] [--only ra-200,ra-30k,live-10k,efficiency,traces,kernel,variants,cycles,program] [--contenders segregated,talc,...] [--wasm FILE] [--preload LIB] | --profile CONTENDER ACTIONS [MAX] | --profile-live CONTENDER ACTIONS | --profile-objects CONTENDER OPS | --profile-traces CONTENDER ROUNDS [TRACE] | --breakdown MAX ACTIONS");
                return;
            }
            a => panic!("unknown argument {a} (try --help)"),
        }
        i += 1;
    }
    let plan = if quick { &QUICK } else { &FULL };
    eprintln!("heaplab-bench: {} run; progress on stderr, the table on stdout", if quick { "quick" } else { "full" });
    let want = |key: &str| only.as_ref().is_none_or(|o| o.iter().any(|k| k == key));
    // Before the region is touched: a child's peak RSS counts its parent's
    // memory at the time it was spawned.
    let program = preload.as_deref().filter(|_| want("program")).map(|so| {
        let python = if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
        programs::measure(so, python, if quick { 1 } else { 5 }).map_or_else(|e| format!("real-program row: {e}\n"), |f| programs::table(&f))
    });
    let r = Region::new(REGION);
    let mut rows = Vec::new();
    if want("ra-200") {
        rows.push(random_actions_row("ra-200", "random actions ≤200 B", 200, &r, plan));
    }
    if want("ra-30k") {
        rows.push(random_actions_row("ra-30k", "random actions ≤30 KB", 30_000, &r, plan));
    }
    if want("live-10k") {
        rows.push(steady_row(&r, plan));
    }
    if want("efficiency") {
        rows.push(efficiency_row(&r, plan));
    }
    if want("traces") {
        if let Some((s, u)) = trace_rows(&r, plan) {
            rows.push(s);
            rows.push(u);
        }
    }
    if let Some(path) = &wasm {
        rows.extend(wasm_rows(path));
    }
    let kernel = want("kernel").then(|| kernel_rows(&r, plan));
    let variants = want("variants").then(|| variant_runs(&r, plan));
    // Cycles per call on the ≤200 B random actions: how far each allocator
    // is from the few dozen instructions a fast path takes.
    let cycles = want("cycles").then(|| breakdown::run(selected(), |c| make(c, &r, r.len), 200, if quick { 20_000 } else { 300_000 }));
    println!();
    print!("{}", print_table(&rows));
    println!();
    println!("Columns: heaplab's policies in the lean heap, compile-time `GlobalLeanHeap<FixedRegion, P>`; checked(seg): the checked heap `GlobalHeap<FixedRegion, Segregated>` (page map, live bitmap, counters; every free validated); small(seg), wasm rows only: the lean heap compiled for code size (feature `small`), segregated fit; then the peers; seg÷peer: how many times better heaplab segregated is (> 1 = better).");
    println!("Every native allocator runs over the same 4 KiB-aligned region through `GlobalAlloc` behind a spin lock: talc 5 (`source::Claim`), rlsf (`insert_free_block_ptr`), dlmalloc (the whole region handed over once through its `Allocator` trait), linked_list_allocator (`Heap::new`).");
    if wasm.is_none() {
        println!("(wasm rows: run `npm run bench`.)");
    }
    if let Some((pages, objects, util)) = &kernel {
        println!();
        print!("{}", kernel::table(&plan.kernel, pages, objects, util.as_deref()));
    }
    if let Some(runs) = &variants {
        println!();
        print!("{}", print_variants(runs));
    }
    if let Some(c) = &cycles {
        println!();
        print!("{c}");
    }
    println!();
    println!("Targets:");
    print!("{}", targets(&rows));
    if let Some(runs) = &variants {
        print!("{}", variant_targets(runs));
    }
    if let Some(program) = program {
        print!("\n{program}");
    }
}

#[cfg(test)]
mod tests {
    //! The harness itself: every contender runs every native row (briefly),
    //! gives a plausible figure, and shows up in the table and the targets.

    use super::*;

    const TINY: Plan = Plan {
        trials: 1,
        duration: Duration::from_millis(5),
        warmup: Duration::from_millis(1),
        efficiency_rounds: 1,
        trace_time: Duration::from_millis(1),
        kernel: kernel::KernelPlan { rounds: 3, ops: 3000 },
    };

    #[test]
    fn every_contender_runs_every_row_and_the_table_shows_it() {
        let r = Region::new(64 << 20);
        let rows = vec![
            random_actions_row("ra-200", "random actions ≤200 B", 200, &r, &TINY),
            random_actions_row("ra-30k", "random actions ≤30 KB", 30_000, &r, &TINY),
            steady_row(&r, &TINY),
            efficiency_row(&r, &TINY),
        ];
        for row in &rows {
            for c in ALL {
                let v = row.get(c.name).unwrap_or_else(|| panic!("{}: no figure for {}", row.key, c.name));
                assert!(v > 0.0, "{}: {} did nothing ({v})", row.key, c.name);
            }
        }
        for c in ALL {
            let pct = rows[3].get(c.name).unwrap();
            assert!((50.0..=100.0).contains(&pct), "{}: heap efficiency {pct} % is not plausible", c.name);
        }
        let table = print_table(&rows);
        for c in ALL {
            assert!(table.contains(&format!(" {} |", c.name)), "the table has a column for {}", c.name);
        }
        assert!(table.contains("seg÷talc") && table.contains("random actions ≤30 KB"), "{table}");
        let t = targets(&rows);
        assert!(t.contains("heap efficiency: best fit ≥ dlmalloc") && t.contains("heap efficiency: segregated fit ≥ dlmalloc"), "{t}");
        for line in ["segregated ≥ 1.1× talc, 10k live blocks", "checked heap ≥ 0.85× global build (segregated), 10k live blocks", "checked heap ≥ 0.85× global build (segregated), random actions ≤200 B"] {
            let l = t.lines().find(|l| l.contains(line)).unwrap_or_else(|| panic!("no target line {line:?}\n{t}"));
            assert!(!l.contains("n/a"), "measured rows give a verdict: {l}");
        }
        assert!(t.contains("[n/a   ] wasm size"), "no wasm rows: the size target is not measured\n{t}");
        assert!(!table.contains("small(seg)"), "a wasm-only column without wasm rows\n{table}");
    }

    /// The harness loops' placements: each its own code (another address),
    /// all doing the same work for the same seed and trace.
    #[test]
    fn every_placement_of_a_harness_loop_does_the_same_work() {
        use heaplab::global::GlobalLeanHeap;
        use heaplab::pages::FixedRegion;
        use heaplab::policy::Segregated;
        use heaplab_trace::Op;
        let r = Region::new(16 << 20);
        let c = ALL.iter().find(|c| c.name == "segregated").unwrap();
        let ops: Vec<Op> = (0..600usize)
            .map(|i| match i % 3 {
                0 => Op::Alloc { id: i / 3 % 40, size: 1 + i * 37 % 3000 },
                1 => Op::Realloc { id: (i * 7) / 3 % 40, size: 1 + i * 53 % 5000 },
                _ => Op::Free { id: (i * 11) / 3 % 40 },
            })
            .collect();
        let t = trace::Trace { name: "synthetic".into(), ids: 40, ops };
        let mut slots = Vec::new();
        // The same work from every placement: the same trace's peak and
        // span, and after the same steady load (same seed), the same heap.
        let results: Vec<_> = (0..workloads::PLACEMENTS)
            .map(|p| {
                let a = make(c, &r, r.len);
                let once = workloads::replay_placed(&*a, &t, &mut slots, p).expect("the synthetic trace replays");
                drop(a);
                // SAFETY: the region outlives the heap, which is the only
                // one over it now.
                let g = GlobalLeanHeap::<FixedRegion, Segregated>::new(heaplab::lean::LeanHeap::new(unsafe { FixedRegion::new(r.ptr, r.len) }));
                let done = workloads::steady_live_fixed(&g, 7, p, 500, 200, 3000);
                (once, done, g.with(|h| h.stats()))
            })
            .collect();
        assert!(results[0].2.heap_bytes > 0 && results[0].1 >= 3000, "the steady load did its work: {:?}", results[0]);
        assert!(results.windows(2).all(|w| w[0] == w[1]), "placements did different work: {results:?}");
        // Each placement its own code (on x86-64, where the padding makes
        // the copies differ; elsewhere a linker may fold identical ones).
        #[cfg(target_arch = "x86_64")]
        {
            let loops = workloads::placement_addresses();
            assert_eq!(loops.len(), workloads::PLACEMENTS as usize);
            let mut sorted = loops.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), loops.len(), "two placements share their code: {loops:x?}");
        }
    }

    /// The malloc-lab rows' targets: throughput over talc and the checked
    /// heap over the global build, utilization against dlmalloc for best
    /// and segregated fit (to four decimals, so that a tie reads as one).
    #[test]
    fn trace_targets_read_the_trace_rows() {
        let mut ops = Row::new("trace-ops", "malloc-lab traces: throughput", "M ops/s", true);
        ops.values = [("segregated", 105.0), ("checked(seg)", 70.0), ("talc", 92.0)].iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let mut util = Row::new("trace-util", "malloc-lab traces: utilization", "% peak live / span", true);
        util.values = [("best", 88.1452), ("segregated", 88.0415), ("dlmalloc", 88.1452)].iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let t = targets(&[ops, util]);
        for line in [
            "[met   ] segregated ≥ 1.1× talc, malloc-lab traces: 1.14×",
            "[MISSED] checked heap ≥ 0.85× global build (segregated), malloc-lab traces: 0.67×",
            "[met   ] malloc-lab utilization: best fit ≥ dlmalloc: 88.1452 % vs 88.1452 %",
            "[MISSED] malloc-lab utilization: segregated fit ≥ dlmalloc: 88.0415 % vs 88.1452 %",
        ] {
            assert!(t.contains(line), "no line {line:?}\n{t}");
        }
    }

    /// The wasm rows from `scripts/bench.mjs`: the wasm-only column of the
    /// size build appears, and the size target reads it, showing the
    /// default build's size beside it.
    #[test]
    fn wasm_rows_show_the_size_build() {
        let path = std::env::temp_dir().join(format!("heaplab-bench-wasm-{}.txt", std::process::id()));
        std::fs::write(&path, "wasm-ra-200 segregated 30\nwasm-ra-200 small(seg) 20\nwasm-ra-200 talc 25\nwasm-size segregated 4620\nwasm-size small(seg) 2733\nwasm-size talc 2810\nnot a row\n").unwrap();
        let rows = wasm_rows(path.to_str().unwrap());
        std::fs::remove_file(&path).unwrap();
        let table = print_table(&rows);
        let size = table.lines().find(|l| l.contains("wasm size")).unwrap();
        assert!(table.contains("| checked(seg) | small(seg) | talc |") && size.contains("| 2733 | 2810 |"), "{table}");
        let t = targets(&rows);
        assert!(t.contains("[met   ] wasm size: segregated-only ≤ talc: small(seg) 2733 vs talc 2810 bytes (default build, segregated: 4620 bytes)"), "{t}");
        assert!(t.contains("[MISSED] wasm size: default build ≤ 4,096 bytes: 4620 bytes"), "{t}");
        assert!(t.contains("[met   ] segregated ≥ 1.1× talc, wasm random actions ≤200 B: 1.20×"), "{t}");
    }

    /// Every variant of the random actions and of the 10k-live-blocks row
    /// runs every contender, and the variants table and targets name each.
    #[test]
    fn every_variant_runs_every_contender() {
        let r = Region::new(64 << 20);
        let runs = variant_runs(&r, &TINY);
        assert_eq!(runs.len(), VARIANTS.len());
        for ((name, small, big, live), (_, var, _)) in runs.iter().zip(VARIANTS) {
            // The 10k-live row runs unless the variant changes only the
            // realloc share (which that row has none of).
            let live_runs = var.realloc_in == Variant::BASE.realloc_in;
            assert_eq!(!live.is_empty(), live_runs, "{name}: 10k live figures");
            for c in ALL {
                for (row, m) in [("≤200 B", small), ("≤30 KB", big), ("10k live", live)] {
                    if row == "10k live" && !live_runs {
                        continue;
                    }
                    assert!(m.get(c.name).is_some_and(|&v| v > 0.0), "{name} {row}: no figure for {}", c.name);
                }
            }
        }
        assert!(runs.iter().filter(|r| !r.3.is_empty()).count() >= 5, "the 10k-live row under five variants");
        let table = print_variants(&runs);
        for (name, ..) in VARIANTS {
            assert!(table.contains(name), "{table}");
        }
        let t = variant_targets(&runs);
        assert_eq!(t.lines().count(), 6, "{t}");
        assert!(!t.contains("n/a"), "{t}");
    }

    /// The cycles-per-call table has a row per contender with a time for
    /// each kind of call.
    #[test]
    fn cycles_per_call_for_every_contender() {
        let r = Region::new(64 << 20);
        let all: Vec<&Contender> = ALL.iter().collect();
        let table = breakdown::run(&all, |c| make(c, &r, r.len), 200, 3000);
        for c in ALL {
            let row = table.lines().find(|l| l.starts_with(&format!("| {} |", c.name))).unwrap_or_else(|| panic!("no row for {}\n{table}", c.name));
            assert_eq!(row.matches('|').count(), 9, "{row}");
        }
    }

    /// The other generator draws other numbers with the same distributions:
    /// sizes and alignments within the harness's bounds, and the trait's
    /// formulas are the harness's own for SplitMix64.
    #[test]
    fn xoshiro_draws_other_numbers_from_the_same_distributions() {
        use workloads::{Draw, Xoshiro};
        let (mut a, mut b, mut x) = (Rng::new(5), Rng::new(5), Xoshiro::new(5));
        let mut same = 0;
        for _ in 0..10_000 {
            assert_eq!(Draw::size(&mut a, 200), b.size(200));
            assert_eq!(Draw::align(&mut a), b.align());
            let (s, al) = (x.size(200), x.align());
            assert!((4..200).contains(&s) && al.is_power_of_two() && al >= 8, "{s} {al}");
            same += usize::from(s == Draw::size(&mut Rng::new(5), 200));
        }
        assert!(same < 1_000, "xoshiro256** drew SplitMix64's sizes");
    }

    /// The kernel rows (issue 22): every contender of each row gives a
    /// rate for every round, the table shows each with heaplab's ratios,
    /// and kmalloc replays every malloc-lab trace (when they are there).
    #[test]
    fn kernel_rows_measure_every_contender() {
        let r = Region::new(64 << 20);
        let (pages, objects, util) = kernel_rows(&r, &TINY);
        for (rates, names) in [(&pages, &kernel::PAGE_CONTENDERS[..]), (&objects, &kernel::OBJECT_CONTENDERS[..])] {
            assert_eq!(rates.iter().map(|(n, _)| *n).collect::<Vec<_>>(), names);
            for (name, v) in rates {
                assert_eq!(v.len(), TINY.kernel.rounds as usize, "{name}: one rate per timed round");
                assert!(v.iter().all(|&x| x > 0.0 && x.is_finite()), "{name}: {v:?}");
            }
        }
        let table = kernel::table(&TINY.kernel, &pages, &objects, util.as_deref());
        assert!(table.contains("| pages: random alloc/free of 1–16 pages | M ops/s | buddy "), "{table}");
        assert!(table.contains("× bsa Heap") && table.contains("× bsa Frame"), "{table}");
        assert!(table.contains("| small objects 32–512 B, random alloc/free | M ops/s | kmalloc ") && table.contains("× segregated, ") && table.contains("× talc"), "{table}");
        let Some(util) = util else {
            assert!(table.contains("– (no traces"), "{table}");
            eprintln!("skipped the utilization half: no malloc-lab traces in ../shared/traces/malloclab");
            return;
        };
        for (name, u) in &util {
            assert!(u.iter().all(Option::is_some), "{name}: a malloc-lab trace failed to replay: {u:?}");
            let (mean, _) = kernel::mean_util(u);
            assert!((10.0..=100.0).contains(&mean), "{name}: utilization {mean} % is not plausible");
        }
        assert!(table.contains("| malloc-lab traces: utilization (mean) | % peak live / span | kmalloc "), "{table}");
    }

    /// kmalloc through `GlobalAlloc`: objects aligned as asked, realloc as
    /// Linux's krealloc (in place while the object's class holds the new
    /// size, else moved with its contents), a large block from the buddy
    /// allocator, layouts aligned above a page refused.
    #[test]
    fn kmalloc_as_a_global_alloc() {
        use std::alloc::GlobalAlloc as _;
        let r = Region::new(8 << 20);
        // SAFETY: the region outlives the allocator and nothing else uses it.
        let k = unsafe { kernel::Kmalloc::new(r.ptr, r.len) };
        let l = std::alloc::Layout::from_size_align(96, 8).unwrap();
        // SAFETY: each pointer is used while live, with its layout.
        unsafe {
            let p = k.alloc(l);
            assert!(!p.is_null() && p.addr() % 128 == 0, "96 B comes from kmalloc-128, aligned to 128: {p:p}");
            for i in 0..96 {
                p.add(i).write(i as u8);
            }
            assert_eq!(k.realloc(p, l, 128), p, "128 B still fit in the 128-byte object");
            let q = k.realloc(p, std::alloc::Layout::from_size_align(128, 8).unwrap(), 5000);
            assert!(!q.is_null() && q != p && q.addr() % 4096 == 0, "5000 B is a buddy block of two pages: {q:p}");
            assert!((0..96).all(|i| q.add(i).read() == i as u8), "the contents moved with the object");
            let a = k.alloc(std::alloc::Layout::from_size_align(24, 256).unwrap());
            assert!(!a.is_null() && a.addr() % 256 == 0, "alignment 256 from kmalloc-256: {a:p}");
            assert!(k.alloc(std::alloc::Layout::from_size_align(64, 8192).unwrap()).is_null(), "alignment above a page is refused");
            k.dealloc(a, std::alloc::Layout::from_size_align(24, 256).unwrap());
            k.dealloc(q, std::alloc::Layout::from_size_align(5000, 8).unwrap());
        }
    }

    #[test]
    fn every_contender_replays_the_malloclab_traces() {
        let r = Region::new(64 << 20);
        let Some((speed, util)) = trace_rows(&r, &TINY) else {
            eprintln!("skipped: no malloc-lab traces in ../shared/traces/malloclab");
            return;
        };
        for c in ALL {
            assert!(speed.get(c.name).is_some_and(|v| v > 0.0), "{}: no trace throughput", c.name);
            let u = util.get(c.name).unwrap();
            assert!((50.0..=100.0).contains(&u), "{}: utilization {u} % is not plausible", c.name);
        }
    }
}
