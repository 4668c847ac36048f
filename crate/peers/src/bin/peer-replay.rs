//! Replays malloc-lab `.rep` traces on every production allocator natively
//! and prints one JSON line per trace and allocator:
//! `{"trace":…,"peer":…,"operations":…,"peakLiveRequested":…,"span":…,"utilization":…,"failed":…}`.
//! Built for a 32-bit target (`i686-unknown-linux-musl`), its figures are
//! those of the wasm32 modules the compare page runs: the test of the page's
//! figures compares the two.
//!
//! Usage: peer-replay [--limit BYTES] trace.rep ...

use heaplab_peers::replay::{peers, Op};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut limit = 256usize << 20;
    if let Some(i) = args.iter().position(|a| a == "--limit") {
        let Some(n) = args.get(i + 1).and_then(|v| v.parse().ok()) else {
            eprintln!("peer-replay: --limit takes a number of bytes");
            return ExitCode::from(2);
        };
        limit = n;
        args.drain(i..i + 2);
    }
    if args.is_empty() {
        eprintln!("usage: peer-replay [--limit BYTES] trace.rep ...");
        return ExitCode::from(2);
    }
    let mut status = ExitCode::SUCCESS;
    for path in &args {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("peer-replay: {path}: {e}");
                status = ExitCode::FAILURE;
                continue;
            }
        };
        let trace = match heaplab_trace::Trace::parse(&text) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("peer-replay: {path}: {e}");
                status = ExitCode::FAILURE;
                continue;
            }
        };
        let ops: Vec<Op> = trace
            .ops()
            .map(|(_, op)| match op {
                heaplab_trace::Op::Alloc { id, size } => Op::Alloc(id, size),
                heaplab_trace::Op::Realloc { id, size } => Op::Realloc(id, size),
                heaplab_trace::Op::Free { id } => Op::Free(id),
            })
            .collect();
        for (name, run) in peers() {
            let f = run(&ops, trace.header.ids, limit);
            let failed = f.failed.map_or("null".to_string(), |i| i.to_string());
            println!(
                "{{\"trace\":{:?},\"peer\":{:?},\"operations\":{},\"peakLiveRequested\":{},\"span\":{},\"utilization\":{},\"failed\":{}}}",
                path, name, f.operations, f.peak_live_requested, f.span, f.utilization, failed
            );
        }
    }
    status
}
