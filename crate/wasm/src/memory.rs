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

use core::cell::{Cell, RefCell};
use core::ptr::NonNull;
use std::collections::BTreeMap;

use heaplab::pages::{PageOwner, PageSource, WasmMemory, WASM_PAGE};

/// A run of memory: `(base address, bytes)`.
type Run = (usize, usize);

/// The runs a heap obtained, in order: `runs[..next]` are the heap's now;
/// `runs[next..]` were handed back by a restore and are given out again first.
#[derive(Default)]
pub(super) struct GrowLog {
    runs: Vec<Run>,
    next: usize,
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

/// The page source of one JS-created heap: its own handed-back runs first
/// (in order), then the shared pool, then `memory.grow`.
#[derive(Clone, Copy)]
pub(super) struct RecycledMemory {
    serial: u32,
}

impl RecycledMemory {
    /// A source for a new heap, with an empty grow log.
    pub(super) fn new() -> Self {
        let serial = NEXT_SERIAL.with(|n| n.replace(n.get() + 1));
        LOGS.with_borrow_mut(|logs| logs.insert(serial, GrowLog::default()));
        RecycledMemory { serial }
    }

    /// Gives every run of this heap to the pool (the heap is being dropped).
    pub(super) fn release(self) {
        if let Some(log) = LOGS.with_borrow_mut(|logs| logs.remove(&self.serial)) {
            give_to_pool(log.runs);
        }
    }
}

/// Adds runs to the pool, merging neighbours so that the pool stays a few
/// large runs rather than many small ones.
fn give_to_pool(runs: Vec<Run>) {
    POOL.with_borrow_mut(|pool| {
        pool.extend(runs);
        pool.sort_unstable_by_key(|&(base, _)| base);
        let mut merged: Vec<Run> = Vec::with_capacity(pool.len());
        for &(base, bytes) in pool.iter() {
            match merged.last_mut() {
                Some((b, n)) if *b + *n == base => *n += bytes,
                _ => merged.push((base, bytes)),
            }
        }
        *pool = merged;
    });
}

/// Takes `min_bytes` (rounded up to whole wasm pages, as `memory.grow` would
/// give them) from the pool: from the run that starts at `after` (the end of
/// the heap's last run, so that its segment just grows) if there is one,
/// else from the lowest run big enough. The rest of the run stays pooled.
/// A heap fed this way gets few segments, each no bigger than it asked for.
fn take_from_pool(min_bytes: usize, after: Option<usize>) -> Option<Run> {
    let want = min_bytes.checked_add(WASM_PAGE - 1)? & !(WASM_PAGE - 1);
    POOL.with_borrow_mut(|pool| {
        let i = pool
            .iter()
            .position(|&(base, bytes)| Some(base) == after && bytes >= want)
            .or_else(|| pool.iter().position(|&(_, bytes)| bytes >= want))?;
        let (base, bytes) = pool[i];
        if bytes == want {
            pool.remove(i);
        } else {
            pool[i] = (base + want, bytes - want);
        }
        Some((base, want))
    })
}

impl PageSource for RecycledMemory {
    fn grow(&mut self, min_bytes: usize) -> Option<(NonNull<u8>, usize)> {
        LOGS.with_borrow_mut(|logs| {
            let log = logs.get_mut(&self.serial)?;
            if let Some(&(base, bytes)) = log.runs.get(log.next) {
                if bytes >= min_bytes {
                    log.next += 1;
                    return Some((pointer(base)?, bytes));
                }
                // The operations went another way than before the restore:
                // the handed-back runs are no longer needed in order.
                give_to_pool(log.runs.split_off(log.next));
            }
            let after = log.runs.last().map(|&(base, bytes)| base + bytes);
            let run = match take_from_pool(min_bytes, after) {
                Some(run) => run,
                None => WasmMemory::new()
                    .grow(min_bytes)
                    .map(|(p, bytes)| (p.as_ptr().addr(), bytes))?,
            };
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
