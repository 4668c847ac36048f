//! talc 5 as the global allocator, as its WebAssembly README recommends.

#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

include!("../../module.rs");
