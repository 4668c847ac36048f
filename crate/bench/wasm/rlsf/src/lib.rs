//! rlsf as the global allocator (its `GlobalTlsf`, over memory.grow).

#[global_allocator]
static TLSF: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();

include!("../../module.rs");

// The compare page replays traces on this allocator over its own region
// (crate/peers), through these exports.
#[cfg(not(feature = "size"))]
heaplab_peers::trace_exports!(heaplab_peers::tlsf::Rlsf);
