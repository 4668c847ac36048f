//! heaplab's checked heap (page map, live bitmap, counters: every free
//! validated), segregated fit, as the global allocator.

use heaplab::global::GlobalHeap;
use heaplab::pages::WasmMemory;
use heaplab::policy::Segregated;

#[global_allocator]
static HEAP: GlobalHeap<WasmMemory, Segregated> = GlobalHeap::wasm();

include!("../../module.rs");
