//! talc 5 as the global allocator, as its WebAssembly README recommends.

#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

include!("../../module.rs");

// The compare page replays traces on this allocator over its own region
// (crate/peers), through these exports.
#[cfg(not(feature = "size"))]
heaplab_peers::trace_exports!(heaplab_peers::talc::Talc);
