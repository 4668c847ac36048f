//! The whole machine for JS (`RawMachine`): one buddy allocator in one run
//! of wasm memory, the kernel heap (slab caches and `kmalloc`) that owns it,
//! and named application heaps, each with its own policy, taking buddy
//! blocks as they grow and giving them all back when they empty.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Uint32Array;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use heaplab::events::{Event, Recorder};
use heaplab::heap::Config;
use heaplab::machine::{Machine, NameError, Owner};
use heaplab::policy::PolicyKind;
use heaplab::slab::Slab;

use super::memory::RecycledMemory;
use super::kernel::kernel_heap;
use super::{alloc_error, check_error, coded_error, size_arg, to_js, whole_number, EVENTS};

/// The memory a machine manages when JS names none (512 KiB: 128 pages).
const DEFAULT_BYTES: usize = 512 << 10;
/// Events an application heap keeps per operation (a search over more
/// blocks drops the rest, and counts them).
const HEAP_EVENTS: usize = 512;

type KernelCell = Rc<RefCell<Slab<RecycledMemory, Recorder<EVENTS>>>>;

/// The owner column of `buddyBlocks()`: 0 free, 1 the kernel, 2 + i
/// application heap i, `OWNER_BUDDY` the buddy allocator's own metadata.
const OWNER_FREE: u32 = 0;
const OWNER_BUDDY: u32 = 0xffff;
const OWNER_KERNEL: u32 = 1;
const OWNER_HEAP: u32 = 2;

/// A machine in wasm memory, as JS sees it.
#[wasm_bindgen]
pub struct RawMachine {
    /// `None` only while dropping (the heaps go before the memory).
    machine: Option<Machine<KernelCell, Recorder<HEAP_EVENTS>>>,
    kernel: KernelCell,
    /// The application heap of the last operation (whose events
    /// `lastEvents` reports), `None` for the kernel.
    last_heap: Option<usize>,
    /// Backing store of the views; rebuilt on each call.
    table: Vec<u32>,
}

/// One application heap, for `heaps()`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsHeap {
    index: usize,
    name: String,
    policy: &'static str,
    /// Pages it holds in buddy blocks.
    pages: usize,
    /// Blocks allocated and not freed.
    live: usize,
    /// Its buddy blocks: `[address, order]`, in the order taken.
    runs: Vec<[usize; 2]>,
    stats: heaplab::Stats,
}

/// One slab of the kernel heap, for `kernelSlabs()`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsSlab {
    address: usize,
    cache: String,
    object_size: usize,
    order: usize,
    list: &'static str,
    objects: usize,
    per_slab: usize,
}

/// The events of the last operation: the buddy allocator's (and the
/// kernel heap's), and the application heap's.
#[derive(Serialize)]
struct JsEvents<'a> {
    buddy: &'a [Event],
    heap: &'a [Event],
}

fn address(value: f64) -> Result<*mut u8, JsValue> {
    // The address is only compared with the allocators' own pages; a
    // pointer without provenance is never dereferenced.
    whole_number(value).map(core::ptr::without_provenance_mut).ok_or_else(|| coded_error("invalid-free", &format!("{value} is not an address")))
}

#[wasm_bindgen]
impl RawMachine {
    /// A machine over `bytes` of wasm memory (0: 512 KiB), obtained now,
    /// with the kernel heap and no application heap. The kernel returns
    /// every slab that empties (it keeps none), so that freeing everything
    /// merges every buddy pair.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: f64) -> Result<RawMachine, JsValue> {
        let mut slab = kernel_heap(bytes, DEFAULT_BYTES)?;
        slab.set_keep_empty(0);
        let kernel = Rc::new(RefCell::new(slab));
        Ok(RawMachine { machine: Some(Machine::new(kernel.clone())), kernel, last_heap: None, table: Vec::new() })
    }

    fn m(&self) -> &Machine<KernelCell, Recorder<HEAP_EVENTS>> {
        self.machine.as_ref().expect("the machine lives until drop")
    }

    fn m_mut(&mut self) -> &mut Machine<KernelCell, Recorder<HEAP_EVENTS>> {
        self.machine.as_mut().expect("the machine lives until drop")
    }

    /// Clears the records before an operation on heap `heap` (`None`: the kernel).
    fn begin(&mut self, heap: Option<usize>) {
        self.kernel.borrow_mut().observer_mut().clear();
        if let Some(h) = heap.and_then(|i| self.m_mut().heap_mut(i)) {
            h.observer_mut().clear();
        }
        self.last_heap = heap;
    }

    /// Adds an application heap `name` with `policy` (a policy name); its index.
    #[wasm_bindgen(js_name = addHeap)]
    pub fn add_heap(&mut self, name: &str, policy: &str) -> Result<u32, JsValue> {
        let kind = PolicyKind::from_name(policy).ok_or_else(|| {
            let names: Vec<&str> = PolicyKind::ALL.iter().map(|k| k.name()).collect();
            coded_error("invalid-option", &format!("policy must be one of {}, got \"{policy}\"", names.join(", ")))
        })?;
        let config = Config { policy: kind, quick_lists: false, ..Config::DEFAULT };
        self.m_mut().add_heap(name, config).map(|i| i as u32).map_err(|e| match e {
            NameError::Invalid => coded_error("invalid-name", &format!("\"{name}\" cannot name a heap: use up to 16 letters, digits, - or _, and not \"kernel\"")),
            NameError::Taken => coded_error("invalid-name", &format!("a heap named \"{name}\" exists")),
            NameError::Full => coded_error("out-of-memory", "the machine holds no more heaps"),
        })
    }

    /// `malloc(size)` in application heap `heap`: the payload's address.
    pub fn malloc(&mut self, heap: u32, size: f64) -> Result<u32, JsValue> {
        let size = size_arg(size, "size")?;
        self.begin(Some(heap as usize));
        self.m_mut().malloc(heap as usize, size).map(|p| p.as_ptr() as usize as u32).map_err(alloc_error)
    }

    /// `free(address)` in application heap `heap`: the pages it gave back
    /// to the buddy allocator (all of them when it was the last block).
    /// (`free()` without arguments is wasm-bindgen's disposal of the machine.)
    #[wasm_bindgen(js_name = heapFree)]
    pub fn heap_free(&mut self, heap: u32, addr: f64) -> Result<u32, JsValue> {
        let p = address(addr)?;
        self.begin(Some(heap as usize));
        self.m_mut().free(heap as usize, p).map(|n| n as u32).map_err(alloc_error)
    }

    /// `kmalloc(size)` in the kernel heap: the object's address.
    pub fn kmalloc(&mut self, size: f64) -> Result<u32, JsValue> {
        let size = size_arg(size, "size")?;
        self.begin(None);
        self.kernel.borrow_mut().kmalloc(size).map(|p| p.as_ptr() as usize as u32).map_err(alloc_error)
    }

    /// `kfree(address)` in the kernel heap.
    pub fn kfree(&mut self, addr: f64) -> Result<(), JsValue> {
        let p = address(addr)?;
        self.begin(None);
        self.kernel.borrow_mut().kfree(p).map_err(alloc_error)
    }

    /// Who holds the buddy block holding `addr`: "free", "buddy" (its own
    /// metadata), "kernel" or an application heap's name.
    #[wasm_bindgen(js_name = ownerOf)]
    pub fn owner_of(&self, addr: f64) -> String {
        match whole_number(addr).map(|a| self.m().owner_of(a)) {
            Some(Owner::Kernel(_)) => "kernel".into(),
            Some(Owner::Heap(i)) => self.m().heap_name(i).unwrap_or("").into(),
            Some(Owner::Buddy) => "buddy".into(),
            _ => "free".into(),
        }
    }

    /// The application heaps: `{ index, name, policy, pages, live, runs, stats }`.
    pub fn heaps(&self) -> Result<JsValue, JsValue> {
        let m = self.m();
        let heaps: Vec<JsHeap> = m
            .heap_indices()
            .filter_map(|i| {
                let h = m.heap(i)?;
                Some(JsHeap {
                    index: i,
                    name: m.heap_name(i)?.into(),
                    policy: h.policy_kind().name(),
                    pages: m.heap_pages(i),
                    live: m.live_blocks(i),
                    runs: h.source().runs().map(|(a, k)| [a, k]).collect(),
                    stats: h.stats(),
                })
            })
            .collect();
        to_js(&heaps)
    }

    /// The buddy blocks as a view into wasm memory, 5 numbers per block in
    /// address order: address, order, free (0/1), owner (0 free, 1 kernel,
    /// 2 + the application heap's index, 65535 the buddy allocator's own
    /// metadata), cache (1 + the slab's cache
    /// index for a kernel slab, else 0).
    #[wasm_bindgen(js_name = buddyBlocks)]
    pub fn buddy_blocks(&mut self) -> Uint32Array {
        let mut table = std::mem::take(&mut self.table);
        table.clear();
        self.m().blocks(|addr, order, owner| {
            let (who, cache) = match owner {
                Owner::Free => (OWNER_FREE, 0),
                Owner::Buddy => (OWNER_BUDDY, 0),
                Owner::Kernel(c) => (OWNER_KERNEL, c.map_or(0, |c| c as u32 + 1)),
                Owner::Heap(i) => (OWNER_HEAP + i as u32, 0),
            };
            table.extend([addr as u32, order as u32, (owner == Owner::Free) as u32, who, cache]);
        });
        self.table = table;
        // SAFETY: the view covers `table`, which lives in `self` and is not
        // touched again until the next call; JS copies or re-reads the view
        // after any call (the contract of every view this API returns).
        unsafe { Uint32Array::view(&self.table) }
    }

    /// The blocks of application heap `heap`, 5 numbers per block in
    /// address order: address, size, used (0/1), requested bytes, payload
    /// address (a copy).
    #[wasm_bindgen(js_name = heapBlocks)]
    pub fn heap_blocks(&self, heap: u32) -> Uint32Array {
        let rows: Vec<u32> =
            self.m().heap(heap as usize).map_or_else(Vec::new, |h| h.blocks().flat_map(|b| [b.addr as u32, b.size as u32, b.used as u32, b.requested as u32, b.payload as u32]).collect());
        Uint32Array::from(rows.as_slice())
    }

    /// The pages of application heap `heap` (a copy), 2 numbers per page:
    /// address, owner code (the `PAGE` codes of `constants()`).
    #[wasm_bindgen(js_name = heapPages)]
    pub fn heap_pages(&self, heap: u32) -> Uint32Array {
        let rows: Vec<u32> = self.m().heap(heap as usize).map_or_else(Vec::new, |h| h.pages().flat_map(|(a, o)| [a as u32, o as u32]).collect());
        Uint32Array::from(rows.as_slice())
    }

    /// The kernel heap's slabs: `{ address, cache, objectSize, order, list, objects, perSlab }`.
    #[wasm_bindgen(js_name = kernelSlabs)]
    pub fn kernel_slabs(&self) -> Result<JsValue, JsValue> {
        let k = self.kernel.borrow();
        let mut slabs = Vec::new();
        for c in 0..k.caches() {
            let Some(info) = k.cache_info(c) else { continue };
            for (address, list, objects) in k.slabs(c) {
                slabs.push(JsSlab { address, cache: info.name.into(), object_size: info.stride, order: info.order, list, objects, per_slab: info.objects_per_slab });
            }
        }
        to_js(&slabs)
    }

    /// The events of the last operation: `{ buddy, heap }`.
    #[wasm_bindgen(js_name = lastEvents)]
    pub fn last_events(&self) -> Result<JsValue, JsValue> {
        let k = self.kernel.borrow();
        let heap = self.last_heap.and_then(|i| self.m().heap(i)).map_or(&[][..], |h| h.observer().events());
        to_js(&JsEvents { buddy: k.observer().events(), heap })
    }

    /// The buddy allocator's and the kernel heap's figures (`SlabStats`, with `buddy`).
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        to_js(&self.kernel.borrow().stats())
    }

    /// The integrity walk of the whole machine.
    pub fn check(&self) -> Result<(), JsValue> {
        self.m().check().map_err(check_error)
    }
}

impl Drop for RawMachine {
    /// The heaps give their blocks back, then the memory goes to the next
    /// heap (see [`RecycledMemory`]).
    fn drop(&mut self) {
        drop(self.machine.take());
        self.kernel.borrow().buddy().source().release();
    }
}
