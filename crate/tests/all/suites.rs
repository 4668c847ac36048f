//! Random programs (the operations the property suites draw) and `run`,
//! which replays one on the checked face with its model (`model.rs`). The
//! property suite over both faces of the engine is `faces.rs`.

use crate::common::{assert_all_free, TestHeap};
use crate::model::Driver;
use heaplab::heap::Config;
use heaplab::policy::Policy;
use proptest::prelude::*;

/// One step of a random program.
#[derive(Clone, Debug)]
pub enum Op {
    Alloc { slot: usize, size: usize, align_log: u32 },
    Realloc { slot: usize, size: usize },
    Free { slot: usize },
}

/// Slots a random program allocates into.
pub const SLOTS: usize = 24;

/// Request sizes: mostly small, some past a page, a few large objects
/// (under Miri, which interprets every byte written, at most 24 KiB).
fn size() -> impl Strategy<Value = usize> {
    let (mid, large) = if cfg!(miri) { (8_000, 24_000) } else { (20_000, 150_000) };
    prop_oneof![
        8 => 1usize..64,
        6 => 64usize..1024,
        2 => 1024usize..mid,
        1 => mid..large,
    ]
}

pub fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (0..SLOTS, size(), 0u32..13).prop_map(|(slot, size, align_log)| Op::Alloc { slot, size, align_log: if align_log > 6 && align_log < 12 { 3 } else { align_log } }),
        2 => (0..SLOTS, size()).prop_map(|(slot, size)| Op::Realloc { slot, size }),
        3 => (0..SLOTS).prop_map(|slot| Op::Free { slot }),
    ];
    proptest::collection::vec(op, 1..if cfg!(miri) { 16 } else { 80 })
}

/// Runs `ops` on a fresh heap with `config`, checking everything after each step.
pub fn run<P: Policy>(ops: &[Op], config: Config) {
    let mut t = TestHeap::<P>::new(8 << 20, config);
    let mut d = Driver::new(&mut t.heap, SLOTS);
    for op in ops {
        match *op {
            Op::Alloc { slot, size, align_log } => d.alloc(slot, size, 1 << align_log).unwrap(),
            Op::Realloc { slot, size } => d.realloc(slot, size).unwrap(),
            Op::Free { slot } => d.free(slot),
        }
    }
    d.free_all();
    assert_all_free(&mut t.heap);
}
