//! heaplab's lean heap compiled for code size (feature `small`), segregated
//! fit only, as the global allocator.

use heaplab::global::GlobalLeanHeap;
use heaplab::pages::WasmMemory;
use heaplab::policy::Segregated;

#[global_allocator]
static HEAP: GlobalLeanHeap<WasmMemory, Segregated> = GlobalLeanHeap::wasm();

include!("../../module.rs");
