//! Arbitrary sequences of operations on the kernel heap: slab caches and
//! `kmalloc` (`heaplab::slab::Slab`) over the buddy page allocator, over a
//! fixed region.
//!
//! After every operation: `check()` passes (the slab lists and the buddy
//! allocator's tiling, free lists, bitmap and merging); the live objects
//! of a model are counted by the figures; new objects are aligned, inside
//! the pages, overlap no live object and keep their bytes until freed.
//! Frees of addresses that are no live object (anywhere in the region or
//! around it) fail with an error and change nothing. At the end
//! everything is freed and every cache shrunk: no slab is left and the
//! buddy allocator's free blocks are the ones it started with (every
//! buddy pair merged).
#![no_main]

use arbitrary::Arbitrary;
use heaplab::pages::{FixedRegion, PAGE};
use heaplab::slab::{Slab, KMALLOC_MAX};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    /// Region size in pages (2..=257).
    pages: u8,
    actions: Vec<Action>,
}

#[derive(Arbitrary, Debug)]
enum Action {
    Create { size: u16, align_log: u8 },
    CacheAlloc { cache: u8 },
    Kmalloc { size: u16, large: bool },
    AllocPages { order: u8 },
    Free { index: u16 },
    /// A free of `base + offset − 1 page`, whatever lies there.
    WildFree { offset: u32, cache: u8, kfree: bool },
    Shrink { cache: u8 },
    KeepEmpty { n: u8 },
}

#[repr(C, align(4096))]
struct PageBuf([u8; PAGE]);

/// A live allocation of the model.
struct Live {
    addr: usize,
    len: usize,
    tag: u8,
    /// Its cache, or `None` for kmalloc / pages (freed with kfree).
    cache: Option<usize>,
}

fn fill(p: *mut u8, len: usize, tag: u8) {
    // SAFETY: `p..p + len` is a live allocation of the heap under test.
    unsafe {
        p.write(tag);
        p.add(len / 2).write(tag);
        p.add(len - 1).write(tag);
    }
}

fn holds(p: *mut u8, len: usize, tag: u8) -> bool {
    // SAFETY: as in `fill`.
    unsafe { p.read() == tag && p.add(len / 2).read() == tag && p.add(len - 1).read() == tag }
}

fuzz_target!(|input: Input| {
    let pages = 2 + input.pages as usize;
    let mut mem: Vec<PageBuf> = (0..pages).map(|_| PageBuf([0; PAGE])).collect();
    let base_ptr = mem.as_mut_ptr().cast::<u8>();
    // SAFETY: `mem` outlives the heap and is used only through it.
    let src = unsafe { FixedRegion::new(base_ptr, pages * PAGE) };
    let mut k = Slab::new(src, pages * PAGE);
    if k.init().is_err() {
        return;
    }
    let start = k.buddy().stats();
    let (lo, hi) = (k.buddy().base(), k.buddy().base() + k.buddy().pages() * PAGE);
    let mut live: Vec<Live> = Vec::new();
    let mut user: Vec<usize> = Vec::new();
    let mut tag = 0u8;
    for action in input.actions.into_iter().take(2000) {
        let got = match action {
            Action::Create { size, align_log } => {
                if let Ok(c) = k.cache_create("fuzz", size as usize, 1 << (align_log % 14)) {
                    user.push(c);
                }
                None
            }
            Action::CacheAlloc { cache } if !user.is_empty() => {
                let c = user[cache as usize % user.len()];
                let info = k.cache_info(c).unwrap();
                let (size, align) = (info.size, info.align);
                Some((k.cache_alloc(c), size, align, Some(c)))
            }
            Action::CacheAlloc { .. } => None,
            Action::Kmalloc { size, large } => {
                let n = if large { size as usize * 4 } else { size as usize };
                let align = if n == 0 { 1 } else if n <= KMALLOC_MAX { n.next_power_of_two().max(8) } else { PAGE };
                let r = k.kmalloc(n);
                if n == 0 {
                    assert!(r.is_err(), "kmalloc(0) succeeded");
                    None
                } else {
                    Some((r, n, align, None))
                }
            }
            Action::AllocPages { order } => {
                let order = order as usize % 8;
                Some((k.alloc_pages(order), PAGE << order, PAGE, None))
            }
            Action::Free { index } => {
                if !live.is_empty() {
                    let l = live.swap_remove(index as usize % live.len());
                    let p = base_ptr.with_addr(l.addr);
                    assert!(holds(p, l.len, l.tag), "object at {:#x} lost its bytes", l.addr);
                    match l.cache {
                        Some(c) => k.cache_free(c, p).unwrap(),
                        None => k.kfree(p).unwrap(),
                    }
                    assert!(k.kfree(p).is_err(), "a second free of {:#x} succeeded", l.addr);
                }
                None
            }
            Action::WildFree { offset, cache, kfree } => {
                let addr = (lo - PAGE).wrapping_add(offset as usize % (hi - lo + 2 * PAGE));
                if !live.iter().any(|l| l.addr == addr) {
                    let before = k.stats();
                    let p = base_ptr.with_addr(addr);
                    let r = if kfree { k.kfree(p) } else { k.cache_free(cache as usize % 40, p) };
                    assert!(r.is_err(), "a free of {addr:#x}, no live object, succeeded");
                    assert_eq!(k.stats(), before, "a failed free changed the figures");
                }
                None
            }
            Action::Shrink { cache } => {
                let _ = k.cache_shrink(cache as usize % 40);
                None
            }
            Action::KeepEmpty { n } => {
                k.set_keep_empty(n as usize % 4);
                None
            }
        };
        if let Some((r, n, align, cache)) = got {
            if let Ok(p) = r {
                let a = p.as_ptr().addr();
                assert!(a.is_multiple_of(align), "{a:#x} not aligned to {align}");
                assert!(a >= lo && a + n <= hi, "{a:#x} + {n} outside the pages");
                assert!(live.iter().all(|l| a + n <= l.addr || l.addr + l.len <= a), "{a:#x} overlaps a live object");
                assert!(k.ksize(p.as_ptr()).unwrap() >= n);
                tag = tag.wrapping_add(1);
                fill(p.as_ptr(), n, tag);
                live.push(Live { addr: a, len: n, tag, cache });
            }
        }
        if let Err(e) = k.check() {
            panic!("check failed: {e}");
        }
        let s = k.stats();
        assert_eq!(s.objects + s.large_blocks, live.len());
    }
    for l in live.drain(..) {
        let p = base_ptr.with_addr(l.addr);
        assert!(holds(p, l.len, l.tag));
        match l.cache {
            Some(c) => k.cache_free(c, p).unwrap(),
            None => k.kfree(p).unwrap(),
        }
    }
    for c in 0..k.caches() {
        k.cache_shrink(c).unwrap();
    }
    k.check().unwrap();
    let s = k.stats();
    assert_eq!((s.slabs, s.objects, s.buddy.used_pages), ([0, 0, 0], 0, 0));
    assert_eq!(s.buddy.free_blocks, start.free_blocks, "a buddy pair left unmerged");
});
