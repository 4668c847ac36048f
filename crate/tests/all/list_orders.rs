//! Free-list orders (OSTEP's `malloc.py -l`): the order the core reports
//! after each step of fixed sequences, the block each policy then takes,
//! random programs under every (policy, order), and list policies checked
//! against the classic indexes they must equal.

use crate::common::TestHeap;
use crate::suites::{self, ops, Op, SLOTS};
use heaplab::heap::{Coalesce, Config, Heap};
use heaplab::pages::FixedRegion;
use heaplab::policy::{AnyPolicy, ListOrder, Ordered, Policy, PolicyKind};
use proptest::prelude::*;

use ListOrder::{Address, Fifo, Lifo, SizeAsc, SizeDesc};
use PolicyKind::{BestFit, FirstFit, NextFit, Segregated, WorstFit};

/// Granule 8: `malloc(n)` takes a block of `round_up(n + 8, 8)` bytes, at
/// least 32 (header, two links, footer).
/// The free list's own order, with no quick lists in front of it (a block
/// waiting on one is not on the free list).
const NO_QUICK: Config = Config { quick_lists: false, ..Config::DEFAULT };

fn config(policy: PolicyKind, list_order: Option<ListOrder>) -> Config {
    Config { policy, list_order, align: 8, ..NO_QUICK }
}

/// The free lists as offsets from `base`, list by list.
fn lists<P: Policy>(h: &Heap<FixedRegion, P>, base: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    h.free_lists(|list, addr| {
        if out.len() <= list.index {
            out.push(Vec::new());
        }
        out[list.index].push(addr - base);
    });
    out
}

/// One row of the homework: a policy and order, the free list after the
/// frees and after each of two allocations, the block (offset) each
/// allocation returns, and next fit's rover after each of the three steps.
#[cfg(not(feature = "small"))]
struct Case {
    policy: PolicyKind,
    order: Option<ListOrder>,
    after_frees: &'static [&'static [usize]],
    first: (usize, &'static [&'static [usize]]),
    second: (usize, &'static [&'static [usize]]),
    rovers: [Option<usize>; 3],
}

/// The homework: blocks a (96 B at 0), b (32 B at 128), c (64 B at 192), d
/// (128 B at 288), each followed by a used 32-byte fence so that nothing
/// merges, then the rest of the arena (the tail, at 448). Free c, a, d, b;
/// then `malloc(40)` (a 48-byte block) and `malloc(24)` (32 bytes).
///
/// ```text
///  0        96   128  160  192     256  288          416  448
///  [a 96    ][f ][b 32][f ][c 64   ][f ][d 128       ][f ][tail ...
/// ```
#[cfg(not(feature = "small"))]
const CASES: &[Case] = &[
    // First fit: the first block in list order that fits.
    Case { policy: FirstFit, order: None, after_frees: &[&[0, 128, 192, 288, 448]], first: (0, &[&[48, 128, 192, 288, 448]]), second: (48, &[&[128, 192, 288, 448]]), rovers: [None; 3] },
    Case { policy: FirstFit, order: Some(Lifo), after_frees: &[&[128, 288, 0, 192, 448]], first: (288, &[&[336, 128, 0, 192, 448]]), second: (336, &[&[368, 128, 0, 192, 448]]), rovers: [None; 3] },
    Case { policy: FirstFit, order: Some(Fifo), after_frees: &[&[448, 192, 0, 288, 128]], first: (448, &[&[192, 0, 288, 128, 496]]), second: (192, &[&[0, 288, 128, 496, 224]]), rovers: [None; 3] },
    // Over a size-ascending list first fit is best fit; descending, worst fit.
    Case { policy: FirstFit, order: Some(SizeAsc), after_frees: &[&[128, 192, 0, 288, 448]], first: (192, &[&[128, 0, 288, 448]]), second: (128, &[&[0, 288, 448]]), rovers: [None; 3] },
    Case { policy: FirstFit, order: Some(SizeDesc), after_frees: &[&[448, 288, 0, 192, 128]], first: (448, &[&[496, 288, 0, 192, 128]]), second: (496, &[&[528, 288, 0, 192, 128]]), rovers: [None; 3] },
    // Next fit: from the rover, which follows the tail while the tail is
    // split in place (address order), and otherwise moves to the block
    // after the one taken.
    Case { policy: NextFit, order: None, after_frees: &[&[0, 128, 192, 288, 448]], first: (448, &[&[0, 128, 192, 288, 496]]), second: (496, &[&[0, 128, 192, 288, 528]]), rovers: [Some(448), Some(496), Some(528)] },
    Case { policy: NextFit, order: Some(Lifo), after_frees: &[&[128, 288, 0, 192, 448]], first: (288, &[&[336, 128, 0, 192, 448]]), second: (0, &[&[32, 336, 128, 192, 448]]), rovers: [Some(128), Some(0), Some(192)] },
    Case { policy: NextFit, order: Some(Fifo), after_frees: &[&[448, 192, 0, 288, 128]], first: (448, &[&[192, 0, 288, 128, 496]]), second: (192, &[&[0, 288, 128, 496, 224]]), rovers: [Some(448), Some(192), Some(0)] },
    Case { policy: NextFit, order: Some(SizeAsc), after_frees: &[&[128, 192, 0, 288, 448]], first: (192, &[&[128, 0, 288, 448]]), second: (0, &[&[128, 32, 288, 448]]), rovers: [Some(128), Some(0), Some(288)] },
    Case { policy: NextFit, order: Some(SizeDesc), after_frees: &[&[448, 288, 0, 192, 128]], first: (448, &[&[496, 288, 0, 192, 128]]), second: (288, &[&[496, 0, 320, 192, 128]]), rovers: [Some(448), Some(288), Some(0)] },
    // Best fit: the smallest block that fits, whatever the order; the free
    // block that ends the heap (448, the wilderness) is a list of its own,
    // taken only when no other block fits.
    Case { policy: BestFit, order: None, after_frees: &[&[128, 192, 0, 288], &[448]], first: (192, &[&[128, 0, 288], &[448]]), second: (128, &[&[0, 288], &[448]]), rovers: [None; 3] },
    Case { policy: BestFit, order: Some(Address), after_frees: &[&[0, 128, 192, 288], &[448]], first: (192, &[&[0, 128, 288], &[448]]), second: (128, &[&[0, 288], &[448]]), rovers: [None; 3] },
    Case { policy: BestFit, order: Some(Lifo), after_frees: &[&[128, 288, 0, 192], &[448]], first: (192, &[&[128, 288, 0], &[448]]), second: (128, &[&[288, 0], &[448]]), rovers: [None; 3] },
    Case { policy: BestFit, order: Some(Fifo), after_frees: &[&[192, 0, 288, 128], &[448]], first: (192, &[&[0, 288, 128], &[448]]), second: (128, &[&[0, 288], &[448]]), rovers: [None; 3] },
    Case { policy: BestFit, order: Some(SizeDesc), after_frees: &[&[288, 0, 192, 128], &[448]], first: (192, &[&[288, 0, 128], &[448]]), second: (128, &[&[288, 0], &[448]]), rovers: [None; 3] },
    // Worst fit: the largest block, whatever the order.
    Case { policy: WorstFit, order: None, after_frees: &[&[128, 192, 0, 288, 448]], first: (448, &[&[128, 192, 0, 288, 496]]), second: (496, &[&[128, 192, 0, 288, 528]]), rovers: [None; 3] },
    Case { policy: WorstFit, order: Some(Address), after_frees: &[&[0, 128, 192, 288, 448]], first: (448, &[&[0, 128, 192, 288, 496]]), second: (496, &[&[0, 128, 192, 288, 528]]), rovers: [None; 3] },
    Case { policy: WorstFit, order: Some(Lifo), after_frees: &[&[128, 288, 0, 192, 448]], first: (448, &[&[496, 128, 288, 0, 192]]), second: (496, &[&[528, 128, 288, 0, 192]]), rovers: [None; 3] },
    Case { policy: WorstFit, order: Some(Fifo), after_frees: &[&[448, 192, 0, 288, 128]], first: (448, &[&[192, 0, 288, 128, 496]]), second: (496, &[&[192, 0, 288, 128, 528]]), rovers: [None; 3] },
    Case { policy: WorstFit, order: Some(SizeDesc), after_frees: &[&[448, 288, 0, 192, 128]], first: (448, &[&[496, 288, 0, 192, 128]]), second: (496, &[&[528, 288, 0, 192, 128]]), rovers: [None; 3] },
    // Segregated fit: one list per size class, the smallest class first; a
    // request goes to the first non-empty class that holds it.
    Case { policy: Segregated, order: None, after_frees: &[&[128], &[192], &[0], &[288], &[448]], first: (192, &[&[128], &[0], &[288], &[448]]), second: (128, &[&[0], &[288], &[448]]), rovers: [None; 3] },
];

#[cfg(not(feature = "small"))] // the size build keeps no wilderness and no quick lists
#[test]
fn homework_free_list_after_each_step() {
    for case in CASES {
        let name = format!("{} {:?}", case.policy.name(), case.order.map(ListOrder::name));
        let mut t = TestHeap::<AnyPolicy>::new(1 << 20, config(case.policy, case.order));
        let h = &mut t.heap;
        let mut blocks = Vec::new();
        for size in [88, 8, 24, 8, 56, 8, 120, 8] {
            blocks.push(h.alloc(size, 8).unwrap().as_ptr());
        }
        let base = blocks[0].addr() - 8;
        let offsets: Vec<usize> = blocks.iter().map(|p| p.addr() - 8 - base).collect();
        assert_eq!(offsets, [0, 96, 128, 160, 192, 256, 288, 416], "{name}: layout");
        for i in [4, 0, 6, 2] {
            h.free(blocks[i]).unwrap();
        }
        h.check().unwrap();
        let want_order = case.order.unwrap_or(ListOrder::default_for(case.policy));
        assert_eq!(h.list_order(), want_order, "{name}: order");
        let rover = |h: &Heap<FixedRegion, AnyPolicy>| h.rover().map(|r| r - base);
        assert_eq!(lists(h, base), case.after_frees, "{name}: free list after the frees");
        assert_eq!(rover(h), case.rovers[0], "{name}: rover after the frees");
        for (step, (size, (at, want))) in [(40, case.first), (24, case.second)].into_iter().enumerate() {
            let p = h.alloc(size, 8).unwrap();
            h.check().unwrap();
            assert_eq!(p.as_ptr().addr() - 8 - base, at, "{name}: block malloc({size}) takes");
            assert_eq!(lists(h, base), want, "{name}: free list after malloc({size})");
            assert_eq!(rover(h), case.rovers[step + 1], "{name}: rover after malloc({size})");
        }
    }
}

/// Among equal sizes, best fit over a list takes the first in list order;
/// its size index takes the block freed first.
#[test]
fn best_fit_ties_go_to_the_first_in_list_order() {
    // p and q: 64-byte blocks, each followed by a fence; p is freed first.
    for (order, want_q) in [(None, false), (Some(Address), false), (Some(Lifo), true), (Some(Fifo), false), (Some(SizeAsc), false), (Some(SizeDesc), false)] {
        let mut t = TestHeap::<AnyPolicy>::new(1 << 20, config(BestFit, order));
        let h = &mut t.heap;
        let [p, _, q, _] = [56, 8, 56, 8].map(|s| h.alloc(s, 8).unwrap().as_ptr());
        h.free(p).unwrap();
        h.free(q).unwrap();
        let got = h.alloc(50, 8).unwrap().as_ptr();
        assert_eq!(got, if want_q { q } else { p }, "best fit, order {order:?}");
        h.check().unwrap();
    }
}

/// A merged block leaves the list and goes back where the order puts it
/// (the front under LIFO, the back under FIFO, its size's place when
/// sorted by size).
#[cfg(not(feature = "small"))] // the size build keeps no wilderness
#[test]
fn merged_blocks_are_inserted_by_the_order() {
    // x (64 at 0), f (32 at 64), y (64 at 96), g (32 at 160), z (32 at
    // 192), h (32 at 224), tail at 256. Free x, y, z; then f merges x, f
    // and y into one 160-byte block at 0.
    let cases: [(ListOrder, &[usize], &[usize]); 5] = [
        (Address, &[0, 96, 192, 256], &[0, 192, 256]),
        (Lifo, &[192, 96, 0, 256], &[0, 192, 256]),
        (Fifo, &[256, 0, 96, 192], &[256, 192, 0]),
        (SizeAsc, &[192, 0, 96, 256], &[192, 0, 256]),
        (SizeDesc, &[256, 0, 96, 192], &[256, 0, 192]),
    ];
    for policy in [FirstFit, NextFit, BestFit, WorstFit] {
        for (order, before, after) in cases {
            let mut t = TestHeap::<AnyPolicy>::new(1 << 20, config(policy, Some(order)));
            let h = &mut t.heap;
            let [x, f, y, _, z, _] = [56, 24, 56, 24, 24, 24].map(|s| h.alloc(s, 8).unwrap().as_ptr());
            let base = x.addr() - 8;
            for p in [x, y, z] {
                h.free(p).unwrap();
            }
            // Best fit keeps the block that ends the heap (256, the
            // wilderness) in a list of its own, after the others.
            let want = |l: &[usize]| match policy {
                BestFit => vec![l.iter().copied().filter(|&o| o != 256).collect(), vec![256]],
                _ => vec![l.to_vec()],
            };
            assert_eq!(lists(h, base), want(before), "{} {order:?}: before the merge", policy.name());
            h.free(f).unwrap();
            h.check().unwrap();
            assert_eq!(lists(h, base), want(after), "{} {order:?}: after the merge", policy.name());
            let merged = h.blocks().find(|b| b.addr == base).unwrap();
            assert_eq!((merged.used, merged.size), (false, 160), "x, f and y are one free block");
        }
    }
}

/// Deferred coalescing: the sweep's merged blocks are inserted by the order
/// too, and `check` holds throughout.
#[test]
fn sweep_merges_and_inserts_by_the_order() {
    for order in [Address, Lifo, Fifo, SizeAsc, SizeDesc] {
        let config = Config { coalesce: Coalesce::Deferred, ..config(FirstFit, Some(order)) };
        let mut t = TestHeap::<AnyPolicy>::new(1 << 20, config);
        let h = &mut t.heap;
        let ps: Vec<_> = [56, 24, 56, 24, 120].iter().map(|&s| h.alloc(s, 8).unwrap().as_ptr()).collect();
        let base = ps[0].addr() - 8;
        for &i in &[0, 1, 2, 4] {
            h.free(ps[i]).unwrap();
        }
        assert_eq!(h.stats().free_blocks, 5, "{order:?}: nothing merged yet");
        h.check().unwrap();
        h.sweep();
        h.check().unwrap();
        let l = lists(h, base);
        assert_eq!(l.len(), 1);
        let mut sorted = l[0].clone();
        sorted.sort_unstable();
        // 0..160 (three blocks) merged; the 128-byte block at 192 merged
        // with the tail after it.
        assert_eq!(sorted, [0, 192], "{order:?}: merged blocks");
        let want = match order {
            Address => [0, 192],
            // The sweep walks in address order and inserts each merged run.
            Lifo => [192, 0],
            Fifo => [0, 192],
            SizeAsc => [0, 192],
            _ => [192, 0],
        };
        assert_eq!(l[0], want, "{order:?}: merged blocks' order");
    }
}

/// Options out of range are normalized: an order a policy cannot keep
/// becomes its own, and a single-policy heap type keeps its own.
#[test]
fn orders_a_policy_cannot_keep_become_its_own() {
    let t = TestHeap::<AnyPolicy>::new(1 << 20, config(Segregated, Some(Lifo)));
    assert_eq!(t.heap.list_order(), ListOrder::SizeClass);
    assert_eq!(t.heap.config().list_order, Some(ListOrder::SizeClass));
    let t = TestHeap::<AnyPolicy>::new(1 << 20, config(FirstFit, Some(ListOrder::SizeClass)));
    assert_eq!(t.heap.list_order(), Address);
    let t = TestHeap::<heaplab::policy::FirstFit>::new(1 << 20, config(FirstFit, Some(Lifo)));
    assert_eq!(t.heap.list_order(), Address);
    for &kind in PolicyKind::ALL {
        for &order in ListOrder::ALL {
            assert_eq!(order.suits(kind), (kind == Segregated) == (order == ListOrder::SizeClass), "{kind:?} {order:?}");
            assert_eq!(ListOrder::from_name(order.name()), Some(order));
        }
    }
}

/// Every (policy, order) the options allow.
fn kinds_and_orders() -> impl Iterator<Item = (PolicyKind, ListOrder)> {
    PolicyKind::ALL.iter().flat_map(|&k| ListOrder::ALL.iter().filter(move |o| o.suits(k)).map(move |&o| (k, o)))
}

/// A fixed program under every (policy, order), immediate and deferred,
/// granule 8 and 16, checked after every step; the list holds exactly the
/// free blocks.
#[test]
fn every_policy_and_order_runs_a_program() {
    let ops: Vec<Op> = (0..300)
        .map(|i| match i % 7 {
            0..=2 => Op::Alloc { slot: (i * 5) % SLOTS, size: 1 + (i * 37) % 700, align_log: (i % 6) as u32 },
            3 => Op::Realloc { slot: (i * 7) % SLOTS, size: 1 + (i * 53) % 2500 },
            _ => Op::Free { slot: (i * 3) % SLOTS },
        })
        .collect();
    for (kind, order) in kinds_and_orders() {
        for coalesce in [Coalesce::Immediate, Coalesce::Deferred] {
            for align in [8, 16] {
                let config = Config { policy: kind, list_order: Some(order), coalesce, align, ..NO_QUICK };
                suites::run::<AnyPolicy>(&ops, config);
            }
        }
        let mut t = TestHeap::<AnyPolicy>::new(1 << 20, Config { policy: kind, list_order: Some(order), ..NO_QUICK });
        let h = &mut t.heap;
        let ps: Vec<_> = (1..40).map(|i| h.alloc(i * 24, 8).unwrap()).collect();
        for p in ps.iter().step_by(3) {
            h.free(p.as_ptr()).unwrap();
        }
        let mut listed = Vec::new();
        h.free_lists(|_, a| listed.push(a));
        let mut free: Vec<usize> = h.blocks().filter(|b| !b.used).map(|b| b.addr).collect();
        assert_eq!(listed.len(), h.stats().free_blocks, "{kind:?} {order:?}");
        listed.sort_unstable();
        free.sort_unstable();
        assert_eq!(listed, free, "{kind:?} {order:?}: the lists hold exactly the free blocks");
    }
}

/// Runs `ops` on two heaps, checking after each step that both return the
/// same offsets and report the same free lists.
fn same_behaviour<P: Policy, Q: Policy>(ops: &[Op], a: Config, b: Config) {
    let mut ta = TestHeap::<P>::new(4 << 20, a);
    let mut tb = TestHeap::<Q>::new(4 << 20, b);
    let (ha, hb) = (&mut ta.heap, &mut tb.heap);
    let mut slots = [(std::ptr::null_mut::<u8>(), std::ptr::null_mut::<u8>()); SLOTS];
    let mut bases = (0, 0);
    for (i, op) in ops.iter().enumerate() {
        match *op {
            Op::Alloc { slot, size, align_log } if slots[slot].0.is_null() => {
                let (pa, pb) = (ha.alloc(size, 1 << align_log), hb.alloc(size, 1 << align_log));
                let (pa, pb) = (pa.unwrap().as_ptr(), pb.unwrap().as_ptr());
                if bases == (0, 0) {
                    bases = (ha.segments().next().unwrap().0, hb.segments().next().unwrap().0);
                }
                assert_eq!(pa.addr() - bases.0, pb.addr() - bases.1, "step {i}: {op:?}");
                slots[slot] = (pa, pb);
            }
            Op::Realloc { slot, size } if !slots[slot].0.is_null() => {
                let pa = ha.realloc(slots[slot].0, size).unwrap().as_ptr();
                let pb = hb.realloc(slots[slot].1, size).unwrap().as_ptr();
                assert_eq!(pa.addr() - bases.0, pb.addr() - bases.1, "step {i}: {op:?}");
                slots[slot] = (pa, pb);
            }
            Op::Free { slot } if !slots[slot].0.is_null() => {
                ha.free(slots[slot].0).unwrap();
                hb.free(slots[slot].1).unwrap();
                slots[slot] = (std::ptr::null_mut(), std::ptr::null_mut());
            }
            _ => continue,
        }
        if bases != (0, 0) && ha.list_order() == hb.list_order() {
            assert_eq!(lists(ha, bases.0), lists(hb, bases.1), "step {i}: {op:?}: free lists");
            assert_eq!(ha.rover().map(|r| r - bases.0), hb.rover().map(|r| r - bases.1), "step {i}: rover");
        }
    }
    ha.check().unwrap();
    hb.check().unwrap();
}

/// Ops whose alignment is at most the granule (8), so that any block big
/// enough fits.
fn granule_ops() -> impl Strategy<Value = Vec<Op>> {
    ops().prop_map(|v| {
        v.into_iter()
            .map(|op| match op {
                Op::Alloc { slot, size, .. } => Op::Alloc { slot, size, align_log: 3 },
                other => other,
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random programs under every (policy, order), checked after each step.
    #[test]
    fn random_programs_under_every_order(ops in ops(), pick in 0usize..32, deferred in any::<bool>()) {
        let all: Vec<_> = kinds_and_orders().collect();
        let (kind, order) = all[pick % all.len()];
        let coalesce = if deferred { Coalesce::Deferred } else { Coalesce::Immediate };
        suites::run::<AnyPolicy>(&ops, Config { policy: kind, list_order: Some(order), coalesce, ..NO_QUICK });
    }

    /// The list policy in address order is first fit and next fit exactly:
    /// the same blocks, the same list, the same rover.
    #[test]
    fn address_ordered_list_is_first_and_next_fit(ops in ops(), next in any::<bool>()) {
        let kind = if next { NextFit } else { FirstFit };
        let c = Config { policy: kind, list_order: Some(Address), ..NO_QUICK };
        if next {
            same_behaviour::<Ordered, heaplab::policy::NextFit>(&ops, c, c);
        } else {
            same_behaviour::<Ordered, heaplab::policy::FirstFit>(&ops, c, c);
        }
    }

    /// Best fit over a size-ascending list is its size index exactly (the
    /// smallest block, the oldest of equal sizes, alignment included);
    /// worst fit over a size-descending list is its index when every
    /// block that is big enough fits.
    #[test]
    fn size_ordered_lists_are_the_size_index(ops in ops(), g_ops in granule_ops()) {
        let best = Config { policy: BestFit, list_order: Some(SizeAsc), ..NO_QUICK };
        same_behaviour::<Ordered, heaplab::policy::BestFit>(&ops, best, best);
        let worst = Config { policy: WorstFit, list_order: Some(SizeDesc), align: 8, ..NO_QUICK };
        let index = Config { list_order: None, ..worst };
        same_behaviour::<Ordered, heaplab::policy::WorstFit>(&g_ops, worst, index);
    }
}

/// The quick lists as `(block size, header address)` pairs, in the order
/// the heap reports them.
#[cfg(not(feature = "small"))]
fn quick<P: Policy>(h: &Heap<FixedRegion, P>) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    h.quick_lists(|size, addr| out.push((size, addr)));
    out
}

#[cfg(not(feature = "small"))] // the size build has no quick lists
#[test]
fn quick_lists_hold_exactly_the_blocks_marked_quick_until_a_flush() {
    for policy in [BestFit, WorstFit, Segregated] {
        let mut t = TestHeap::<AnyPolicy>::new(1 << 20, Config { policy, quick_lists: true, ..Config::DEFAULT });
        let h = &mut t.heap;
        let small: Vec<_> = (0..3).map(|_| h.alloc(24, 8).unwrap()).collect();
        let other = h.alloc(100, 8).unwrap();
        let _fence = h.alloc(24, 8).unwrap();
        for p in [small[0], small[2], other] {
            h.free(p.as_ptr()).unwrap();
        }
        let listed = quick(h);
        let mut marked: Vec<(usize, usize)> = h.blocks().filter(|b| b.quick).map(|b| (b.size, b.addr)).collect();
        assert_eq!(listed.len(), 3, "{policy:?}: three blocks wait");
        // Smallest size first; within a size, the most recently freed first.
        let sizes: Vec<usize> = listed.iter().map(|&(s, _)| s).collect();
        assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{policy:?}: {sizes:?}");
        assert_eq!(listed[0].1 + 8, small[2].as_ptr() as usize, "{policy:?}");
        assert_eq!(listed[1].1 + 8, small[0].as_ptr() as usize, "{policy:?}");
        let mut sorted = listed.clone();
        sorted.sort_by_key(|&(_, a)| a);
        marked.sort_by_key(|&(_, a)| a);
        assert_eq!(sorted, marked, "{policy:?}: the quick lists are the blocks marked quick");
        let mut free = Vec::new();
        h.free_lists(|_, addr| free.push(addr));
        assert!(listed.iter().all(|(_, a)| !free.contains(a)), "{policy:?}: a quick block is on no free list");
        assert!(h.flush());
        assert!(quick(h).is_empty(), "{policy:?}: flushed");
    }
}
