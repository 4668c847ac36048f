//! The checked heap over a region of your own: malloc and free, a double free
//! caught as an error, the blocks in address order, and the events of one call.
//!
//! `cargo run -p heaplab --example checked_heap`

use heaplab::events::Recorder;
use heaplab::heap::{Config, Heap};
use heaplab::pages::FixedRegion;
use heaplab::policy::AnyPolicy;

#[repr(align(4096))]
struct Region([u8; 1 << 18]);

fn main() {
    let mut region = Box::new(Region([0; 1 << 18]));
    // SAFETY: the region outlives the heap, and nothing else uses it.
    let source = unsafe { FixedRegion::new(region.0.as_mut_ptr(), region.0.len()) };
    let mut heap: Heap<_, AnyPolicy, Recorder<64>> = Heap::with_observer(source, Config::DEFAULT, Recorder::new());

    let a = heap.malloc(40).expect("malloc(40)");
    let b = heap.malloc(100).expect("malloc(100)");
    heap.free(a.as_ptr()).expect("free(a)");
    let error = heap.free(a.as_ptr()).unwrap_err();
    println!("free(a) twice: {} ({})", error.code(), error);

    heap.observer_mut().clear();
    let c = heap.malloc(24).expect("malloc(24)");
    println!("malloc(24) did:");
    for event in heap.observer().events() {
        println!("  {event:?}");
    }
    let start = region.0.as_ptr() as usize;
    println!("blocks, in address order (header offsets in the region):");
    for block in heap.blocks() {
        let state = if block.used { "used" } else { "free" };
        println!("  +0x{:05x}  {:>6} B  {state}  requested {}", block.addr - start, block.size, block.requested);
    }
    heap.free(b.as_ptr()).expect("free(b)");
    heap.free(c.as_ptr()).expect("free(c)");
    heap.check().expect("the integrity walk");
    let stats = heap.stats();
    println!("after freeing everything: {} live blocks, {} bytes allocated", stats.live_blocks, stats.allocated_bytes);
    assert_eq!(stats.live_blocks, 0);
}
