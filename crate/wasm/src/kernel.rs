//! The kernel heap for JS: a slab allocator (`kmalloc`, slab caches) over a
//! buddy page allocator, in one run of wasm memory (`RawKernel`).

use js_sys::Uint32Array;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use heaplab::events::Recorder;
use heaplab::slab::Slab;

use super::memory::RecycledMemory;
use super::{alloc_error, check_error, coded_error, size_arg, to_js, whole_number, EVENTS};

/// The memory a kernel heap manages when JS names none (1 MiB).
const DEFAULT_BYTES: usize = 1 << 20;

/// A kernel heap in wasm memory, as JS sees it.
#[wasm_bindgen]
pub struct RawKernel {
    slab: Slab<RecycledMemory, Recorder<EVENTS>>,
    /// Backing store of the `buddyBlocks()` view; rebuilt on each call.
    block_table: Vec<[u32; 4]>,
}

/// One cache, for `caches()`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsCache<'a> {
    index: usize,
    #[serde(flatten)]
    info: heaplab::slab::CacheInfo<'a>,
}

/// One slab, for `slabs()`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsSlab {
    address: usize,
    cache: usize,
    list: &'static str,
    inuse: usize,
    /// Address of object 0 (the slab header comes before it).
    first: usize,
    /// 1 for each object in use, 0 for each free one, in address order.
    live: Vec<u8>,
}

/// A kernel heap over `bytes` of wasm memory (0: `default`), its memory
/// obtained now (the machine's kernel heap is one too).
pub(super) fn kernel_heap(bytes: f64, default: usize) -> Result<Slab<RecycledMemory, Recorder<EVENTS>>, JsValue> {
    let bytes = match size_arg(bytes, "bytes")? {
        0 => default,
        n => n,
    };
    let mut slab = Slab::with_observer(RecycledMemory::new(bytes), bytes, Recorder::new());
    slab.init().map_err(alloc_error)?;
    Ok(slab)
}

fn address_arg(value: f64) -> Result<*mut u8, JsValue> {
    // The address is only compared with the allocator's own pages; a
    // pointer without provenance is never dereferenced.
    whole_number(value)
        .map(core::ptr::without_provenance_mut)
        .ok_or_else(|| coded_error("invalid-free", &format!("{value} is not an address")))
}

#[wasm_bindgen]
impl RawKernel {
    /// A kernel heap over `bytes` of wasm memory (0: 1 MiB), obtained now.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: f64) -> Result<RawKernel, JsValue> {
        Ok(RawKernel { slab: kernel_heap(bytes, DEFAULT_BYTES)?, block_table: Vec::new() })
    }

    /// `kmalloc(size)`: the object's (or large block's) address.
    pub fn kmalloc(&mut self, size: f64) -> Result<u32, JsValue> {
        self.slab.observer_mut().clear();
        let size = size_arg(size, "size")?;
        self.slab.kmalloc(size).map(|p| p.as_ptr() as usize as u32).map_err(alloc_error)
    }

    /// `kfree(address)`.
    pub fn kfree(&mut self, address: f64) -> Result<(), JsValue> {
        self.slab.observer_mut().clear();
        self.slab.kfree(address_arg(address)?).map_err(alloc_error)
    }

    /// `cache_create(name, size, align)`: the cache's index (`align` 0: 8).
    #[wasm_bindgen(js_name = cacheCreate)]
    pub fn cache_create(&mut self, name: &str, size: f64, align: f64) -> Result<u32, JsValue> {
        let size = size_arg(size, "size")?;
        let align = match size_arg(align, "align")? {
            0 => 8,
            a => a,
        };
        self.slab.cache_create(name, size, align).map(|c| c as u32).map_err(alloc_error)
    }

    /// `cache_alloc(cache)`: the object's address.
    #[wasm_bindgen(js_name = cacheAlloc)]
    pub fn cache_alloc(&mut self, cache: u32) -> Result<u32, JsValue> {
        self.slab.observer_mut().clear();
        self.slab.cache_alloc(cache as usize).map(|p| p.as_ptr() as usize as u32).map_err(alloc_error)
    }

    /// `cache_free(cache, address)`.
    #[wasm_bindgen(js_name = cacheFree)]
    pub fn cache_free(&mut self, cache: u32, address: f64) -> Result<(), JsValue> {
        self.slab.observer_mut().clear();
        self.slab.cache_free(cache as usize, address_arg(address)?).map_err(alloc_error)
    }

    /// Returns the cache's empty slabs to the buddy allocator; how many.
    #[wasm_bindgen(js_name = cacheShrink)]
    pub fn cache_shrink(&mut self, cache: u32) -> Result<u32, JsValue> {
        self.slab.observer_mut().clear();
        self.slab.cache_shrink(cache as usize).map(|n| n as u32).map_err(alloc_error)
    }

    /// `alloc_pages(order)` on the buddy allocator under the caches (a
    /// block `kfree` takes back).
    #[wasm_bindgen(js_name = allocPages)]
    pub fn alloc_pages(&mut self, order: u32) -> Result<u32, JsValue> {
        self.slab.observer_mut().clear();
        self.slab.alloc_pages(order as usize).map(|p| p.as_ptr() as usize as u32).map_err(alloc_error)
    }

    /// The integrity walk (slab lists and the buddy allocator).
    pub fn check(&self) -> Result<(), JsValue> {
        self.slab.check().map_err(check_error)
    }

    /// The figures (`SlabStats`, camelCase, with `buddy`).
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        to_js(&self.slab.stats())
    }

    /// Every cache: `{ index, name, size, align, stride, order, objectsPerSlab, slabs: [empty, partial, full], live }`.
    pub fn caches(&self) -> Result<JsValue, JsValue> {
        let caches: Vec<JsCache> = (0..self.slab.caches()).filter_map(|index| Some(JsCache { index, info: self.slab.cache_info(index)? })).collect();
        to_js(&caches)
    }

    /// Every slab of every cache: `{ address, cache, list, inuse, first, live }`
    /// (`live`: one 0/1 per object, in address order), cache by cache.
    pub fn slabs(&self) -> Result<JsValue, JsValue> {
        let mut slabs = Vec::new();
        for cache in 0..self.slab.caches() {
            for (address, list, inuse) in self.slab.slabs(cache) {
                let live: Vec<u8> = self.slab.objects(address).map(|(_, used)| used as u8).collect();
                let first = self.slab.objects(address).next().map_or(address, |(a, _)| a);
                slabs.push(JsSlab { address, cache, list, inuse, first, live });
            }
        }
        to_js(&slabs)
    }

    /// The buddy allocator's free list of `order`, in its own order (block
    /// addresses; empty past the largest order).
    #[wasm_bindgen(js_name = buddyFreeList)]
    pub fn buddy_free_list(&self, order: u32) -> Vec<u32> {
        let buddy = self.slab.buddy();
        if order as usize > buddy.max_order() {
            return Vec::new();
        }
        buddy.free_list(order as usize).map(|a| a as u32).collect()
    }

    /// The events of the last operation.
    #[wasm_bindgen(js_name = lastEvents)]
    pub fn last_events(&self) -> Result<JsValue, JsValue> {
        to_js(&self.slab.observer().events())
    }

    /// The buddy blocks as a view into wasm memory: 4 numbers per block
    /// (address, order, free 0/1, owner: 0 pages or large kmalloc, 1 +
    /// cache index for a slab, 0 when free), in address order.
    #[wasm_bindgen(js_name = buddyBlocks)]
    pub fn buddy_blocks(&mut self) -> Uint32Array {
        let buddy = self.slab.buddy();
        self.block_table.clear();
        self.block_table.extend(buddy.blocks().map(|(addr, order, free)| [addr as u32, order as u32, free as u32, buddy.owner_of(addr).unwrap_or(0) as u32]));
        let flat = self.block_table.as_flattened();
        // SAFETY: the view covers `block_table`, which lives in `self` and
        // is not touched again until the next call; JS re-reads the view
        // after any call (the contract of every view this API returns).
        unsafe { Uint32Array::view(flat) }
    }
}

impl Drop for RawKernel {
    /// Hands the memory to the next heap (see [`RecycledMemory`]).
    fn drop(&mut self) {
        self.slab.buddy().source().release();
    }
}
