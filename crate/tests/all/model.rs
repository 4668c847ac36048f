//! A shadow model of live ranges, and the checks the course driver makes.

use heaplab::heap::{AllocError, Heap};
use heaplab::pages::FixedRegion;
use heaplab::policy::Policy;
use std::collections::BTreeMap;

/// One live allocation in the model.
#[derive(Clone, Copy, Debug)]
pub struct Live {
    pub ptr: *mut u8,
    pub size: usize,
    pub align: usize,
    pub seed: u8,
}

/// Live payload ranges keyed by start address.
#[derive(Default)]
pub struct Shadow {
    /// start → (end, slot id)
    ranges: BTreeMap<usize, usize>,
    /// How many bytes of each payload get the pattern (all when `None`).
    pub fill_limit: Option<usize>,
}

fn pattern(seed: u8, i: usize) -> u8 {
    seed.wrapping_add((i as u8).wrapping_mul(31)) ^ (i >> 8) as u8
}

impl Shadow {
    fn fill_len(&self, size: usize) -> usize {
        self.fill_limit.map_or(size, |l| l.min(size))
    }

    /// Checks a new payload (aligned, inside the heap, overlapping nothing)
    /// and records it, filling it with the pattern.
    pub fn add<P: Policy>(&mut self, h: &Heap<FixedRegion, P>, l: Live) {
        let a = l.ptr.addr();
        assert_eq!(a % l.align.max(h.config().align), 0, "payload {a:#x} not aligned to {}", l.align);
        assert!(h.segments().any(|(b, n)| a >= b && a + l.size <= b + n), "payload {a:#x}+{} outside the heap", l.size);
        if let Some((&s, &e)) = self.ranges.range(..a + l.size).next_back() {
            assert!(e <= a || s >= a + l.size, "payload {a:#x}+{} overlaps live {s:#x}..{e:#x}", l.size);
        }
        assert!(h.usable_size(l.ptr).unwrap() >= l.size, "usable size below the request");
        self.ranges.insert(a, a + l.size);
        for i in 0..self.fill_len(l.size) {
            // SAFETY: the payload has `size` bytes.
            unsafe { l.ptr.add(i).write(pattern(l.seed, i)) };
        }
        if l.size > 0 {
            // SAFETY: as above; the last byte is always patterned.
            unsafe { l.ptr.add(l.size - 1).write(pattern(l.seed, l.size - 1)) };
        }
    }

    /// Verifies the pattern of the first `n` bytes (and the last one).
    pub fn verify(&self, l: &Live, n: usize) {
        let n = n.min(l.size);
        for i in 0..self.fill_len(n) {
            // SAFETY: the payload is live with at least `n` bytes.
            let v = unsafe { l.ptr.add(i).read() };
            assert_eq!(v, pattern(l.seed, i), "payload byte {i} of {:p} changed", l.ptr);
        }
        if n == l.size && n > 0 {
            // SAFETY: as above.
            assert_eq!(unsafe { l.ptr.add(n - 1).read() }, pattern(l.seed, n - 1));
        }
    }

    pub fn remove(&mut self, l: &Live) {
        self.ranges.remove(&l.ptr.addr()).expect("removing a range the model does not hold");
    }
}

/// Runs alloc/realloc/free against a heap and the model, checking after
/// each step when `check_every` says so.
pub struct Driver<'h, P: Policy> {
    pub heap: &'h mut Heap<FixedRegion, P>,
    pub shadow: Shadow,
    pub live: Vec<Option<Live>>,
    pub check_every: usize,
    pub steps: usize,
}

impl<'h, P: Policy> Driver<'h, P> {
    pub fn new(heap: &'h mut Heap<FixedRegion, P>, slots: usize) -> Self {
        Driver { heap, shadow: Shadow { fill_limit: Some(4096), ..Shadow::default() }, live: vec![None; slots], check_every: 1, steps: 0 }
    }

    fn step_done(&mut self) {
        self.steps += 1;
        if self.check_every > 0 && self.steps.is_multiple_of(self.check_every) {
            if let Err(e) = self.heap.check() {
                panic!("check failed after step {}: {e}", self.steps);
            }
        }
    }

    pub fn alloc(&mut self, id: usize, size: usize, align: usize) -> Result<(), AllocError> {
        if let Some(l) = self.live[id].take() {
            self.free_live(l);
        }
        let r = self.heap.alloc(size, align).map(|p| {
            let l = Live { ptr: p.as_ptr(), size, align, seed: (id as u8).wrapping_mul(7).wrapping_add(size as u8) };
            self.shadow.add(self.heap, l);
            self.live[id] = Some(l);
        });
        self.step_done();
        r
    }

    pub fn realloc(&mut self, id: usize, size: usize) -> Result<(), AllocError> {
        let Some(old) = self.live[id] else { return self.alloc(id, size, 8) };
        self.shadow.verify(&old, old.size);
        let r = self.heap.realloc(old.ptr, size);
        match r {
            Ok(p) => {
                let moved = Live { ptr: p.as_ptr(), size, ..old };
                self.shadow.remove(&old);
                // The kept prefix must be intact.
                self.shadow.verify(&Live { size: old.size, ..moved }, old.size.min(size));
                assert_eq!(p.as_ptr().addr() % old.align.max(self.heap.config().align), 0, "realloc lost the alignment");
                let l = Live { seed: old.seed.wrapping_add(1), ..moved };
                self.shadow.add(self.heap, l);
                self.live[id] = Some(l);
            }
            Err(_) => self.shadow.verify(&old, old.size),
        }
        self.step_done();
        r.map(|_| ())
    }

    fn free_live(&mut self, l: Live) {
        self.shadow.verify(&l, l.size);
        self.shadow.remove(&l);
        self.heap.free(l.ptr).unwrap();
    }

    pub fn free(&mut self, id: usize) {
        if let Some(l) = self.live[id].take() {
            self.free_live(l);
        }
        self.step_done();
    }

    pub fn free_all(&mut self) {
        for id in 0..self.live.len() {
            if let Some(l) = self.live[id].take() {
                self.free_live(l);
            }
        }
        self.heap.check().unwrap();
    }
}
