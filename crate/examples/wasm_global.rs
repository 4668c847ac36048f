//! A wasm module whose global allocator is heaplab's lean heap over wasm
//! memory (`memory.grow`). Build it with
//! `cargo build -p heaplab --example wasm_global --target wasm32-unknown-unknown --release`
//! and call its exports from JS: `sum_of_squares(n)` builds a Vec of n
//! numbers, `heap_blocks()` counts the blocks in use.

#[cfg(target_arch = "wasm32")]
mod module {
    use heaplab::global::GlobalLeanHeap;
    use heaplab::pages::WasmMemory;
    use heaplab::policy::Segregated;

    #[global_allocator]
    static HEAP: GlobalLeanHeap<WasmMemory, Segregated> = GlobalLeanHeap::wasm();

    /// The sum of the squares of 0 … n-1, through a Vec of n numbers on the heap.
    #[no_mangle]
    pub extern "C" fn sum_of_squares(n: u32) -> u64 {
        let squares: Vec<u64> = (0..u64::from(n)).map(|k| k * k).collect();
        squares.iter().sum()
    }

    /// Blocks in use right now (0 between calls: every Vec was freed).
    #[no_mangle]
    pub extern "C" fn heap_blocks() -> u32 {
        HEAP.with(|heap| heap.stats().live_blocks as u32)
    }
}
