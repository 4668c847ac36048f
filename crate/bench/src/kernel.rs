//! The kernel's allocators beside their peers (issue 22, item 5):
//!
//! * **pages**: heaplab's buddy page allocator (`Buddy::alloc_pages`)
//!   against buddy_system_allocator's two buddy systems, its `Heap` (free
//!   lists threaded through the free blocks) and its `FrameAllocator` (frame
//!   numbers in one `BTreeSet` per order, on the std heap), on random
//!   allocations and frees of 1 to 2^[`PAGE_MAX_ORDER`] pages;
//! * **small objects**: `kmalloc` of heaplab's slab allocator against talc
//!   and heaplab's segregated fit, on objects of the sizes a kernel's
//!   structures have ([`OBJECT_SIZES`]), allocated and freed in random order;
//! * **kmalloc on the malloc-lab traces**: utilization (peak live bytes over
//!   the span the payloads cover), as for the other allocators.
//!
//! Fairness: every contender of a row runs the same operations (one seed
//! per round, the same for all), over the same 4 KiB-aligned region, each
//! built fresh before the round and its start-up left out of the timing;
//! one warm-up round each, then the rounds interleaved (round in the outer
//! loop, contender in the inner, so that all see the same machine load), and
//! the median of the rounds' rates is the figure. A round is timed in the
//! thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not the wall clock: on a
//! shared machine the time the scheduler gives other processes in the
//! middle of a round would otherwise count against whichever contender was
//! running.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::{self, NonNull};

use heaplab::buddy::Buddy;
use heaplab::pages::{FixedRegion, PAGE};
use heaplab::slab::Slab;

use crate::contenders::{Contender, ALL};
use crate::rng::Rng;
use crate::trace::Trace;
use crate::workloads;
use crate::Region;

/// The page row's largest order: requests of 1, 2, 4, 8 or 16 pages.
pub const PAGE_MAX_ORDER: usize = 4;
/// Below this many live blocks the page workload always allocates; above
/// [`PAGE_MAX_LIVE`] it always frees (at most 16 MiB × 4 live, far from
/// the region's end: no contender runs out of memory).
const PAGE_MIN_LIVE: usize = 64;
const PAGE_MAX_LIVE: usize = 1024;

/// The small-object row's sizes (bytes): what kernel structures weigh, in
/// Linux's kmalloc-32 … kmalloc-512 classes and two between them.
pub const OBJECT_SIZES: [usize; 7] = [32, 64, 96, 128, 192, 256, 512];
/// Below this many live objects the object workload always allocates.
const OBJECT_MIN_LIVE: usize = 1000;

/// How much to measure.
#[derive(Clone, Copy)]
pub struct KernelPlan {
    /// Timed rounds per contender (the median is reported).
    pub rounds: u32,
    /// Operations per round.
    pub ops: u64,
}

/// One contender's utilization per malloc-lab trace (`None`: it failed).
pub type TraceUtils = (&'static str, Vec<Option<f64>>);

/// One contender's figures: `(name, rate of each round in M ops/s)`.
pub type Rates = Vec<(&'static str, Vec<f64>)>;

/// Seconds of CPU time this thread has used.
fn thread_cpu() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid, writable timespec.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(r, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// The median of `v` (the mean of the middle two when even).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

// ---------------------------------------------------------------------------
// Pages

/// A page allocator under test: blocks of 2^order pages.
trait PageAlloc {
    /// A block of 2^`order` pages, or null.
    fn alloc(&mut self, order: usize) -> *mut u8;
    /// Gives back a block that `alloc(order)` returned.
    fn free(&mut self, p: *mut u8, order: usize);
}

/// heaplab's buddy allocator, called directly (no lock: none of the three
/// page contenders takes one).
struct HeaplabBuddy(Buddy<FixedRegion>);

impl PageAlloc for HeaplabBuddy {
    fn alloc(&mut self, order: usize) -> *mut u8 {
        self.0.alloc_pages(order).map_or(ptr::null_mut(), NonNull::as_ptr)
    }
    fn free(&mut self, p: *mut u8, _order: usize) {
        let r = self.0.free_pages(p);
        debug_assert!(r.is_ok(), "{r:?}");
    }
}

/// buddy_system_allocator's `Heap`, asked for page-sized, page-aligned layouts.
struct BsaHeap(Box<buddy_system_allocator::Heap<33>>);

fn page_layout(order: usize) -> Layout {
    Layout::from_size_align(PAGE << order, PAGE).expect("a page block's layout")
}

impl PageAlloc for BsaHeap {
    fn alloc(&mut self, order: usize) -> *mut u8 {
        self.0.alloc(page_layout(order)).map_or(ptr::null_mut(), NonNull::as_ptr)
    }
    fn free(&mut self, p: *mut u8, order: usize) {
        // SAFETY: `p` came from `alloc(order)` of this heap, non-null, with
        // this layout.
        unsafe { self.0.dealloc(NonNull::new_unchecked(p), page_layout(order)) };
    }
}

/// buddy_system_allocator's `FrameAllocator` over the region's frame
/// numbers; a frame number `f` is the page at `base + (f − first) × PAGE`.
struct BsaFrames {
    frames: buddy_system_allocator::FrameAllocator<33>,
    base: *mut u8,
    first: usize,
}

impl PageAlloc for BsaFrames {
    fn alloc(&mut self, order: usize) -> *mut u8 {
        self.frames.alloc(1 << order).map_or(ptr::null_mut(), |f| self.base.wrapping_add((f - self.first) * PAGE))
    }
    fn free(&mut self, p: *mut u8, order: usize) {
        let f = self.first + (p.addr() - self.base.addr()) / PAGE;
        self.frames.dealloc(f, 1 << order);
    }
}

/// The page contenders' names, in the table's order.
pub const PAGE_CONTENDERS: [&str; 3] = ["buddy", "bsa Heap", "bsa Frame"];

/// Builds page contender `i` over the region, ready (its start-up done).
fn make_pages(i: usize, r: &Region) -> Box<dyn PageAlloc> {
    match i {
        0 => {
            // SAFETY: the region lives for the whole run and this allocator
            // is dropped before the next one is built over it.
            let mut b = Buddy::new(unsafe { FixedRegion::new(r.ptr, r.len) }, r.len);
            b.init().expect("the buddy allocator takes the region");
            Box::new(HeaplabBuddy(b))
        }
        1 => {
            let mut h = Box::new(buddy_system_allocator::Heap::<33>::new());
            // SAFETY: as above: the region is valid, writable and used by
            // this heap alone until it is dropped.
            unsafe { h.init(r.ptr.addr(), r.len) };
            Box::new(BsaHeap(h))
        }
        _ => {
            let first = r.ptr.addr() / PAGE;
            let mut frames = buddy_system_allocator::FrameAllocator::<33>::new();
            frames.add_frame(first, first + r.len / PAGE);
            Box::new(BsaFrames { frames, base: r.ptr, first })
        }
    }
}

/// `ops` random page operations: below [`PAGE_MIN_LIVE`] live blocks an
/// allocation, above [`PAGE_MAX_LIVE`] a free, else either with equal
/// chance; an allocation takes 2^k pages for k uniform in
/// `0..=PAGE_MAX_ORDER`, a free gives back a random live block. Returns the
/// CPU seconds the operations took and how many succeeded (frees afterwards, untimed).
fn page_round(a: &mut dyn PageAlloc, seed: u64, ops: u64, live: &mut Vec<(*mut u8, usize)>) -> (f64, u64) {
    let mut rng = Rng::new(seed);
    live.clear();
    let mut done = 0u64;
    let t0 = thread_cpu();
    for _ in 0..ops {
        let grow = live.len() < PAGE_MIN_LIVE || (live.len() < PAGE_MAX_LIVE && rng.range(0, 2) == 0);
        if grow {
            let order = rng.range(0, PAGE_MAX_ORDER + 1);
            let p = a.alloc(order);
            if !p.is_null() {
                live.push((p, order));
                done += 1;
            }
        } else {
            let (p, order) = live.swap_remove(rng.range(0, live.len()));
            a.free(p, order);
            done += 1;
        }
    }
    let secs = thread_cpu() - t0;
    for (p, order) in live.drain(..) {
        a.free(p, order);
    }
    (secs, done)
}

/// The page row: each page contender's rate per round (M ops/s).
pub fn page_rates(r: &Region, plan: &KernelPlan) -> Rates {
    let mut live = Vec::with_capacity(PAGE_MAX_LIVE + 1);
    let mut rates: Rates = PAGE_CONTENDERS.iter().map(|&n| (n, Vec::new())).collect();
    for round in 0..=plan.rounds {
        for (i, (name, v)) in rates.iter_mut().enumerate() {
            let mut a = make_pages(i, r);
            let (secs, done) = page_round(&mut *a, u64::from(round), plan.ops, &mut live);
            assert_eq!(done, plan.ops, "{name}: a page allocation failed in a region far from full");
            // Round 0 is the warm-up (same seed for every contender too).
            if round > 0 {
                v.push(done as f64 / secs / 1e6);
            }
        }
    }
    rates
}

// ---------------------------------------------------------------------------
// Small objects

/// heaplab's slab allocator as a `GlobalAlloc` through `kmalloc`/`kfree`,
/// behind a spin lock like the other native contenders.
pub struct Kmalloc(spin::Mutex<Slab<FixedRegion>>);

impl Kmalloc {
    /// The slab allocator over `len` bytes at `base`, its memory taken now.
    ///
    /// # Safety
    /// The region is valid for the life of the allocator and used by
    /// nothing else meanwhile.
    pub unsafe fn new(base: *mut u8, len: usize) -> Box<Kmalloc> {
        // SAFETY: forwarded to the caller.
        let mut s = Slab::new(unsafe { FixedRegion::new(base, len) }, len);
        s.init().expect("the slab allocator takes the region");
        Box::new(Kmalloc(spin::Mutex::new(s)))
    }
}

// SAFETY: `kmalloc` returns null or an object of its power-of-two class
// (aligned to the class size) or a page-aligned buddy block, at least
// `max(size, align)` bytes, that no other live allocation overlaps; layouts
// aligned above a page are refused. `kfree` validates what it gets.
unsafe impl GlobalAlloc for Kmalloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if l.align() > PAGE {
            return ptr::null_mut();
        }
        self.0.lock().kmalloc(l.size().max(l.align())).map_or(ptr::null_mut(), NonNull::as_ptr)
    }
    unsafe fn dealloc(&self, p: *mut u8, _l: Layout) {
        let r = self.0.lock().kfree(p);
        debug_assert!(r.is_ok(), "{r:?}");
    }
    /// As Linux's `krealloc`: the same object while the new size fits in
    /// it, else a new one, the contents copied, the old one freed.
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        if self.0.lock().ksize(p).is_ok_and(|room| new_size <= room) {
            return p;
        }
        // SAFETY: the caller's contract (new_size > 0, `l.align()` valid).
        let q = unsafe { self.alloc(Layout::from_size_align_unchecked(new_size, l.align())) };
        if !q.is_null() {
            // SAFETY: both live, distinct, each at least as long as copied.
            unsafe {
                ptr::copy_nonoverlapping(p, q, l.size().min(new_size));
                self.dealloc(p, l);
            }
        }
        q
    }
}

/// The object row's contenders: kmalloc, then segregated fit and talc
/// (built as in every other row).
pub const OBJECT_CONTENDERS: [&str; 3] = ["kmalloc", "segregated", "talc"];

fn peer(name: &str) -> &'static Contender {
    ALL.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no contender {name}"))
}

/// Builds object contender `name` over the region.
fn make_objects(name: &str, r: &Region) -> Box<dyn GlobalAlloc> {
    // SAFETY: the region lives for the whole run; each allocator is dropped
    // before the next one is built over it.
    unsafe {
        match name {
            "kmalloc" => Kmalloc::new(r.ptr, r.len),
            other => (peer(other).make)(r.ptr, r.len),
        }
    }
}

/// `ops` random object operations: below [`OBJECT_MIN_LIVE`] live objects
/// an allocation, else an allocation or a free with equal chance; sizes
/// uniform over [`OBJECT_SIZES`], 8-byte aligned. Returns the CPU seconds the
/// operations took and how many succeeded (frees afterwards, untimed).
fn object_round(a: &dyn GlobalAlloc, seed: u64, ops: u64, live: &mut Vec<(*mut u8, Layout)>) -> (f64, u64) {
    let mut rng = Rng::new(seed);
    live.clear();
    let mut done = 0u64;
    let t0 = thread_cpu();
    for _ in 0..ops {
        if live.len() < OBJECT_MIN_LIVE || rng.range(0, 2) == 0 {
            let l = Layout::from_size_align(OBJECT_SIZES[rng.range(0, OBJECT_SIZES.len())], 8).expect("an object layout");
            // SAFETY: non-zero size.
            let p = unsafe { a.alloc(l) };
            if !p.is_null() {
                live.push((p, l));
                done += 1;
            }
        } else {
            let (p, l) = live.swap_remove(rng.range(0, live.len()));
            // SAFETY: `p` is live in `a` with layout `l`.
            unsafe { a.dealloc(p, l) };
            done += 1;
        }
    }
    let secs = thread_cpu() - t0;
    for (p, l) in live.drain(..) {
        // SAFETY: as above.
        unsafe { a.dealloc(p, l) };
    }
    (secs, done)
}

/// The small-object row's work for `ops` operations on one contender, for
/// callgrind (`--profile-objects`); how many succeeded.
pub fn object_profile(name: &str, r: &Region, ops: u64) -> u64 {
    let a = make_objects(name, r);
    object_round(&*a, 1, ops, &mut Vec::with_capacity(1 << 16)).1
}

/// The small-object row: each object contender's rate per round (M ops/s).
pub fn object_rates(r: &Region, plan: &KernelPlan) -> Rates {
    let mut live = Vec::with_capacity(1 << 16);
    let mut rates: Rates = OBJECT_CONTENDERS.iter().map(|&n| (n, Vec::new())).collect();
    for round in 0..=plan.rounds {
        for (name, v) in rates.iter_mut() {
            let a = make_objects(name, r);
            let (secs, done) = object_round(&*a, u64::from(round), plan.ops, &mut live);
            assert_eq!(done, plan.ops, "{name}: an object allocation failed in a region far from full");
            if round > 0 {
                v.push(done as f64 / secs / 1e6);
            }
        }
    }
    rates
}

// ---------------------------------------------------------------------------
// kmalloc on the malloc-lab traces

/// The contenders whose trace utilization the kernel table shows beside
/// kmalloc's.
pub const UTIL_CONTENDERS: [&str; 4] = ["kmalloc", "segregated", "talc", "dlmalloc"];

/// Utilization (% peak live / span) of contender `name` on each trace
/// (`None` where the replay failed), one replay each.
pub fn trace_utils(name: &str, r: &Region, traces: &[Trace]) -> Vec<Option<f64>> {
    let mut slots = Vec::new();
    traces
        .iter()
        .map(|t| {
            let a = make_objects(name, r);
            let (peak, span) = workloads::replay(&*a, t, &mut slots)?;
            (span > 0).then(|| peak as f64 * 100.0 / span as f64)
        })
        .collect()
}

/// The mean of the utilizations that were measured, and how many failed.
pub fn mean_util(u: &[Option<f64>]) -> (f64, usize) {
    let ok: Vec<f64> = u.iter().flatten().copied().collect();
    (ok.iter().sum::<f64>() / ok.len().max(1) as f64, u.len() - ok.len())
}

// ---------------------------------------------------------------------------
// The table

/// The kernel rows as a Markdown table: per row the figures (medians for
/// the timed rows) and heaplab's ratio to each peer (> 1: heaplab better).
pub fn table(plan: &KernelPlan, pages: &Rates, objects: &Rates, util: Option<&[TraceUtils]>) -> String {
    let mut out = format!("Kernel allocators (issue 22): timed rows are the median of {} rounds of {} operations per contender, after one warm-up round, timed in the thread's CPU time; every contender runs the same operations (one seed per round).\n", plan.rounds, plan.ops);
    out += "| kernel benchmark | unit | heaplab | peers | heaplab÷peer |\n| --- | --- | ---: | --- | --- |\n";
    let row = |label: &str, unit: &str, figures: &[(&str, f64)]| {
        let (mine, theirs) = figures.split_first().expect("a row has contenders");
        let peers: Vec<String> = theirs.iter().map(|(n, v)| format!("{n} {v:.3}")).collect();
        let ratios: Vec<String> = theirs.iter().map(|(n, v)| if *v > 0.0 { format!("{:.2}× {n}", mine.1 / v) } else { format!("– {n}") }).collect();
        format!("| {label} | {unit} | {} {:.3} | {} | {} |\n", mine.0, mine.1, peers.join(", "), ratios.join(", "))
    };
    let medians = |r: &Rates| -> Vec<(&str, f64)> { r.iter().map(|(n, v)| (*n, median(v))).collect() };
    out += &row(&format!("pages: random alloc/free of 1–{} pages", 1 << PAGE_MAX_ORDER), "M ops/s", &medians(pages));
    out += &row(&format!("small objects {}–{} B, random alloc/free", OBJECT_SIZES[0], OBJECT_SIZES[OBJECT_SIZES.len() - 1]), "M ops/s", &medians(objects));
    match util {
        Some(u) => {
            let figures: Vec<(&str, f64)> = u.iter().map(|(n, v)| (*n, mean_util(v).0)).collect();
            out += &row("malloc-lab traces: utilization (mean)", "% peak live / span", &figures);
            for (n, v) in u {
                let (_, failed) = mean_util(v);
                if failed > 0 {
                    out += &format!("({n}: {failed} traces failed to replay and are left out of its mean)\n");
                }
            }
        }
        None => out += "| malloc-lab traces: utilization (mean) | % peak live / span | – (no traces in ../shared/traces/malloclab) | | |\n",
    }
    out += "buddy: heaplab's `Buddy::alloc_pages`/`free_pages`; bsa Heap: buddy_system_allocator 0.13's `Heap<33>` asked for page-sized, page-aligned layouts (free lists inside the free blocks); bsa Frame: its `FrameAllocator<33>` over the same pages' frame numbers (free lists in `BTreeSet`s on the std heap). None locked. kmalloc: heaplab's slab allocator (`Slab::kmalloc`/`kfree`, krealloc's rule for realloc) behind a spin lock through `GlobalAlloc`, as segregated and talc are.\n";
    out
}
