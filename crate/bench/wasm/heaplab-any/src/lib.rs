//! heaplab with the run-time policy choice (all five policies linked in),
//! set to segregated fit, as the global allocator.

use heaplab::global::GlobalHeap;
use heaplab::heap::{Config, Heap};
use heaplab::pages::WasmMemory;
use heaplab::PolicyKind;

#[global_allocator]
static HEAP: GlobalHeap<WasmMemory> = GlobalHeap::new(Heap::new(WasmMemory::new(), Config { policy: PolicyKind::Segregated, ..Config::DEFAULT }));

include!("../../module.rs");
