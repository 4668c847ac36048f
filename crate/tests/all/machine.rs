//! The whole machine (`heaplab::machine`): a kernel heap and application
//! heaps of different policies over one buddy allocator. Pages go back and
//! merge when a heap empties; no two heaps share a page; the walks pass.

use crate::common::Region;
use heaplab::buddy::BuddyStats;
use heaplab::events::{Event, Recorder};
use heaplab::heap::Config;
use heaplab::machine::{BuddyPages, Machine, NameError, Owner, MAX_HEAPS};
use heaplab::pages::{FixedRegion, PAGE};
use heaplab::policy::PolicyKind;
use heaplab::slab::Slab;
use heaplab::AllocError;
use proptest::prelude::*;
use std::cell::RefCell;

type Kernel = RefCell<Slab<FixedRegion, Recorder<1024>>>;

/// A kernel heap over `pages` pages that returns every empty slab.
fn kernel(region: &Region, pages: usize) -> Kernel {
    let mut slab = Slab::with_observer(region.source(), pages * PAGE, Recorder::new());
    slab.init().unwrap();
    slab.set_keep_empty(0);
    RefCell::new(slab)
}

fn config(policy: PolicyKind) -> Config {
    Config { policy, quick_lists: false, ..Config::DEFAULT }
}

fn buddy_stats(k: &Kernel) -> BuddyStats {
    k.borrow().buddy().stats()
}

#[test]
fn a_heap_that_frees_its_last_block_returns_its_pages_and_the_buddies_merge() {
    let region = Region::new(128 * PAGE);
    let k = kernel(&region, 128);
    let start = buddy_stats(&k);
    let mut m: Machine<&Kernel, Recorder<256>> = Machine::new(&k);
    let app1 = m.add_heap("app1", config(PolicyKind::FirstFit)).unwrap();
    let app2 = m.add_heap("app2", config(PolicyKind::BestFit)).unwrap();
    assert_eq!(m.heap_pages(app2), 0, "a heap takes no page before its first malloc");
    let kobj = k.borrow_mut().kmalloc(64).unwrap();
    let p = m.malloc(app1, 24).unwrap();
    let q = m.malloc(app2, 3000).unwrap();
    let r = m.malloc(app2, 100).unwrap();
    assert_eq!(m.owner_of(kobj.as_ptr().addr()), Owner::Kernel(Some(Slab::<FixedRegion>::kmalloc_cache(64).unwrap())));
    assert_eq!(m.owner_of(p.as_ptr().addr()), Owner::Heap(app1));
    assert_eq!(m.owner_of(q.as_ptr().addr()), Owner::Heap(app2));
    let app2_pages = m.heap_pages(app2);
    assert!(app2_pages.is_power_of_two(), "one buddy block of 2^k pages, got {app2_pages}");
    let used = buddy_stats(&k).used_pages;
    assert_eq!(used, m.heap_pages(app1) + app2_pages + 1, "app1, app2 and the kernel's one-page slab");
    m.check().unwrap();

    // Not the last block: nothing goes back.
    assert_eq!(m.free(app2, q.as_ptr()), Ok(0));
    assert_eq!(buddy_stats(&k).used_pages, used);
    k.borrow_mut().observer_mut().clear();
    // The last block: every page of app2 goes back, merged with its buddies.
    assert_eq!(m.free(app2, r.as_ptr()), Ok(app2_pages));
    assert_eq!(m.heap_pages(app2), 0);
    assert_eq!(buddy_stats(&k).used_pages, used - app2_pages);
    let events = k.borrow().observer().events().to_vec();
    assert!(events.iter().any(|e| matches!(e, Event::BuddyFree { order, .. } if 1 << order == app2_pages)), "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::BuddyMerge { .. })), "the returned block merges with a free buddy: {events:?}");
    assert_eq!(m.owner_of(q.as_ptr().addr()), Owner::Free);
    m.check().unwrap();
    // The observer's record of the free survives the heap's rebuild.
    assert!(m.heap(app2).unwrap().observer().events().iter().any(|e| matches!(e, Event::Free { .. })));

    // An emptied heap grows again from the buddy allocator.
    let q2 = m.malloc(app2, 40).unwrap();
    assert_eq!(m.owner_of(q2.as_ptr().addr()), Owner::Heap(app2));
    m.check().unwrap();
    assert!(m.free(app2, q2.as_ptr()).unwrap() > 0);
    assert!(m.free(app1, p.as_ptr()).unwrap() > 0);
    k.borrow_mut().kfree(kobj.as_ptr()).unwrap();
    m.check().unwrap();
    let end = buddy_stats(&k);
    assert_eq!(end.used_pages, 0);
    assert_eq!(end.free_blocks, start.free_blocks, "every buddy pair merged again");
}

#[test]
fn bad_frees_name_the_error_and_change_nothing() {
    let region = Region::new(64 * PAGE);
    let k = kernel(&region, 64);
    let mut m: Machine<&Kernel> = Machine::new(&k);
    let a = m.add_heap("app1", config(PolicyKind::FirstFit)).unwrap();
    let b = m.add_heap("app2", config(PolicyKind::Segregated)).unwrap();
    let p = m.malloc(a, 24).unwrap();
    let keep = m.malloc(a, 24).unwrap();
    let q = m.malloc(b, 24).unwrap();
    let before = buddy_stats(&k);
    assert_eq!(m.free(b, p.as_ptr()), Err(AllocError::NotAllocated), "app1's block freed in app2");
    assert_eq!(k.borrow_mut().kfree(p.as_ptr()), Err(AllocError::NotAllocated), "an app block given to kfree");
    assert_eq!(m.free(MAX_HEAPS, p.as_ptr()), Err(AllocError::NotAllocated), "no such heap");
    assert_eq!(m.free(a, p.as_ptr()), Ok(0));
    assert_eq!(m.free(a, p.as_ptr()), Err(AllocError::DoubleFree));
    assert_eq!(m.live_blocks(a), 1);
    assert_eq!(m.malloc(b, 1 << 30), Err(AllocError::OutOfMemory));
    assert_eq!(buddy_stats(&k).used_pages, before.used_pages, "a refused malloc keeps no block");
    m.check().unwrap();
    assert!(m.free(b, q.as_ptr()).unwrap() > 0);
    assert!(m.free(a, keep.as_ptr()).unwrap() > 0);
    assert_eq!(buddy_stats(&k).used_pages, 0);

    assert_eq!(m.add_heap("app1", Config::DEFAULT), Err(NameError::Taken));
    assert_eq!(m.add_heap("kernel", Config::DEFAULT), Err(NameError::Invalid));
    assert_eq!(m.add_heap("", Config::DEFAULT), Err(NameError::Invalid));
    assert_eq!(m.add_heap("a b", Config::DEFAULT), Err(NameError::Invalid));
    for i in 2..MAX_HEAPS {
        m.add_heap(&format!("h{i}"), Config::DEFAULT).unwrap();
    }
    assert_eq!(m.add_heap("more", Config::DEFAULT), Err(NameError::Full));
    assert_eq!(m.heap_index("h3"), Some(3));
    assert_eq!(m.heap_name(b), Some("app2"));
}

#[test]
fn check_finds_a_run_the_heap_does_not_know() {
    let region = Region::new(64 * PAGE);
    let k = kernel(&region, 64);
    let mut m: Machine<&Kernel> = Machine::new(&k);
    let a = m.add_heap("app1", config(PolicyKind::FirstFit)).unwrap();
    let p = m.malloc(a, 24).unwrap();
    // A second source with app1's tag takes a block behind the heap's back.
    let mut stray = BuddyPages::new(&k, m.heap(a).unwrap().source().owner());
    // SAFETY: the block is only looked at, never written.
    let got = heaplab::pages::PageSource::grow(&mut stray, PAGE);
    assert!(got.is_some());
    assert_eq!(m.check().unwrap_err().what, "machine: a buddy block tagged for a heap is none of its runs");
    drop(stray);
    m.check().unwrap();
    m.free(a, p.as_ptr()).unwrap();
}

/// One step of the property test.
#[derive(Clone, Debug)]
enum Op {
    Malloc(usize, usize),
    Kmalloc(usize),
    Free(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..3, 1usize..6000).prop_map(|(h, n)| Op::Malloc(h, n)),
        2 => (1usize..9000).prop_map(Op::Kmalloc),
        4 => any::<usize>().prop_map(Op::Free),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 2 } else { 64 }, ..ProptestConfig::default() })]

    /// Three application heaps of three policies and the kernel heap,
    /// against a shadow of the live blocks: no two blocks overlap (so no
    /// two heaps share a page), each block's buddy block belongs to its
    /// heap, contents kept, every walk passes; freeing everything returns
    /// every page and merges every buddy pair.
    #[test]
    fn heaps_never_overlap_and_everything_merges_back(ops in proptest::collection::vec(op(), 1..150)) {
        let region = Region::new(256 * PAGE);
        let k = kernel(&region, 256);
        let start = buddy_stats(&k);
        let mut m: Machine<&Kernel> = Machine::new(&k);
        let heaps = [PolicyKind::FirstFit, PolicyKind::BestFit, PolicyKind::Segregated].map(|p| m.add_heap(p.name(), config(p)).unwrap());
        // (address, size, heap: None for the kernel, tag)
        let mut live: Vec<(*mut u8, usize, Option<usize>, u8)> = Vec::new();
        let mut tag = 0u8;
        for op in ops {
            match op {
                Op::Malloc(_, _) | Op::Kmalloc(_) => {
                    let (r, size, heap) = match op {
                        Op::Malloc(h, n) => (m.malloc(heaps[h], n), n, Some(heaps[h])),
                        Op::Kmalloc(n) => (k.borrow_mut().kmalloc(n), n, None),
                        Op::Free(_) => unreachable!(),
                    };
                    match r {
                        Ok(p) => {
                            let a = p.as_ptr().addr();
                            prop_assert!(live.iter().all(|&(o, n, _, _)| a + size <= o.addr() || o.addr() + n <= a), "overlap at {:#x}", a);
                            match (heap, m.owner_of(a)) {
                                (Some(h), Owner::Heap(o)) => prop_assert_eq!(h, o),
                                (None, Owner::Kernel(_)) => {}
                                (h, o) => prop_assert!(false, "block of {:?} in a buddy block of {:?}", h, o),
                            }
                            tag = tag.wrapping_add(1);
                            // SAFETY: `size` bytes from `p` are ours.
                            unsafe {
                                p.as_ptr().write(tag);
                                p.as_ptr().add(size - 1).write(tag);
                            }
                            live.push((p.as_ptr(), size, heap, tag));
                        }
                        Err(AllocError::OutOfMemory) => {}
                        Err(e) => prop_assert!(false, "unexpected {:?}", e),
                    }
                }
                Op::Free(i) => {
                    if live.is_empty() {
                        continue;
                    }
                    let (p, n, heap, t) = live.swap_remove(i % live.len());
                    // SAFETY: a live block of ours.
                    unsafe {
                        prop_assert_eq!(p.read(), t);
                        prop_assert_eq!(p.add(n - 1).read(), t);
                    }
                    match heap {
                        Some(h) => {
                            let pages = m.heap_pages(h);
                            let returned = m.free(h, p).unwrap();
                            let last = !live.iter().any(|b| b.2 == Some(h));
                            prop_assert_eq!(returned, if last { pages } else { 0 });
                        }
                        None => k.borrow_mut().kfree(p).unwrap(),
                    }
                }
            }
            prop_assert_eq!(m.check(), Ok(()));
        }
        for (p, _, heap, _) in live.drain(..) {
            match heap {
                Some(h) => { m.free(h, p).unwrap(); }
                None => k.borrow_mut().kfree(p).unwrap(),
            }
        }
        prop_assert_eq!(m.check(), Ok(()));
        let end = buddy_stats(&k);
        prop_assert_eq!(end.used_pages, 0);
        prop_assert_eq!(end.free_blocks, start.free_blocks);
    }
}
