//! Pieces the fuzz targets share, included by each with
//! `#[path = "shared.rs"] mod shared;` (a target is one file).

#![allow(dead_code)]

use arbitrary::Arbitrary;
use heaplab::pages::WASM_PAGE;

/// A request size: mostly small, sometimes up to 1 MiB, sometimes around a
/// heap's largest request (mostly above it, or overflowing).
#[derive(Arbitrary, Debug)]
pub enum Size {
    Tiny(u8),
    Small(u16),
    Big(u32),
    Huge(u64),
}

impl Size {
    /// The size in bytes, for a heap whose largest request is `max_size`.
    pub fn get(&self, max_size: usize) -> usize {
        match *self {
            Size::Tiny(n) => n as usize,
            Size::Small(n) => n as usize % 8192,
            Size::Big(n) => n as usize % (1 << 20),
            Size::Huge(n) => (n as usize).wrapping_add(max_size - 16),
        }
    }
}

/// The largest region a run uses: 32 wasm pages.
pub const REGION_MAX: usize = 32 * WASM_PAGE;

#[repr(C, align(4096))]
pub struct Region([u8; REGION_MAX]);

/// The memory every run of a target uses, one run at a time; its bytes stay
/// initialized (zeroes, then whatever earlier runs left).
pub static mut REGION: Region = Region([0; REGION_MAX]);

/// The start of [`REGION`].
pub fn region_base() -> *mut u8 {
    (&raw mut REGION).cast::<u8>()
}
