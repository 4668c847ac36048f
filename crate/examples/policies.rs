//! One sequence of requests under each policy: two holes of 208 and 56 bytes,
//! then malloc(40). First fit takes the first hole, best fit the tightest,
//! worst fit the largest free block. (Quick lists are off: with them, a freed
//! small block waits for a request of its own size.)
//!
//! `cargo run -p heaplab --example policies`

use heaplab::heap::{Config, Heap};
use heaplab::pages::FixedRegion;
use heaplab::policy::AnyPolicy;
use heaplab::PolicyKind;

#[repr(align(4096))]
struct Region([u8; 1 << 18]);

fn main() {
    for &policy in PolicyKind::ALL {
        let mut region = Box::new(Region([0; 1 << 18]));
        // SAFETY: the region outlives the heap, and nothing else uses it.
        let source = unsafe { FixedRegion::new(region.0.as_mut_ptr(), region.0.len()) };
        let mut heap: Heap<_, AnyPolicy> = Heap::new(source, Config { policy, align: 8, quick_lists: false, ..Config::DEFAULT });
        let big = heap.malloc(200).unwrap();
        let _a = heap.malloc(16).unwrap();
        let small = heap.malloc(48).unwrap();
        let _b = heap.malloc(16).unwrap();
        heap.free(big.as_ptr()).unwrap();
        heap.free(small.as_ptr()).unwrap();
        let p = heap.malloc(40).unwrap().as_ptr();
        let landed = if p == big.as_ptr() {
            "in the 208-byte hole"
        } else if p == small.as_ptr() {
            "in the 56-byte hole"
        } else {
            "after the blocks, in the rest of the arena"
        };
        println!("{:<15} malloc(40) lands {landed}", format!("{policy:?}"));
        heap.check().unwrap();
    }
}
