//! Random corruption through the teaching write API ([`Heap::write`]): bytes
//! written at random offsets around live, free and quick blocks, then
//! `check`, `alloc`, `free` and `realloc`. Nothing may crash or hang: the
//! integrity walk checks every link before following it, and after a failed
//! walk the operations answer `corrupt-heap`. Every heap works again after
//! `reset`. (The same through the JS API: web/tests/corrupt.test.js.)

use crate::common::TestHeap;
use heaplab::heap::{AllocError, Coalesce, Config, Heap};
use heaplab::pages::FixedRegion;
use heaplab::policy::{AnyPolicy, PolicyKind};

/// xorshift64*: a fixed sequence per seed, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Corruptions per policy (Miri interprets every one: a few).
const ROUNDS: usize = if cfg!(miri) { 20 } else { 10_000 };

/// One round: a small scene of live, freed and large blocks, `n` random bytes
/// written around one of them, then every operation; returns whether the
/// walk caught it.
fn round(h: &mut Heap<FixedRegion, AnyPolicy>, rng: &mut Rng) -> bool {
    h.reset();
    let mut live: Vec<usize> = Vec::new();
    for i in 0..12 {
        let size = [8, 24, 40, 100, 300, 1000, 5000][rng.below(7)];
        if let Ok(p) = h.alloc(size, 8 << (i % 2)) {
            live.push(p.as_ptr() as usize);
        }
    }
    let mut freed = Vec::new();
    for _ in 0..5 {
        let p = live.swap_remove(rng.below(live.len()));
        h.free(p as *mut u8).expect("free of a live block");
        freed.push(p);
    }
    let at = if rng.below(2) == 0 { live[rng.below(live.len())] } else { freed[rng.below(freed.len())] };
    let addr = (at as isize + rng.below(96) as isize - 32) as usize;
    let bytes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
    // Next to the first arena lies the page map: refused, nothing written.
    if let Err(e) = h.write(addr, &bytes) {
        assert_eq!(e, AllocError::OutOfBounds);
    }
    let caught = h.check().is_err();
    let ok_or_corrupt = |r: Result<(), AllocError>, what: &str| {
        if let Err(e) = r {
            assert!(!caught || e == AllocError::CorruptHeap, "{what} on a heap whose check failed: {e:?}");
        }
    };
    ok_or_corrupt(h.alloc(64, 8).map(drop), "alloc");
    let p = live.swap_remove(rng.below(live.len()));
    ok_or_corrupt(h.free(p as *mut u8), "free");
    let q = live[rng.below(live.len())];
    ok_or_corrupt(h.realloc(q as *mut u8, 1 + rng.below(3000)).map(drop), "realloc");
    ok_or_corrupt(h.calloc(3, 50).map(drop), "calloc");
    h.sweep();
    let _ = (h.stats(), h.blocks().count());
    h.free_lists(|_, _| {});
    if caught {
        assert_eq!(h.alloc(8, 8).map(drop), Err(AllocError::CorruptHeap), "a corrupt heap stays refused");
    }
    h.reset();
    h.check().expect("reset repairs any corruption");
    let p = h.alloc(100, 8).expect("usable after reset");
    h.free(p.as_ptr()).expect("usable after reset");
    caught
}

#[test]
fn random_corruption_never_crashes() {
    for (i, &policy) in PolicyKind::ALL.iter().enumerate() {
        let coalesce = if i % 2 == 0 { Coalesce::Immediate } else { Coalesce::Deferred };
        let mut t = TestHeap::<AnyPolicy>::new(1 << 20, Config { policy, coalesce, ..Config::DEFAULT });
        let mut rng = Rng::new(0x5eed_0000 + i as u64);
        let caught = (0..ROUNDS).filter(|_| round(&mut t.heap, &mut rng)).count();
        // Most writes land on a header, footer or link; many are caught.
        assert!(caught * 5 > ROUNDS, "{policy:?}: only {caught} of {ROUNDS} corruptions caught");
    }
}

/// A forged free-list link pointing outside the heap is reported with its
/// address, not followed.
#[test]
fn a_forged_link_is_reported_not_followed() {
    for &policy in PolicyKind::ALL {
        let mut t = TestHeap::<AnyPolicy>::new(1 << 20, Config { policy, ..Config::DEFAULT });
        let h = &mut t.heap;
        let a = h.alloc(64, 8).unwrap();
        let _guard = h.alloc(64, 8).unwrap();
        h.free(a.as_ptr()).unwrap();
        // Link 0 of a free block is the word right after its header.
        let link = a.as_ptr() as usize;
        h.write(link, &0x7fff_dead_bee8usize.to_le_bytes()).unwrap();
        let e = h.check().unwrap_err();
        assert!(e.what.contains("outside the heap") || e.addr != 0, "{policy:?}: {e}");
        assert_eq!(h.alloc(8, 8).map(drop), Err(AllocError::CorruptHeap), "{policy:?}");
        assert_eq!(h.free(_guard.as_ptr()), Err(AllocError::CorruptHeap), "{policy:?}");
        assert_eq!(h.alloc(8, 8).unwrap_err().code(), "corrupt-heap");
        h.reset();
        h.check().unwrap();
        assert!(h.alloc(8, 8).is_ok());
    }
}

/// The write API refuses the heap's metadata pages (the page map and live
/// bits), and a write that changes nothing the walk checks leaves the heap
/// usable.
#[test]
fn write_is_bounded() {
    let mut t = TestHeap::<AnyPolicy>::new(1 << 20, Config::DEFAULT);
    let h = &mut t.heap;
    let p = h.alloc(64, 8).unwrap();
    let (meta, _) = h.pages().find(|&(_, o)| o == heaplab::pages::PageOwner::Meta).expect("a metadata page");
    assert_eq!(h.write(meta, &[1]), Err(AllocError::OutOfBounds));
    assert_eq!(h.write(usize::MAX - 2, &[1, 2, 3, 4]), Err(AllocError::OutOfBounds));
    h.write(p.as_ptr() as usize, b"payload bytes").unwrap();
    h.free(p.as_ptr()).expect("a payload write is no corruption");
    h.check().unwrap();
}
