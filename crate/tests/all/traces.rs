//! Replays every malloc-lab trace under every policy, with the course
//! driver's checks (aligned, inside the heap, no overlap, realloc keeps the
//! bytes) and a full integrity check along the way.

use crate::common::{assert_all_free, TestHeap};
use crate::model::Driver;
use heaplab::heap::{Coalesce, Config};
use heaplab::policy::{AnyPolicy, PolicyKind};
use std::path::PathBuf;

/// One parsed trace.
pub struct Trace {
    pub name: String,
    pub ids: usize,
    pub ops: Vec<(char, usize, usize)>,
}

/// Parses both header variants (classic 4 lines, short 2 lines).
pub fn parse(name: &str, text: &str) -> Trace {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let header = lines.iter().take_while(|l| l.split_whitespace().count() == 1 && l.parse::<f64>().is_ok()).count();
    let nums: Vec<usize> = lines[..header].iter().map(|l| l.parse::<f64>().unwrap() as usize).collect();
    let ids = match header {
        4 => nums[1],
        2 => nums[0],
        n => panic!("{name}: unexpected header of {n} lines"),
    };
    let ops = lines[header..]
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let c = f[0].chars().next().unwrap();
            let id: usize = f[1].parse().unwrap();
            let size = if c == 'f' { 0 } else { f[2].parse().unwrap() };
            (c, id, size)
        })
        .collect();
    Trace { name: name.to_string(), ids, ops }
}

/// The traces folder: `<root>/shared/traces/malloclab` next to `<root>/main`.
pub fn folder() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces/malloclab");
    p.is_dir().then_some(p)
}

pub fn load() -> Vec<Trace> {
    let Some(dir) = folder() else {
        println!("skipping trace replays: shared/traces/malloclab not found next to the repository");
        return Vec::new();
    };
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "rep")).collect();
    files.sort();
    files.iter().map(|p| parse(&p.file_name().unwrap().to_string_lossy(), &std::fs::read_to_string(p).unwrap())).collect()
}

fn replay(t: &Trace, config: Config) -> f64 {
    let mut th = TestHeap::<AnyPolicy>::new(64 << 20, config);
    let mut d = Driver::new(&mut th.heap, t.ids);
    d.shadow.fill_limit = Some(64);
    d.check_every = if cfg!(debug_assertions) { 1000 } else { 100 };
    for &(c, id, size) in &t.ops {
        let r = match c {
            'a' => d.alloc(id, size.max(1), 8),
            'r' => d.realloc(id, size.max(1)),
            'f' => {
                d.free(id);
                Ok(())
            }
            _ => panic!("{}: unknown op {c}", t.name),
        };
        r.unwrap_or_else(|e| panic!("{} under {config:?}: {e}", t.name));
    }
    d.free_all();
    let util = th.heap.stats().utilization;
    assert_all_free(&mut th.heap);
    util
}

#[test]
fn classic_and_short_headers_parse() {
    let a = parse("a", "20000\n6\n12\n1\na 0 10\nf 0\n");
    let b = parse("b", "6\n12\na 0 10\nr 0 20\nf 0\n");
    assert_eq!((a.ids, a.ops.len(), b.ids, b.ops.len()), (6, 2, 6, 3));
}

#[test]
fn replay_every_trace_under_every_policy() {
    for t in load() {
        for &kind in PolicyKind::ALL {
            let util = replay(&t, Config { policy: kind, ..Config::DEFAULT });
            println!("{:<20} {:<12} utilization {:.1}%", t.name, kind.name(), util * 100.0);
            assert!(util > 0.05, "{} under {}: utilization {util}", t.name, kind.name());
        }
    }
}

#[test]
fn replay_every_trace_deferred() {
    for t in load() {
        for &kind in PolicyKind::ALL {
            replay(&t, Config { policy: kind, coalesce: Coalesce::Deferred, ..Config::DEFAULT });
        }
    }
}
