//! Worst fit: serve each request from the *largest* free block.
//!
//! Uses the same size index as best fit ([`super::size_index`]), asking for
//! its maximum: the highest non-empty tree bin (one bitmap scan), then one
//! path down its trie (at each node, child 1 when present, else child 0),
//! keeping the largest size seen.
//!
//! ```text
//!  tree_map: ... 0 1 0 0 1        highest set bit -> trie of 3072..4095
//!                                        [3200]
//!                                       /      \
//!                                  [3100]      [3900] <- largest on the
//!                                                 \      child-1 path
//!                                                 [3700]
//! ```
//!
//! **Ties.** Among blocks of the largest size the one freed first is chosen.
//!
//! **Alignment above the granule.** If no block of the largest size fits
//! once aligned, the search falls back to the smallest block that fits (the
//! best-fit walk), so a request never fails while some block could serve it.
//!
//! # Time complexity
//! alloc O(B) and free O(B), with B the bits of a size (32): independent of
//! the number of free blocks. Over-aligned requests that the largest blocks
//! cannot serve cost as in best fit.
//!
//! # Trade-off
//! The idea is that the remainder of a split stays large enough to be
//! useful. In practice it eats the large blocks first, so a later large
//! request often finds none left, and it usually fragments worse than best
//! or first fit (Wilson et al. 1995). Here mainly as the contrast to best
//! fit.

use super::best_fit::{ascending, first_fit_in_ring};
use super::{Policy, PolicyKind, Search};
use crate::block::Request;
use crate::events::Observer;

/// Worst fit over a [`SizeIndex`](super::size_index::SizeIndex). See the module docs.
pub type WorstFit = super::BySize<true>;

impl Policy for WorstFit {
    const KIND: Option<PolicyKind> = Some(PolicyKind::WorstFit);

    unsafe fn find<O: Observer>(&mut self, req: &Request, obs: &mut O) -> Search {
        let mut examined = 0;
        // SAFETY: the index holds the heap's free blocks (trait contract).
        let fit = unsafe {
            match self.index.max(obs, &mut examined) {
                None => None,
                Some((head, size)) if size < req.need => {
                    super::size_index::report_too_small(obs, head, size);
                    None
                }
                Some((head, size)) => {
                    // (The largest ring in full: worst fit's own choice.)
                    let mut all = usize::MAX;
                    match first_fit_in_ring(&self.index, head, size, req, obs, &mut examined, &mut all) {
                        Some(fit) => Some(fit),
                        None => ascending(&self.index, req.need, size, req, obs, &mut examined),
                    }
                }
            }
        };
        Search { fit, examined }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::fits;
    use crate::policy::testkit::{self, Entry};

    /// The largest size (oldest fitting block of it); if none of that size
    /// fits (alignment), the smallest fitting block below it (as best fit
    /// looks: `testkit::smallest_fit`).
    fn judge(entries: &[Entry], req: &Request, s: &Search) {
        let max = entries.iter().map(|e| e.size).max();
        let want = max.and_then(|m| {
            entries
                .iter()
                .filter(|e| e.size == m && fits(e.block, e.size, req).is_ok())
                .min_by_key(|e| e.seq)
                .or_else(|| testkit::smallest_fit(entries.iter().filter(|e| e.size < m), req))
        });
        assert_eq!(s.fit.map(|f| f.block), want.map(|e| e.block), "worst fit for {req:?}");
    }

    #[test]
    fn random_against_shadow() {
        testkit::random_index::<WorstFit>(judge, |o, n, os, ns| o == n && os == ns, 3);
        testkit::random_index::<WorstFit>(judge, |o, n, os, ns| o == n && os == ns, 4);
    }

    #[test]
    fn heap_round_trip() {
        testkit::heap_round_trip::<WorstFit>();
    }

    #[test]
    fn max_query_is_logarithmic() {
        testkit::few_examined::<WorstFit>(40);
    }
}
