//! A trace replayed natively on a peer: the figures the compare page shows
//! for it, computed from the crate's side (tests and `peer-replay`).

use crate::Peer;

/// One trace operation, as the trace reader gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// id = malloc(size)
    Alloc(usize, usize),
    /// id = realloc(id, size)
    Realloc(usize, usize),
    /// free(id)
    Free(usize),
}

/// What a replay measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Figures {
    /// Operations done (all of them unless `failed`).
    pub operations: usize,
    /// Peak of the live requested bytes.
    pub peak_live_requested: usize,
    /// Bytes of pages taken at the end (the peak: peers never give pages back).
    pub span: usize,
    /// `peak_live_requested / span` (malloc-lab's U).
    pub utilization: f64,
    /// The operation that failed (the region was exhausted), if any.
    pub failed: Option<usize>,
}

/// Replays `ops` on a fresh heap of `P` (at most `limit` bytes of pages),
/// writing a pattern into every payload and checking it is intact when the
/// payload is freed or moved (a panic names the operation if not).
pub fn replay<P: Peer>(ops: &[Op], ids: usize, limit: usize) -> Figures {
    let mut heap = Box::new(P::new(limit));
    let mut live: Vec<Option<(*mut u8, usize)>> = vec![None; ids];
    let (mut requested, mut peak) = (0usize, 0usize);
    let mut failed = None;
    let fill = |p: *mut u8, size: usize, id: usize| {
        // SAFETY: p is a live allocation of at least `size` bytes.
        unsafe { core::ptr::write_bytes(p, id as u8 ^ 0x5A, size) }
    };
    let check = |p: *mut u8, size: usize, id: usize, at: usize| {
        // SAFETY: p is a live allocation of at least `size` bytes.
        let bytes = unsafe { core::slice::from_raw_parts(p, size) };
        assert!(bytes.iter().all(|&b| b == id as u8 ^ 0x5A), "{}: the payload of id {id} changed before operation {at}", P::NAME);
    };
    for (at, &op) in ops.iter().enumerate() {
        match op {
            Op::Alloc(id, size) => {
                let size = size.max(1);
                let p = heap.alloc(size, 8);
                if p.is_null() {
                    failed = Some(at);
                    break;
                }
                assert_eq!(p as usize % 8, 0, "{}: operation {at} misaligned", P::NAME);
                fill(p, size, id);
                live[id] = Some((p, size));
                requested += size;
            }
            Op::Realloc(id, size) => {
                let size = size.max(1);
                let Some((old, was)) = live[id] else { continue };
                check(old, was, id, at);
                // SAFETY: `old` is live with size `was`.
                let p = unsafe { heap.realloc(old, was, 8, size) };
                if p.is_null() {
                    failed = Some(at);
                    break;
                }
                check(p, was.min(size), id, at);
                fill(p, size, id);
                live[id] = Some((p, size));
                requested = requested + size - was;
            }
            Op::Free(id) => {
                let Some((p, size)) = live[id].take() else { continue };
                check(p, size, id, at);
                // SAFETY: `p` is live with this size.
                unsafe { heap.free(p, size, 8) };
                requested -= size;
            }
        }
        peak = peak.max(requested);
    }
    let region = heap.region();
    let span = region.taken();
    drop(heap);
    // SAFETY: the heap over the region is gone, and so is every pointer into it.
    unsafe { region.release() };
    let operations = failed.unwrap_or(ops.len());
    Figures { operations, peak_live_requested: peak, span, utilization: if span == 0 { 0.0 } else { peak as f64 / span as f64 }, failed }
}

/// Every peer this build has, as `(name, replay)`.
#[allow(clippy::type_complexity, clippy::vec_init_then_push)] // one push per feature
pub fn peers() -> Vec<(&'static str, fn(&[Op], usize, usize) -> Figures)> {
    let mut out: Vec<(&'static str, fn(&[Op], usize, usize) -> Figures)> = Vec::new();
    #[cfg(feature = "talc")]
    out.push((crate::talc::Talc::NAME, replay::<crate::talc::Talc>));
    #[cfg(feature = "rlsf")]
    out.push((crate::tlsf::Rlsf::NAME, replay::<crate::tlsf::Rlsf>));
    #[cfg(feature = "dlmalloc")]
    out.push((crate::dl::Dl::NAME, replay::<crate::dl::Dl>));
    #[cfg(feature = "lla")]
    out.push((crate::lla::Lla::NAME, replay::<crate::lla::Lla>));
    #[cfg(feature = "buddy")]
    out.push((crate::buddy::Buddy::NAME, replay::<crate::buddy::Buddy>));
    out
}
