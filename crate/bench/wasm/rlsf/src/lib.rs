//! rlsf as the global allocator (its `GlobalTlsf`, over memory.grow).

#[global_allocator]
static TLSF: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();

include!("../../module.rs");
