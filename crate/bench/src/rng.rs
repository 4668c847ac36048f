// A small, fast, seedable PRNG, shared by the native benchmark and (through
// `include!`) the wasm modules, so both draw the same actions for a seed.
// Only 64-bit arithmetic: a 128-bit multiply is a library call in wasm
// (`__multi3`), which took 29 % of a wasm module's time with wyrand and
// pressed every allocator's figure towards the harness's own cost.

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014): one 64-bit state word.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (`hi - lo < 2^32`), by multiply-shift of the top
    /// 32 bits (bias negligible here).
    #[inline]
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        let n = (hi - lo) as u64;
        debug_assert!(n < 1 << 32, "range of {n} is too wide");
        lo + (((self.next_u64() >> 32) * n) >> 32) as usize
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
