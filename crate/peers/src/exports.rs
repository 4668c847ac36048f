//! The wasm exports of a trace module, one peer per module.

/// Defines the exports through which the compare page replays a trace on
/// `$peer` (a [`Peer`](crate::Peer)) in a wasm module. They allocate
/// nothing themselves (the page keeps the trace's ids), so the module's own
/// global allocator never grows memory while a trace runs and the region
/// stays one run. Every size and address is a `u32`; 0 is null.
///
/// - `trace_start(limit)`: a fresh heap of at most `limit` bytes;
/// - `trace_malloc(size)`, `trace_free(address, size)`,
///   `trace_realloc(address, old, new)`: the operations, aligned to 8;
/// - `trace_base()`, `trace_span()`: the region's first byte and bytes taken;
/// - `trace_free_blocks(count)`: reads `count` live `(address, size)` pairs
///   (in address order) at `trace_live_table()`, writes the free blocks as pairs
///   at `trace_free_table()` (each holds [`PAIRS`](crate::exports::PAIRS)); how
///   many there are, or `u32::MAX` when the peer does not expose them;
/// - `trace_ops()`, `trace_run(count)`: the whole replay inside wasm, as
///   heaplab's `Heap.run()` does it (what the compare page times): `count`
///   `(code, id, size)` triples written at `trace_ops()` (at most
///   [`RUN_OPS`](crate::exports::RUN_OPS)), ids below
///   [`RUN_IDS`](crate::exports::RUN_IDS) kept in a table of its own; how
///   many were done (fewer: the next one failed);
/// - `trace_state()`, `trace_state_bytes()`: the bytes of the heap's own
///   state (a static), which with the region's bytes are all a save keeps.
#[macro_export]
macro_rules! trace_exports {
    ($peer:ty) => {
        mod trace_exports {
            use $crate::Peer as _;
            type P = $peer;

            static mut HEAP: Option<P> = None;
            static mut LIVE: [(usize, usize); $crate::exports::PAIRS] = [(0, 0); $crate::exports::PAIRS];
            static mut FREE: [(usize, usize); $crate::exports::PAIRS] = [(0, 0); $crate::exports::PAIRS];

            fn heap() -> &'static mut P {
                // SAFETY: wasm32 without threads: one call at a time, and no
                // reference outlives the export that took it.
                unsafe { (*core::ptr::addr_of_mut!(HEAP)).get_or_insert_with(|| P::new(256 << 20)) }
            }

            #[no_mangle]
            pub extern "C" fn trace_start(limit: u32) {
                // SAFETY: as in `heap`. The old heap's pages are reused by the
                // new one (its region starts where every region of this
                // instance starts); `trace_run`'s ids are forgotten.
                unsafe {
                    *core::ptr::addr_of_mut!(HEAP) = Some(P::new(limit as usize));
                    let ids = &mut *core::ptr::addr_of_mut!(IDS);
                    ids[..IDS_TOP].fill((0, 0));
                    IDS_TOP = 0;
                }
            }

            #[no_mangle]
            pub extern "C" fn trace_malloc(size: u32) -> u32 {
                heap().alloc(size.max(1) as usize, 8) as u32
            }

            #[no_mangle]
            pub extern "C" fn trace_free(address: u32, size: u32) {
                // SAFETY: the page frees only what it allocated, once, with its size.
                unsafe { heap().free(address as *mut u8, size.max(1) as usize, 8) }
            }

            #[no_mangle]
            pub extern "C" fn trace_realloc(address: u32, old: u32, new: u32) -> u32 {
                // SAFETY: as in `trace_free`.
                unsafe { heap().realloc(address as *mut u8, old.max(1) as usize, 8, new.max(1) as usize) as u32 }
            }

            #[no_mangle]
            pub extern "C" fn trace_base() -> u32 {
                heap().region().base() as u32
            }

            #[no_mangle]
            pub extern "C" fn trace_span() -> u32 {
                heap().region().taken() as u32
            }

            #[no_mangle]
            pub extern "C" fn trace_live_table() -> u32 {
                core::ptr::addr_of_mut!(LIVE) as u32
            }

            #[no_mangle]
            pub extern "C" fn trace_free_table() -> u32 {
                core::ptr::addr_of_mut!(FREE) as u32
            }

            #[no_mangle]
            pub extern "C" fn trace_free_blocks(count: u32) -> u32 {
                // SAFETY: as in `heap`: the two tables are not otherwise borrowed.
                let (live, free) = unsafe { (&*core::ptr::addr_of!(LIVE), &mut *core::ptr::addr_of_mut!(FREE)) };
                $crate::exports::free_blocks(heap(), &live[..(count as usize).min($crate::exports::PAIRS)], free)
            }

            static mut IDS: [(u32, u32); $crate::exports::RUN_IDS] = [(0, 0); $crate::exports::RUN_IDS];
            /// Every id `trace_run` has used is below it.
            static mut IDS_TOP: usize = 0;
            static mut OPS: [u32; 3 * $crate::exports::RUN_OPS] = [0; 3 * $crate::exports::RUN_OPS];

            #[no_mangle]
            pub extern "C" fn trace_ops() -> u32 {
                core::ptr::addr_of_mut!(OPS) as u32
            }

            #[no_mangle]
            pub extern "C" fn trace_run(count: u32) -> u32 {
                // SAFETY: as in `heap`: the tables are not otherwise borrowed.
                let (ids, ops, top) = unsafe { (&mut *core::ptr::addr_of_mut!(IDS), &*core::ptr::addr_of!(OPS), &mut *core::ptr::addr_of_mut!(IDS_TOP)) };
                $crate::exports::run(heap(), ids, top, &ops[..3 * (count as usize).min($crate::exports::RUN_OPS)])
            }

            #[no_mangle]
            pub extern "C" fn trace_state() -> u32 {
                core::ptr::addr_of_mut!(HEAP) as u32
            }

            #[no_mangle]
            pub extern "C" fn trace_state_bytes() -> u32 {
                core::mem::size_of::<Option<P>>() as u32
            }
        }
    };
}

/// Triples `trace_run` takes at a time.
pub const RUN_OPS: usize = 1 << 16;

/// Trace ids `trace_run` can keep (ids at or above it fail the operation).
pub const RUN_IDS: usize = 1 << 20;

/// The operation codes of heaplab's `Heap.run()` (its `RUN` constants).
const MALLOC: u32 = 0;
const FREE: u32 = 1;
const REALLOC: u32 = 2;

/// Runs `(code, id, size)` triples on `heap`, with `ids` the live
/// allocations by trace id (`(address, size)`, address 0 when not live)
/// and `top` above every id used (raised here);
/// how many were done before one failed (an unknown code, an id out of
/// range or in the wrong state, or the region full).
#[doc(hidden)]
pub fn run<P: crate::Peer>(heap: &mut P, ids: &mut [(u32, u32)], top: &mut usize, ops: &[u32]) -> u32 {
    let mut done = 0;
    for op in ops.chunks_exact(3) {
        let (code, id, size) = (op[0], op[1] as usize, op[2]);
        let Some(&(at, was)) = ids.get(id) else { break };
        *top = (*top).max(id + 1);
        let ok = match code {
            MALLOC if at == 0 => {
                let p = heap.alloc(size.max(1) as usize, 8) as u32;
                ids[id] = (p, size);
                p != 0
            }
            FREE if at != 0 => {
                // SAFETY: a live allocation of this heap with this size.
                unsafe { heap.free(at as *mut u8, was.max(1) as usize, 8) };
                ids[id] = (0, 0);
                true
            }
            REALLOC if at != 0 => {
                // SAFETY: as for FREE; on failure the old one is kept.
                let p = unsafe { heap.realloc(at as *mut u8, was.max(1) as usize, 8, size.max(1) as usize) } as u32;
                if p != 0 {
                    ids[id] = (p, size);
                }
                p != 0
            }
            _ => false,
        };
        if !ok {
            break;
        }
        done += 1;
    }
    done
}

/// Pairs each table of [`trace_exports!`] holds.
pub const PAIRS: usize = 1 << 16;

/// Writes `heap`'s free blocks into `out` (as many as fit); how many there
/// are, or `u32::MAX` when the peer does not expose them.
#[doc(hidden)]
pub fn free_blocks<P: crate::Peer>(heap: &P, live: &[(usize, usize)], out: &mut [(usize, usize)]) -> u32 {
    let mut n = 0usize;
    let known = heap.free_blocks(live, &mut |address, size| {
        if let Some(slot) = out.get_mut(n) {
            *slot = (address, size);
        }
        n += 1;
    });
    if known { n as u32 } else { u32::MAX }
}
