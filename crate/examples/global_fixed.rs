//! Heaplab as the global allocator of a program, over a static region (as a
//! kernel or an embedded target would use it): every Vec, String and map of
//! the program lives in those bytes.
//!
//! `cargo run -p heaplab --example global_fixed`

use std::collections::BTreeMap;

use heaplab::global::GlobalLeanHeap;
use heaplab::pages::FixedRegion;
use heaplab::policy::Segregated;

const LEN: usize = 4 << 20;
static mut REGION: [u8; LEN] = [0; LEN];

#[global_allocator]
// SAFETY: REGION is used by nothing but the heap.
static HEAP: GlobalLeanHeap<FixedRegion, Segregated> = unsafe { GlobalLeanHeap::fixed(&raw mut REGION as *mut u8, LEN) };

fn main() {
    let mut words: BTreeMap<String, usize> = BTreeMap::new();
    let text = "the heap gives out blocks and the free list takes them back and the heap gives them out again";
    for word in text.split(' ') {
        *words.entry(word.to_string()).or_default() += 1;
    }
    let squares: Vec<u64> = (0..10_000).map(|n| n * n).collect();
    let start = &raw const REGION as usize;
    let inside = |p: usize| (start..start + LEN).contains(&p);
    assert!(inside(squares.as_ptr() as usize), "the Vec lives in the region");
    assert_eq!(words["the"], 3);
    drop(squares);
    HEAP.with(|heap| heap.check()).expect("the integrity walk");
    let stats = HEAP.with(|heap| heap.stats());
    println!("{} distinct words; {} blocks in use, {} bytes allocated in a region of {} bytes", words.len(), stats.live_blocks, stats.allocated_bytes, LEN);
}
