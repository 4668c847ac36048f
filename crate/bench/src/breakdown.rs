//! `--breakdown MAX ACTIONS`: where the time of random actions goes, per
//! operation, for each contender: timestamp-counter cycles per `alloc`,
//! `dealloc` and `realloc` (on x86_64; nanoseconds elsewhere), the best of
//! several interleaved trials, and how many moving reallocs copied to the
//! slow `memcpy` distance (16 bytes past the source modulo 4 KiB).

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;

use crate::contenders::Contender;
use crate::workloads;

/// A timestamp: cycles on x86_64, else nanoseconds since the first call.
#[inline(always)]
fn stamp() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: every x86_64 processor has the timestamp counter.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
    }
}

/// Per operation kind (alloc, dealloc, realloc): total time and count.
#[derive(Clone, Copy, Default)]
struct Tally {
    time: [u64; 3],
    count: [u64; 3],
    /// Moving reallocs, and those to the slow copy distance.
    moves: u64,
    slow_moves: u64,
    /// Lowest payload start and highest payload end handed out.
    lo: usize,
    hi: usize,
}

/// An allocator that times every call into the one it wraps.
struct Timed<'a> {
    inner: &'a dyn GlobalAlloc,
    tally: Cell<Tally>,
}

impl Timed<'_> {
    fn span(&self, p: *mut u8, size: usize) {
        if !p.is_null() {
            let mut t = self.tally.get();
            t.lo = if t.lo == 0 { p.addr() } else { t.lo.min(p.addr()) };
            t.hi = t.hi.max(p.addr() + size);
            self.tally.set(t);
        }
    }

    fn add(&self, kind: usize, start: u64) {
        let end = stamp();
        let mut t = self.tally.get();
        t.time[kind] += end.wrapping_sub(start);
        t.count[kind] += 1;
        self.tally.set(t);
    }
}

// SAFETY: forwards every call unchanged to `inner`.
unsafe impl GlobalAlloc for Timed<'_> {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let s = stamp();
        // SAFETY: forwarded.
        let p = unsafe { self.inner.alloc(l) };
        self.add(0, s);
        self.span(p, l.size());
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        let s = stamp();
        // SAFETY: forwarded.
        unsafe { self.inner.dealloc(p, l) };
        self.add(1, s);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        let s = stamp();
        // SAFETY: forwarded.
        let q = unsafe { self.inner.realloc(p, l, new_size) };
        self.add(2, s);
        self.span(q, new_size);
        if !q.is_null() && q != p {
            let mut t = self.tally.get();
            t.moves += 1;
            t.slow_moves += u64::from(heaplab::lean::slow_copy(p, q, l.size().min(new_size)));
            self.tally.set(t);
        }
        q
    }
}

/// What taking two stamps in a row costs: the least of many tries,
/// subtracted from every call's time.
fn stamp_cost() -> u64 {
    (0..10_000)
        .map(|_| {
            let s = stamp();
            stamp().wrapping_sub(s)
        })
        .min()
        .unwrap_or(0)
}

/// Runs `actions` random actions of up to `max` bytes on each contender
/// (built by `make`), seven trials interleaved, and returns a table of the
/// best trial's time per call of each operation (the first trial is a
/// warm-up), the cost of reading the clock subtracted.
pub fn run(contenders: &[&Contender], make: impl Fn(&Contender) -> Box<dyn GlobalAlloc>, max: usize, actions: u64) -> String {
    use std::fmt::Write as _;
    let unit = if cfg!(target_arch = "x86_64") { "cycles" } else { "ns" };
    let cost = stamp_cost();
    let mut best = vec![[u64::MAX; 4]; contenders.len()];
    let mut last = vec![Tally::default(); contenders.len()];
    for trial in 0..7 {
        for (i, c) in contenders.iter().enumerate() {
            let a = make(c);
            let timed = Timed { inner: &*a, tally: Cell::new(Tally::default()) };
            workloads::random_actions_fixed(&timed, 3, max, actions);
            let t = timed.tally.get();
            if trial > 0 {
                for (b, time) in best[i].iter_mut().zip(t.time) {
                    *b = (*b).min(time);
                }
                best[i][3] = best[i][3].min(t.time.iter().sum());
            }
            last[i] = t;
        }
    }
    let mut out = format!("Random actions ≤{max} B, {actions} actions, best of 6 trials, {unit} per call (timestamp counter; the {cost} {unit} of reading it subtracted):\n");
    out += &format!("| contender | all calls (M {unit}) | alloc | dealloc | realloc | moving reallocs | to the slow copy distance | address span (MB) |\n");
    out += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    for (i, c) in contenders.iter().enumerate() {
        let (b, t) = (best[i], last[i]);
        let per = |k: usize| (b[k] as f64 / t.count[k].max(1) as f64 - cost as f64).max(0.0);
        let span = t.hi.saturating_sub(t.lo) as f64 / 1e6;
        let _ = writeln!(out, "| {} | {:.1} | {:.0} | {:.0} | {:.0} | {} | {} | {span:.1} |", c.name, b[3] as f64 / 1e6, per(0), per(1), per(2), t.moves, t.slow_moves);
    }
    out
}
