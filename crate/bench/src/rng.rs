// A small, fast, seedable PRNG, shared by the native benchmark and (through
// `include!`) the wasm modules, so both draw the same actions for a seed.

/// wyrand: one 64-bit state word, one multiply per number.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xA076_1D64_78BD_642F);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xE703_7ED1_A0B4_28DB);
        (t >> 64) as u64 ^ t as u64
    }

    /// Uniform in `lo..hi` (`hi > lo`), by multiply-shift (bias negligible here).
    #[inline]
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + ((u128::from(self.next_u64()) * (hi - lo) as u128) >> 64) as usize
    }

    /// A size biased towards small values, as talc's benchmark draws them:
    /// a cap uniform in `16..max`, then a size uniform in `4..cap`.
    #[inline]
    pub fn size(&mut self, max: usize) -> usize {
        let cap = self.range(16, max);
        self.range(4, cap.max(5))
    }

    /// An alignment strongly biased to the pointer size: `8 << (tz / 2)` for
    /// the trailing zeros `tz` of a random 16-bit number (75 % 8, 19 % 16, ...).
    #[inline]
    pub fn align(&mut self) -> usize {
        8 << ((self.next_u64() as u16).trailing_zeros() / 2)
    }
}
