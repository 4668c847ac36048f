//! The property suite, generic over the policy: add one `policy_suite!` line
//! per policy.

use crate::common::{assert_all_free, TestHeap};
use crate::model::Driver;
use heaplab::heap::{Coalesce, Config};
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

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 1usize..64,
        6 => 64usize..1024,
        2 => 1024usize..20_000,
        1 => 20_000usize..150_000,
    ]
}

pub fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (0..SLOTS, size(), 0u32..13).prop_map(|(slot, size, align_log)| Op::Alloc { slot, size, align_log: if align_log > 6 && align_log < 12 { 3 } else { align_log } }),
        2 => (0..SLOTS, size()).prop_map(|(slot, size)| Op::Realloc { slot, size }),
        3 => (0..SLOTS).prop_map(|slot| Op::Free { slot }),
    ];
    proptest::collection::vec(op, 1..80)
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

pub fn configs() -> impl Strategy<Value = Config> {
    (any::<bool>(), any::<bool>(), prop_oneof![Just(0usize), Just(64), Just(256)], prop_oneof![Just(64 * 1024), Just(8192)])
        .prop_map(|(deferred, g16, split_min, large_min)| Config {
            coalesce: if deferred { Coalesce::Deferred } else { Coalesce::Immediate },
            align: if g16 { 16 } else { 8 },
            split_min,
            large_min,
            ..Config::DEFAULT
        })
}

macro_rules! policy_suite {
    ($name:ident, $policy:ty) => {
        mod $name {
            use super::*;

            proptest! {
                #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
                #[test]
                fn immediate(ops in ops()) {
                    run::<$policy>(&ops, Config::DEFAULT);
                }

                #[test]
                fn deferred(ops in ops()) {
                    run::<$policy>(&ops, Config { coalesce: Coalesce::Deferred, ..Config::DEFAULT });
                }

                #[test]
                fn any_config(ops in ops(), config in configs()) {
                    run::<$policy>(&ops, config);
                }
            }
        }
    };
}

policy_suite!(first_fit, heaplab::policy::FirstFit);
policy_suite!(next_fit, heaplab::policy::NextFit);
policy_suite!(best_fit, heaplab::policy::BestFit);
policy_suite!(worst_fit, heaplab::policy::WorstFit);
policy_suite!(segregated, heaplab::policy::Segregated);
policy_suite!(any_policy, heaplab::policy::AnyPolicy);

/// The runtime choice: every `PolicyKind` through `AnyPolicy`.
#[test]
fn every_kind_through_any_policy() {
    use heaplab::policy::{AnyPolicy, PolicyKind};
    let ops: Vec<Op> = (0..200)
        .map(|i| match i % 5 {
            0 | 1 => Op::Alloc { slot: i % SLOTS, size: 1 + (i * 37) % 900, align_log: (i % 5) as u32 },
            2 => Op::Realloc { slot: (i * 7) % SLOTS, size: 1 + (i * 53) % 3000 },
            _ => Op::Free { slot: (i * 3) % SLOTS },
        })
        .collect();
    for &kind in PolicyKind::ALL {
        for coalesce in [Coalesce::Immediate, Coalesce::Deferred] {
            let config = Config { policy: kind, coalesce, ..Config::DEFAULT };
            run::<AnyPolicy>(&ops, config);
            let t = TestHeap::<AnyPolicy>::new(1 << 20, config);
            assert_eq!(t.heap.policy_kind(), kind);
        }
    }
}
