//! The workloads, each over `&dyn GlobalAlloc`.

use std::alloc::{GlobalAlloc, Layout};
use std::time::{Duration, Instant};

use crate::rng::Rng;
use crate::trace::{Op, Trace};

/// One live allocation.
#[derive(Clone, Copy)]
pub struct Live {
    ptr: *mut u8,
    size: usize,
    align: usize,
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).expect("valid layout")
}

/// Frees everything in `v`.
fn free_all(a: &dyn GlobalAlloc, v: &mut Vec<Live>) {
    for l in v.drain(..) {
        // SAFETY: `l` is live in `a` with this layout.
        unsafe { a.dealloc(l.ptr, layout(l.size, l.align)) };
    }
}

/// Below this many live allocations, random actions always allocate.
const TARGET_MIN_LIVE: usize = 300;

/// A source of random numbers for the workloads: the harness's SplitMix64
/// ([`Rng`]) or, in the robustness variants, another generator.
pub trait Draw {
    fn next_u64(&mut self) -> u64;
    /// Uniform in `lo..hi`, as [`Rng::range`].
    #[inline]
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (((self.next_u64() >> 32) * (hi - lo) as u64) >> 32) as usize
    }
    /// A size biased towards small values, as [`Rng::size`].
    #[inline]
    fn size(&mut self, max: usize) -> usize {
        let cap = self.range(16, max);
        self.range(4, cap.max(5))
    }
    /// An alignment biased to the pointer size, as [`Rng::align`].
    #[inline]
    fn align(&mut self) -> usize {
        8 << ((self.next_u64() as u16).trailing_zeros() / 2)
    }
}

impl Draw for Rng {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        Rng::next_u64(self)
    }
}

/// xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number
/// generators", 2021), seeded through SplitMix64: the other generator of
/// the robustness variants.
pub struct Xoshiro([u64; 4]);

impl Xoshiro {
    pub fn new(seed: u64) -> Self {
        let mut s = Rng::new(seed);
        Xoshiro([s.next_u64(), s.next_u64(), s.next_u64(), s.next_u64()])
    }
}

impl Draw for Xoshiro {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }
}

/// How a random-actions run differs from the harness's own (talc's
/// design): what another harness could plausibly do instead.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    /// One action in `realloc_in` reallocates (7: talc's 1/7; 3: 1/3);
    /// the others allocate or free, half each.
    pub realloc_in: usize,
    /// The program writes the first and last byte of every block it gets.
    pub touch: bool,
    /// Draw with xoshiro256** instead of SplitMix64.
    pub xoshiro: bool,
}

impl Variant {
    pub const BASE: Variant = Variant { realloc_in: 7, touch: false, xoshiro: false };
}

/// How many places the harness loops run from. Where a loop's code sits
/// changes how fast the allocator it calls runs, by as much as 2× on this
/// machine's Zen 4 cores: the 10k-live-blocks loop, moved by 97 bytes of
/// padding, took heaplab's segregated fit from 106 to 73 M actions/s
/// while talc stayed at 70–85 (a harness-only change; the allocators'
/// code did not move), and other placements slow talc down as much. One
/// placement measures one draw of that lottery (Mytkowicz et al.,
/// "Producing wrong data without doing anything obviously wrong!", ASPLOS
/// 2009), so the timed loops come in this many copies, each at another
/// address, and trial `t` runs copy `t mod PLACEMENTS`: a row's mean is
/// over placements as well as over trials, and every contender sees the
/// same ones.
pub const PLACEMENTS: u64 = 5;

/// Calls generic loop `$f` (its first const parameter the padding) from
/// placement `$placement mod PLACEMENTS`: copies 1, 611, 1,283, 2,437 and 3,709
/// bytes of `nop` past their function's start (each its own function; the
/// offsets spread over a 4 KiB page, so that they fall on other cache
/// lines and other places in the page, not a few bytes apart).
macro_rules! placed {
    ($placement:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $placement % $crate::workloads::PLACEMENTS {
            0 => $f::<1>($($arg),*),
            1 => $f::<611>($($arg),*),
            2 => $f::<1283>($($arg),*),
            3 => $f::<2437>($($arg),*),
            _ => $f::<3709>($($arg),*),
        }
    };
}

/// Where each placement of the trace replay loop starts (for the test that
/// they are distinct code).
#[cfg(all(test, target_arch = "x86_64"))]
pub fn placement_addresses() -> Vec<usize> {
    type Replay = fn(&dyn GlobalAlloc, &Trace, &mut Vec<Live>) -> Option<(usize, usize)>;
    let loops: [Replay; PLACEMENTS as usize] = [replay_loop::<1>, replay_loop::<611>, replay_loop::<1283>, replay_loop::<2437>, replay_loop::<3709>];
    loops.iter().map(|f| *f as usize).collect()
}

/// `PAD` bytes of `nop` (x86-64; nothing elsewhere): moves the code after
/// it (see [`PLACEMENTS`]).
#[inline(always)]
fn place<const PAD: usize>() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: only `nop` instructions, which touch no register, flag or memory.
    unsafe {
        core::arch::asm!(".nops {n}", n = const PAD, options(nomem, nostack, preserves_flags));
    }
}

/// Writes the first and last byte of `n` bytes at `p`, as a program using
/// the block would (the allocator's placement then costs cache misses).
#[inline]
fn touch(p: *mut u8, n: usize) {
    // SAFETY: `p` is a live allocation of `n >= 1` bytes.
    unsafe {
        p.write_volatile(1);
        p.add(n - 1).write_volatile(1);
    }
}

/// One random action, as talc's random-actions benchmark designs it (with
/// [`Variant::BASE`]): 1/7 realloc a random live allocation to
/// `1..3 × max`, 3/7 free a random one, 3/7 allocate (always allocate below
/// 300 live allocations). Returns whether it succeeded (a failed
/// allocation counts for nothing).
#[inline]
fn random_action(a: &dyn GlobalAlloc, rng: &mut impl Draw, v: &mut Vec<Live>, max: usize, var: Variant) -> bool {
    let action = rng.range(0, var.realloc_in);
    if action == var.realloc_in - 1 {
        if v.is_empty() {
            return false;
        }
        let i = rng.range(0, v.len());
        let l = v[i];
        let new_size = rng.range(1, max * 3);
        // SAFETY: `l` is live with this layout.
        let p = unsafe { a.realloc(l.ptr, layout(l.size, l.align), new_size) };
        if p.is_null() {
            return false;
        }
        if var.touch {
            touch(p, new_size);
        }
        v[i] = Live { ptr: p, size: new_size, align: l.align };
        true
    } else if action < (var.realloc_in - 1) / 2 || v.len() < TARGET_MIN_LIVE {
        let (size, align) = (rng.size(max), rng.align());
        // SAFETY: non-zero size.
        let p = unsafe { a.alloc(layout(size, align)) };
        if p.is_null() {
            return false;
        }
        if var.touch {
            touch(p, size);
        }
        v.push(Live { ptr: p, size, align });
        true
    } else {
        let l = v.swap_remove(rng.range(0, v.len()));
        // SAFETY: `l` was live with this layout.
        unsafe { a.dealloc(l.ptr, layout(l.size, l.align)) };
        true
    }
}

/// Random actions for `duration`: the number of successful actions.
/// The harness loop runs from copy `placement mod PLACEMENTS` (see
/// [`placed!`]).
pub fn random_actions(a: &dyn GlobalAlloc, seed: u64, placement: u64, max: usize, duration: Duration, var: Variant) -> u64 {
    if var.xoshiro {
        placed!(placement, random_actions_with(a, &mut Xoshiro::new(seed), max, duration, var))
    } else {
        placed!(placement, random_actions_with(a, &mut Rng::new(seed), max, duration, var))
    }
}

#[inline(never)]
fn random_actions_with<const PAD: usize>(a: &dyn GlobalAlloc, rng: &mut impl Draw, max: usize, duration: Duration, var: Variant) -> u64 {
    place::<PAD>();
    let mut v = Vec::with_capacity(1 << 16);
    let mut done = 0u64;
    let start = Instant::now();
    while start.elapsed() < duration {
        for _ in 0..100 {
            done += u64::from(random_action(a, rng, &mut v, max, var));
        }
    }
    free_all(a, &mut v);
    done
}

/// Exactly `actions` random actions (for profiling: the same work every run).
pub fn random_actions_fixed(a: &dyn GlobalAlloc, seed: u64, max: usize, actions: u64) -> u64 {
    let mut rng = Rng::new(seed);
    let mut v = Vec::with_capacity(1 << 16);
    let mut done = 0;
    for _ in 0..actions {
        done += u64::from(random_action(a, &mut rng, &mut v, max, Variant::BASE));
    }
    free_all(a, &mut v);
    done
}

/// Many live blocks: allocate `live` blocks of up to `max` bytes, then for
/// `duration` free a random one and allocate a new one (two actions),
/// keeping `live` blocks alive. The number of actions. `var` as for the
/// random actions (its realloc share does not apply).
pub fn steady_live(a: &dyn GlobalAlloc, seed: u64, placement: u64, live: usize, max: usize, duration: Duration, var: Variant) -> u64 {
    let mut start = None;
    let more = |_| start.get_or_insert_with(Instant::now).elapsed() < duration;
    if var.xoshiro {
        placed!(placement, steady_live_while(a, &mut Xoshiro::new(seed), live, max, var.touch, more))
    } else {
        placed!(placement, steady_live_while(a, &mut Rng::new(seed), live, max, var.touch, more))
    }
}

/// [`steady_live`] for exactly `actions` actions after the set-up (for
/// profiling: the same work every run).
pub fn steady_live_fixed(a: &dyn GlobalAlloc, seed: u64, placement: u64, live: usize, max: usize, actions: u64) -> u64 {
    placed!(placement, steady_live_while(a, &mut Rng::new(seed), live, max, false, |done| done < actions))
}

/// [`steady_live`]'s work, in rounds of 50 replacements while `more(done)`;
/// `touch`: the program writes the first and last byte of every block.
#[inline(never)]
fn steady_live_while<const PAD: usize>(a: &dyn GlobalAlloc, rng: &mut impl Draw, live: usize, max: usize, touch_blocks: bool, mut more: impl FnMut(u64) -> bool) -> u64 {
    place::<PAD>();
    let mut v = Vec::with_capacity(live);
    for _ in 0..live {
        let (size, align) = (rng.size(max), rng.align());
        // SAFETY: non-zero size.
        let p = unsafe { a.alloc(layout(size, align)) };
        assert!(!p.is_null(), "the heap holds {live} blocks");
        if touch_blocks {
            touch(p, size);
        }
        v.push(Live { ptr: p, size, align });
    }
    let mut done = 0u64;
    while more(done) {
        for _ in 0..50 {
            let i = rng.range(0, v.len());
            let l = v[i];
            // SAFETY: `l` is live with this layout.
            unsafe { a.dealloc(l.ptr, layout(l.size, l.align)) };
            let (size, align) = (rng.size(max), rng.align());
            // SAFETY: non-zero size.
            let p = unsafe { a.alloc(layout(size, align)) };
            assert!(!p.is_null(), "the heap holds {live} blocks");
            if touch_blocks {
                touch(p, size);
            }
            v[i] = Live { ptr: p, size, align };
            done += 2;
        }
    }
    free_all(a, &mut v);
    done
}

/// Heap efficiency, as talc's benchmark measures it: in a heap of
/// `heap_len` bytes, 5/10 allocate (size up to `max`), 1/10 free, 4/10
/// realloc a random allocation to `1..10 × max`, until an allocation or a
/// reallocation fails; then the percentage of the heap that the live
/// allocations' sizes add up to. One round; the caller averages rounds.
pub fn heap_efficiency(a: &dyn GlobalAlloc, rng: &mut Rng, heap_len: usize, max: usize) -> f64 {
    let mut v: Vec<Live> = Vec::with_capacity(1 << 14);
    loop {
        match rng.range(0, 10) {
            0..=4 => {
                let (size, align) = (rng.size(max), rng.align());
                // SAFETY: non-zero size.
                let p = unsafe { a.alloc(layout(size, align)) };
                if p.is_null() {
                    break;
                }
                v.push(Live { ptr: p, size, align });
            }
            5 => {
                if !v.is_empty() {
                    let l = v.swap_remove(rng.range(0, v.len()));
                    // SAFETY: `l` was live with this layout.
                    unsafe { a.dealloc(l.ptr, layout(l.size, l.align)) };
                }
            }
            _ => {
                if !v.is_empty() {
                    let i = rng.range(0, v.len());
                    let l = v[i];
                    let new_size = rng.range(1, max * 10);
                    // SAFETY: `l` is live with this layout.
                    let p = unsafe { a.realloc(l.ptr, layout(l.size, l.align), new_size) };
                    if p.is_null() {
                        break;
                    }
                    v[i] = Live { ptr: p, size: new_size, align: l.align };
                }
            }
        }
    }
    let used: usize = v.iter().map(|l| l.size).sum();
    free_all(a, &mut v);
    used as f64 * 100.0 / heap_len as f64
}

/// One replay of a malloc-lab trace. Returns the peak of live requested
/// bytes and the address span that payloads ever covered (lowest payload
/// start to highest payload end), or `None` if an operation failed.
pub fn replay(a: &dyn GlobalAlloc, t: &Trace, slots: &mut Vec<Live>) -> Option<(usize, usize)> {
    replay_placed(a, t, slots, 0)
}

/// [`replay`] from the harness loop's placement `placement mod PLACEMENTS`
/// (see [`PLACEMENTS`]).
pub fn replay_placed(a: &dyn GlobalAlloc, t: &Trace, slots: &mut Vec<Live>, placement: u64) -> Option<(usize, usize)> {
    placed!(placement, replay_loop(a, t, slots))
}

#[inline(never)]
fn replay_loop<const PAD: usize>(a: &dyn GlobalAlloc, t: &Trace, slots: &mut Vec<Live>) -> Option<(usize, usize)> {
    place::<PAD>();
    const ALIGN: usize = 8;
    slots.clear();
    slots.resize(t.ids, Live { ptr: std::ptr::null_mut(), size: 0, align: ALIGN });
    let (mut live, mut peak, mut lo, mut hi) = (0usize, 0usize, usize::MAX, 0usize);
    let mut ok = true;
    for op in &t.ops {
        match *op {
            Op::Alloc { id, size } => {
                let size = size.max(1);
                // SAFETY: non-zero size.
                let p = unsafe { a.alloc(layout(size, ALIGN)) };
                if p.is_null() {
                    ok = false;
                    break;
                }
                slots[id] = Live { ptr: p, size, align: ALIGN };
                live += size;
                lo = lo.min(p.addr());
                hi = hi.max(p.addr() + size);
            }
            Op::Realloc { id, size } => {
                let size = size.max(1);
                let l = slots[id];
                let p = if l.ptr.is_null() {
                    // SAFETY: non-zero size.
                    unsafe { a.alloc(layout(size, ALIGN)) }
                } else {
                    // SAFETY: `l` is live with this layout.
                    unsafe { a.realloc(l.ptr, layout(l.size, ALIGN), size) }
                };
                if p.is_null() {
                    ok = false;
                    break;
                }
                live = live - l.size + size;
                slots[id] = Live { ptr: p, size, align: ALIGN };
                lo = lo.min(p.addr());
                hi = hi.max(p.addr() + size);
            }
            Op::Free { id } => {
                let l = std::mem::replace(&mut slots[id], Live { ptr: std::ptr::null_mut(), size: 0, align: ALIGN });
                if !l.ptr.is_null() {
                    // SAFETY: `l` was live with this layout.
                    unsafe { a.dealloc(l.ptr, layout(l.size, ALIGN)) };
                    live -= l.size;
                }
            }
        }
        peak = peak.max(live);
    }
    let mut rest: Vec<Live> = slots.iter().copied().filter(|l| !l.ptr.is_null()).collect();
    free_all(a, &mut rest);
    ok.then(|| (peak, hi.saturating_sub(lo)))
}
