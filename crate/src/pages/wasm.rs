//! The wasm page source: `memory.grow` on memory 0.

use super::{PageSource, WASM_PAGE};
use core::ptr::NonNull;

/// Grows wasm linear memory with `memory.grow`. Failure (the engine's
/// limit) is reported as `None`, never a trap. Memory that other code grows
/// in between makes the heap start a new segment.
#[derive(Debug, Default, Clone, Copy)]
pub struct WasmMemory;

impl WasmMemory {
    /// The source (it has no state).
    pub const fn new() -> Self {
        WasmMemory
    }
}

// SAFETY: `memory.grow` returns fresh, zeroed pages of linear memory (64
// KiB aligned) that no one else has been handed, valid for the module's life.
unsafe impl PageSource for WasmMemory {
    fn grow(&mut self, min_bytes: usize) -> Option<(NonNull<u8>, usize)> {
        let pages = min_bytes.checked_add(WASM_PAGE - 1)? / WASM_PAGE;
        let prev = core::arch::wasm32::memory_grow(0, pages);
        if prev == usize::MAX {
            return None;
        }
        let addr = prev.checked_mul(WASM_PAGE)?;
        // Wasm linear memory has no provenance beyond the module's memory;
        // the address is exposed by construction.
        NonNull::new(core::ptr::with_exposed_provenance_mut::<u8>(addr)).map(|p| (p, pages * WASM_PAGE))
    }
}
