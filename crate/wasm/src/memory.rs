//! Where the JS-created heaps get their memory, and how a heap is saved and
//! restored for the timeline.
//!
//! Wasm memory never shrinks, so the segments of a disposed heap go to a
//! shared pool that new heaps take from before growing memory. Each heap also
//! keeps a *grow log*: the runs of memory it obtained, in order. Restoring a
//! saved heap hands the runs obtained after the save back to the log (not to
//! the pool), and the heap's next growths take them again in the same order,
//! so replaying the same operations after a restore lays memory out exactly
//! as the first time: the heap stays deterministic under time travel.
//!
//! **Contiguous heaps.** Every heap of the module, and the module's own Rust
//! allocations (block tables, saved heaps, events), grow the same memory, so
//! memory obtained only when a heap needs it lands wherever the end of memory
//! happens to be, and a heap's segments interleave with everything else.
//! So each heap *reserves* memory ahead, and hands its growths out of its
//! reserve, each right after the last:
//!
//! ```text
//!  memory:  [heap A: used | reserved ....][heap B: used | reserved ....][Rust]
//!                         ^ A's next growth               ^ B's next growth
//! ```
//!
//! A reservation is at least [`RESERVE_MIN`] and at least as big as all the
//! heap has obtained so far (so a heap that outgrows its reserve doubles,
//! and has O(log size) reservations), but no more than the heap's memory
//! limit leaves. When the reserve runs out, the heap first tries to extend
//! it in place (a pooled run right after it, or the end of memory), and only
//! then reserves elsewhere. Each growth still takes only what the heap asked
//! for (whole wasm pages, as `memory.grow` would give), so the heap's
//! figures and segments are what they were without a reserve, only
//! contiguous. Runs a restore handed back and the operations then did not
//! take again return to the heap's reserve. The reserve belongs to the heap:
//! disposing it gives its reserve to the pool with the rest.

use core::cell::{Cell, RefCell};
use core::ptr::NonNull;
use std::collections::BTreeMap;

use heaplab::pages::{PageOwner, PageSource, WasmMemory, WASM_PAGE};

/// A run of memory: `(base address, bytes)`.
type Run = (usize, usize);

/// The smallest reservation: 4 MiB (64 wasm pages). Reserved memory that a
/// heap never touches costs address space, not RAM, in the engines we run
/// on (their wasm memories are reserved up front and committed lazily), and
/// goes to the pool when the heap is disposed.
const RESERVE_MIN: usize = 4 << 20;

/// The runs a heap obtained, in order: `runs[..next]` are the heap's now;
/// `runs[next..]` were handed back by a restore and are given out again first.
#[derive(Default)]
pub(super) struct GrowLog {
    runs: Vec<Run>,
    next: usize,
    /// Memory reserved for this heap and not handed to it: runs sorted by
    /// base, none adjacent to the next, none overlapping `runs[..next]`.
    reserve: Vec<Run>,
    /// The heap's memory limit in bytes (its `maxBytes`).
    limit: usize,
}

std::thread_local! {
    /// Runs of disposed heaps, free for any heap.
    static POOL: RefCell<Vec<Run>> = const { RefCell::new(Vec::new()) };
    /// Each live heap's grow log, by heap serial.
    static LOGS: RefCell<BTreeMap<u32, GrowLog>> = const { RefCell::new(BTreeMap::new()) };
    static NEXT_SERIAL: Cell<u32> = const { Cell::new(1) };
}

fn pointer(addr: usize) -> Option<NonNull<u8>> {
    // Wasm linear memory has no provenance beyond the module's memory.
    NonNull::new(core::ptr::with_exposed_provenance_mut::<u8>(addr))
}

/// `bytes` rounded up to whole wasm pages (as `memory.grow` gives them).
fn wasm_pages(bytes: usize) -> Option<usize> {
    Some(bytes.checked_add(WASM_PAGE - 1)? & !(WASM_PAGE - 1))
}

/// The page source of one JS-created heap: its own handed-back runs first
/// (in order), then its reserve, which it fills from the shared pool or
/// with `memory.grow` (see the module docs).
#[derive(Clone, Copy)]
pub(super) struct RecycledMemory {
    serial: u32,
}

impl RecycledMemory {
    /// A source for a new heap that may obtain at most `limit` bytes, with
    /// an empty grow log and no reserve (it reserves on its first growth).
    pub(super) fn new(limit: usize) -> Self {
        let serial = NEXT_SERIAL.with(|n| n.replace(n.get() + 1));
        let log = GrowLog {
            limit,
            ..GrowLog::default()
        };
        LOGS.with_borrow_mut(|logs| logs.insert(serial, log));
        RecycledMemory { serial }
    }

    /// Gives every run of this heap, and its reserve, to the pool (the heap
    /// is being dropped).
    pub(super) fn release(self) {
        if let Some(log) = LOGS.with_borrow_mut(|logs| logs.remove(&self.serial)) {
            POOL.with_borrow_mut(|pool| {
                merge_runs(pool, log.runs);
                merge_runs(pool, log.reserve);
            });
        }
    }
}

/// Adds `more` to the sorted runs `runs`, merging neighbours so that they
/// stay a few large runs rather than many small ones.
fn merge_runs(runs: &mut Vec<Run>, more: Vec<Run>) {
    runs.extend(more);
    runs.sort_unstable_by_key(|&(base, _)| base);
    let mut merged: Vec<Run> = Vec::with_capacity(runs.len());
    for &(base, bytes) in runs.iter() {
        match merged.last_mut() {
            Some((b, n)) if *b + *n == base => *n += bytes,
            _ => merged.push((base, bytes)),
        }
    }
    *runs = merged;
}

/// Takes between `min` and `max` bytes (`min <= max`, both whole wasm
/// pages) from the front of a run of `runs`: the run starting at `at` when
/// given, else the lowest run that holds `max` bytes, else the lowest that
/// holds `min`. The rest of the run stays.
fn take_run(runs: &mut Vec<Run>, at: Option<usize>, min: usize, max: usize) -> Option<Run> {
    let i = match at {
        Some(at) => runs.iter().position(|&(b, n)| b == at && n >= min)?,
        None => runs
            .iter()
            .position(|&(_, n)| n >= max)
            .or_else(|| runs.iter().position(|&(_, n)| n >= min))?,
    };
    let (base, bytes) = runs[i];
    let take = bytes.min(max);
    if take == bytes {
        runs.remove(i);
    } else {
        runs[i] = (base + take, bytes - take);
    }
    Some((base, take))
}

/// New memory for a heap: `min` to `max` bytes from the pool (at `at` only,
/// when given), else, when `at` is `None` or the end of memory, from
/// `memory.grow` (`max` bytes, or `min` if that fails).
fn obtain(at: Option<usize>, min: usize, max: usize) -> Option<Run> {
    if let Some(run) = POOL.with_borrow_mut(|pool| take_run(pool, at, min, max)) {
        return Some(run);
    }
    let end = core::arch::wasm32::memory_size(0).checked_mul(WASM_PAGE);
    if at.is_some_and(|at| Some(at) != end) {
        return None;
    }
    let grow = |bytes| WasmMemory::new().grow(bytes).map(|(p, n)| (p.as_ptr().addr(), n));
    grow(max).or_else(|| grow(min))
}

impl GrowLog {
    /// `want` bytes (whole wasm pages) for the heap's next growth, right
    /// after `after` (the end of its last run) when possible; elsewhere
    /// only when `elsewhere`.
    fn take(&mut self, want: usize, after: Option<usize>, elsewhere: bool) -> Option<Run> {
        let obtained: usize = self.runs.iter().map(|&(_, n)| n).sum();
        let reserved: usize = self.reserve.iter().map(|&(_, n)| n).sum();
        let room = self.limit.saturating_sub(obtained + reserved) & !(WASM_PAGE - 1);
        let target = RESERVE_MIN.max(obtained).min(room).max(want);
        if let Some(after) = after {
            if let Some(run) = take_run(&mut self.reserve, Some(after), want, want) {
                return Some(run);
            }
            // Extend the reserve in place: the run at `after` (if any)
            // continues at `frontier`.
            let have = self
                .reserve
                .iter()
                .find(|&&(b, _)| b == after)
                .map_or(0, |&(_, n)| n);
            let frontier = after + have;
            if let Some(run) = obtain(Some(frontier), want - have, target.saturating_sub(have).max(want - have)) {
                merge_runs(&mut self.reserve, vec![run]);
                return take_run(&mut self.reserve, Some(after), want, want);
            }
        }
        if !elsewhere {
            return None;
        }
        // A new reservation elsewhere; failing that, any reserved run that
        // holds `want` bytes.
        if let Some((base, bytes)) = obtain(None, want, target) {
            // The front is this growth (taken before merging: the new run
            // may join a reserved run below it).
            if bytes > want {
                merge_runs(&mut self.reserve, vec![(base + want, bytes - want)]);
            }
            return Some((base, want));
        }
        take_run(&mut self.reserve, None, want, want)
    }
}

// SAFETY: every run handed out is linear memory obtained by `memory.grow`
// for this heap's history (its log), 64 KiB aligned, valid for the module's
// life, and given to one heap at a time (the log's `next` only moves on).
unsafe impl PageSource for RecycledMemory {
    fn grow(&mut self, min_bytes: usize) -> Option<(NonNull<u8>, usize)> {
        self.grow_where(min_bytes, true)
    }

    /// Only from the reserve right after the heap's last run, or by
    /// extending that reserve in place: never a new run elsewhere.
    fn grow_in_place(&mut self, min_bytes: usize) -> Option<(NonNull<u8>, usize)> {
        self.grow_where(min_bytes, false)
    }
}

impl RecycledMemory {
    /// [`PageSource::grow`], or [`PageSource::grow_in_place`] when not
    /// `elsewhere`.
    fn grow_where(&mut self, min_bytes: usize, elsewhere: bool) -> Option<(NonNull<u8>, usize)> {
        let want = wasm_pages(min_bytes)?;
        LOGS.with_borrow_mut(|logs| {
            let log = logs.get_mut(&self.serial)?;
            if let Some(&(base, bytes)) = log.runs.get(log.next) {
                if bytes >= min_bytes {
                    log.next += 1;
                    return Some((pointer(base)?, bytes));
                }
                // The operations went another way than before the restore:
                // the handed-back runs are no longer needed in order; they
                // go back to the reserve (right after the heap's last run,
                // where its next growth looks first).
                let back = log.runs.split_off(log.next);
                merge_runs(&mut log.reserve, back);
            }
            let after = log.runs.last().map(|&(base, bytes)| base + bytes);
            let run = log.take(want, after, elsewhere)?;
            log.runs.push(run);
            log.next += 1;
            Some((pointer(run.0)?, run.1))
        })
    }
}

/// The memory side of a saved heap: which runs it owned and the bytes of
/// every page in use (free pages hold nothing the heap reads back).
pub(super) struct Saved {
    serial: u32,
    runs: Vec<Run>,
    pages: Vec<(usize, Vec<u8>)>,
}

impl Saved {
    /// Saves the memory of the heap with source `source`; `pages` lists every
    /// page and its owner, `bytes` reads the heap's memory.
    pub(super) fn capture<'a>(
        source: RecycledMemory,
        pages: impl Iterator<Item = (usize, PageOwner)>,
        bytes: impl Fn(usize, usize) -> &'a [u8],
    ) -> Saved {
        let runs = LOGS.with_borrow(|logs| {
            logs.get(&source.serial)
                .map(|l| l.runs[..l.next].to_vec())
                .unwrap_or_default()
        });
        // Runs of consecutive pages in use.
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for (addr, owner) in pages {
            if owner == PageOwner::Free {
                continue;
            }
            match spans.last_mut() {
                Some((start, len)) if *start + *len == addr => *len += heaplab::pages::PAGE,
                _ => spans.push((addr, heaplab::pages::PAGE)),
            }
        }
        let pages = spans
            .into_iter()
            .map(|(addr, len)| (addr, bytes(addr, len).to_vec()))
            .collect();
        Saved {
            serial: source.serial,
            runs,
            pages,
        }
    }

    /// Whether this was saved from the heap with `source`, and every run it
    /// owned still belongs to that heap (a later, different history may have
    /// given some away).
    pub(super) fn fits(&self, source: RecycledMemory) -> bool {
        self.serial == source.serial
            && LOGS.with_borrow(|logs| {
                logs.get(&self.serial)
                    .is_some_and(|l| l.runs.starts_with(&self.runs))
            })
    }

    /// The saved pages, to write back.
    pub(super) fn pages(&self) -> &[(usize, Vec<u8>)] {
        &self.pages
    }

    /// After the heap was restored: the runs obtained since the save go back
    /// to the heap's grow log, to be handed out again in order.
    pub(super) fn rewind(&self) {
        LOGS.with_borrow_mut(|logs| {
            if let Some(log) = logs.get_mut(&self.serial) {
                log.next = self.runs.len();
            }
        });
    }
}
