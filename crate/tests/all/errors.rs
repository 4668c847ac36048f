//! One test per error: the right variant and code, and the heap unchanged.

use crate::common::{snapshot, TestHeap};
use heaplab::heap::{AllocError, Config, MAX_SIZE};
use heaplab::policy::AnyPolicy;
use heaplab::pages::WASM_PAGE;

fn heap() -> TestHeap<AnyPolicy> {
    TestHeap::new(1 << 20, Config::DEFAULT)
}

/// Runs `f` and asserts it fails with `want` and changes nothing.
fn unchanged(t: &mut TestHeap<AnyPolicy>, want: AllocError, f: impl FnOnce(&mut heaplab::Heap<heaplab::pages::FixedRegion, AnyPolicy>) -> Result<(), AllocError>) {
    let before = snapshot(&t.heap);
    assert_eq!(f(&mut t.heap), Err(want));
    assert_eq!(snapshot(&t.heap), before, "{want:?} changed the heap");
    t.heap.check().unwrap();
}

#[test]
fn double_free() {
    let mut t = heap();
    let a = t.heap.alloc(40, 8).unwrap().as_ptr();
    let b = t.heap.alloc(40, 8).unwrap().as_ptr();
    let _c = t.heap.alloc(40, 8).unwrap().as_ptr();
    t.heap.free(a).unwrap();
    unchanged(&mut t, AllocError::DoubleFree, |h| h.free(a));
    t.heap.free(b).unwrap(); // b merges into a
    unchanged(&mut t, AllocError::DoubleFree, |h| h.free(b));
    unchanged(&mut t, AllocError::DoubleFree, |h| h.realloc(b, 8).map(|_| ()));
    assert_eq!(AllocError::DoubleFree.code(), "double-free");
}

#[test]
fn interior_pointer() {
    let mut t = heap();
    let a = t.heap.alloc(100, 8).unwrap().as_ptr();
    unchanged(&mut t, AllocError::InteriorPointer, |h| h.free(a.wrapping_add(8)));
    unchanged(&mut t, AllocError::InteriorPointer, |h| h.free(a.wrapping_add(1)));
    unchanged(&mut t, AllocError::InteriorPointer, |h| h.usable_size(a.wrapping_add(16)).map(|_| ()));
    let l = t.heap.alloc(200_000, 8).unwrap().as_ptr();
    unchanged(&mut t, AllocError::InteriorPointer, |h| h.free(l.wrapping_add(100_000)));
    assert_eq!(AllocError::InteriorPointer.code(), "invalid-free");
    assert_ne!(AllocError::InteriorPointer.to_string(), AllocError::NotAllocated.to_string());
}

#[test]
fn not_allocated() {
    let mut t = heap();
    let mut local = 0u64;
    let a = t.heap.alloc(100, 8).unwrap().as_ptr();
    unchanged(&mut t, AllocError::NotAllocated, |h| h.free(&raw mut local as *mut u8));
    // The metadata page and a header address.
    let meta = t.heap.pages().find(|p| p.1 == heaplab::pages::PageOwner::Meta).unwrap().0;
    unchanged(&mut t, AllocError::NotAllocated, |h| h.free(meta as *mut u8));
    unchanged(&mut t, AllocError::NotAllocated, |h| h.free(a.wrapping_sub(8)));
    // Free memory far past the last block.
    let end = t.heap.segments().last().map(|(b, n)| b + n - 64).unwrap();
    unchanged(&mut t, AllocError::NotAllocated, |h| h.free(end as *mut u8));
    assert_eq!(AllocError::NotAllocated.code(), "invalid-free");
}

#[test]
fn invalid_size_and_align() {
    let mut t = heap();
    t.heap.alloc(10, 8).unwrap();
    unchanged(&mut t, AllocError::InvalidSize, |h| h.alloc(0, 8).map(|_| ()));
    unchanged(&mut t, AllocError::InvalidSize, |h| h.alloc(MAX_SIZE + 1, 8).map(|_| ()));
    unchanged(&mut t, AllocError::InvalidSize, |h| h.calloc(usize::MAX / 2, 3).map(|_| ()));
    let p = t.heap.alloc(10, 8).unwrap().as_ptr();
    unchanged(&mut t, AllocError::InvalidSize, |h| h.realloc(p, 0).map(|_| ()));
    unchanged(&mut t, AllocError::InvalidAlign, |h| h.alloc(8, 24).map(|_| ()));
    unchanged(&mut t, AllocError::InvalidAlign, |h| h.alloc(8, 8192).map(|_| ()));
    unchanged(&mut t, AllocError::InvalidAlign, |h| h.alloc(8, 0).map(|_| ()));
    assert_eq!(AllocError::InvalidSize.code(), "invalid-size");
    assert_eq!(AllocError::InvalidAlign.code(), "invalid-align");
}

#[test]
fn out_of_memory_at_the_limit() {
    let mut t: TestHeap<AnyPolicy> = TestHeap::new(1 << 20, Config { max_bytes: 2 * WASM_PAGE, ..Config::DEFAULT });
    let mut ptrs = Vec::new();
    loop {
        match t.heap.alloc(1000, 8) {
            Ok(p) => ptrs.push(p),
            Err(e) => {
                assert_eq!(e, AllocError::OutOfMemory);
                break;
            }
        }
    }
    assert!(t.heap.stats().heap_bytes <= 2 * WASM_PAGE);
    unchanged(&mut t, AllocError::OutOfMemory, |h| h.alloc(1000, 8).map(|_| ()));
    unchanged(&mut t, AllocError::OutOfMemory, |h| h.alloc(500_000, 8).map(|_| ()));
    // realloc that cannot grow leaves the block as it was.
    let last = ptrs.last().unwrap().as_ptr();
    unchanged(&mut t, AllocError::OutOfMemory, |h| h.realloc(last, 300_000).map(|_| ()));
    assert_eq!(AllocError::OutOfMemory.code(), "out-of-memory");
    for p in ptrs {
        t.heap.free(p.as_ptr()).unwrap();
    }
    t.heap.check().unwrap();
    t.heap.alloc(1000, 8).unwrap();
}

#[test]
fn out_of_memory_when_the_source_is_exhausted() {
    let mut t: TestHeap<AnyPolicy> = TestHeap::new(3 * WASM_PAGE, Config::DEFAULT);
    unchanged(&mut t, AllocError::OutOfMemory, |h| h.alloc(4 * WASM_PAGE, 8).map(|_| ()));
    let p = t.heap.alloc(WASM_PAGE, 8).unwrap();
    t.heap.free(p.as_ptr()).unwrap();
    t.heap.check().unwrap();
}

#[test]
fn display_messages_are_distinct() {
    use AllocError::*;
    let all = [OutOfMemory, InvalidSize, InvalidAlign, DoubleFree, InteriorPointer, NotAllocated];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a.to_string(), b.to_string());
        }
    }
}

/// C semantics (glibc's documented choices): `free(NULL)` does nothing,
/// `realloc(NULL, n)` is `malloc(n)`, `malloc(0)` returns a unique
/// minimum-size block, and `realloc(p, 0)` frees `p` and returns NULL.
#[test]
fn c_semantics() {
    let mut t = heap();
    let h = &mut t.heap;
    let before = h.stats();
    assert_eq!(h.free(std::ptr::null_mut()), Ok(()));
    assert_eq!(h.stats(), before, "free(NULL) changes nothing");
    let p = h.realloc(std::ptr::null_mut(), 40).expect("realloc(NULL, n) allocates");
    assert_eq!(h.usable_size(p.as_ptr()).map(|n| n >= 40), Ok(true));
    let q = h.c_realloc(std::ptr::null_mut(), 24).unwrap().expect("c_realloc(NULL, n) allocates");
    let (z1, z2) = (h.malloc(0).unwrap(), h.malloc(0).unwrap());
    assert_ne!(z1, z2, "malloc(0) blocks are unique");
    assert_eq!(h.stats().live_blocks, 4);
    assert_eq!(h.c_realloc(q.as_ptr(), 0), Ok(None), "realloc(p, 0) frees p");
    assert_eq!(h.free(q.as_ptr()), Err(AllocError::DoubleFree));
    for p in [p, z1, z2] {
        h.free(p.as_ptr()).unwrap();
    }
    assert_eq!(h.stats().live_blocks, 0);
    assert_eq!(h.alloc(0, 8), Err(AllocError::InvalidSize), "alloc keeps refusing 0 (Rust's contract)");
    h.check().unwrap();
}
