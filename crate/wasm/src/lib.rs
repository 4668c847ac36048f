//! Heaplab's JS-facing API, exported with wasm-bindgen (the package that
//! `wasm-pack` builds into `web/pkg/`). Thin: it converts JS values
//! to Rust ones, delegates to [`heaplab::Heap`], and converts results and errors back.
//!
//! The hand-written module `web/src/heaplab.js` wraps the `RawHeap` class
//! exported here (so that `free(address)` can be C's free) and is the public
//! JS API; this module is its engine room.
//!
//! Large state is not copied per frame: [`RawHeap::blocks`] and
//! [`RawHeap::pages`] return typed-array views into wasm memory, which JS
//! must re-read after any call that may grow memory.

// Only wasm has `memory.grow`; on other targets (`cargo test --workspace`)
// this crate is empty.
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeMap;

use js_sys::{Error as JsError, Reflect, Uint32Array, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

mod kernel;
mod machine;
mod memory;

use heaplab::check::CheckError;
use heaplab::events::Recorder;
use heaplab::heap::{AllocError, Coalesce, Config, Heap};
use memory::{RecycledMemory, Saved};

use heaplab::pages::PageOwner;
use heaplab::policy::{AnyPolicy, ListOrder, PolicyKind, Wilderness};

// The columns of one row of the block table (`BLOCK` in `heaplab.js`,
// which has them from `constants()`).
const COL_ADDRESS: usize = 0;
const COL_SIZE: usize = 1;
const COL_PAYLOAD: usize = 2;
const COL_REQUESTED: usize = 3;
const COL_FLAGS: usize = 4;
const COL_ID: usize = 5;
/// Numbers per row of the block table.
const BLOCK_COLUMNS: usize = 6;
/// The columns by name, for JS.
const BLOCK_COLUMN_NAMES: [(&str, usize); BLOCK_COLUMNS] = [
    ("ADDRESS", COL_ADDRESS),
    ("SIZE", COL_SIZE),
    ("PAYLOAD", COL_PAYLOAD),
    ("REQUESTED", COL_REQUESTED),
    ("FLAGS", COL_FLAGS),
    ("ID", COL_ID),
];
const FLAG_USED: u32 = 1;
const FLAG_LARGE: u32 = 2;
/// A freed block waiting on a quick list: free to the program, still used
/// to the allocator (set with FLAG_USED; not merged, not in the free list).
const FLAG_QUICK: u32 = 4;
/// The bits of the FLAGS column by name (`BLOCK_FLAG` in `heaplab.js`).
const BLOCK_FLAGS: [(&str, u32); 3] = [("USED", FLAG_USED), ("LARGE", FLAG_LARGE), ("QUICK", FLAG_QUICK)];
/// Events kept for `lastEvents()`; a search over more blocks drops the rest (and counts them).
const EVENTS: usize = 4096;

/// The options `new Heap(options)` accepts; every field is optional.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Options {
    policy: Option<String>,
    align: Option<f64>,
    max_bytes: Option<f64>,
    coalesce: Option<String>,
    split_min: Option<f64>,
    list_order: Option<String>,
    quick_lists: Option<bool>,
}

fn coded_error(code: &str, message: &str) -> JsValue {
    let error = JsError::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str(code));
    error.into()
}

fn option_error(name: &str, accepted: &str, got: &str) -> JsValue {
    coded_error(
        "invalid-option",
        &format!("option `{name}` must be {accepted}, got {got}"),
    )
}

impl Options {
    fn into_config(self) -> Result<Config, JsValue> {
        let mut config = Config::DEFAULT;
        if let Some(policy) = self.policy {
            let names: Vec<&str> = PolicyKind::ALL.iter().map(|k| k.name()).collect();
            config.policy = PolicyKind::from_name(&policy).ok_or_else(|| {
                option_error(
                    "policy",
                    &format!("one of {}", names.join(", ")),
                    &format!("\"{policy}\""),
                )
            })?;
        }
        if let Some(align) = self.align {
            if align != 8.0 && align != 16.0 {
                return Err(option_error("align", "8 or 16", &align.to_string()));
            }
            config.align = align as usize;
        }
        if let Some(coalesce) = self.coalesce {
            config.coalesce = match coalesce.as_str() {
                "immediate" => Coalesce::Immediate,
                "deferred" => Coalesce::Deferred,
                _ => {
                    return Err(option_error(
                        "coalesce",
                        "\"immediate\" or \"deferred\"",
                        &format!("\"{coalesce}\""),
                    ))
                }
            };
        }
        if let Some(bytes) = self.max_bytes {
            config.max_bytes = whole_number(bytes).filter(|b| *b >= 65536).ok_or_else(|| {
                option_error(
                    "maxBytes",
                    "a whole number of bytes, at least 65536",
                    &bytes.to_string(),
                )
            })?;
        }
        if let Some(order) = self.list_order {
            let policy = config.policy;
            let names: Vec<&str> = ListOrder::ALL
                .iter()
                .filter(|o| o.suits(policy))
                .map(|o| o.name())
                .collect();
            config.list_order = Some(
                ListOrder::from_name(&order)
                    .filter(|o| o.suits(policy))
                    .ok_or_else(|| {
                        option_error(
                            "listOrder",
                            &format!("one of {} for {}", names.join(", "), policy.name()),
                            &format!("\"{order}\""),
                        )
                    })?,
            );
        }
        if let Some(split) = self.split_min {
            config.split_min = whole_number(split).filter(|b| *b <= 4096).ok_or_else(|| {
                option_error(
                    "splitMin",
                    "a whole number of bytes from 0 to 4096",
                    &split.to_string(),
                )
            })?;
        }
        // Off unless asked for: a heap made with the options of before
        // behaves as before (lessons and traces that expect a freed block
        // in the free list at once).
        config.quick_lists = self.quick_lists.unwrap_or(false);
        Ok(config)
    }
}

/// The option names `new Heap(options)` accepts.
const OPTION_NAMES: &[&str] = &[
    "policy",
    "align",
    "maxBytes",
    "coalesce",
    "splitMin",
    "listOrder",
    "quickLists",
];

/// Rejects an options object with a key that is not an option (a typo would
/// otherwise be silently ignored).
fn reject_unknown_options(options: &JsValue) -> Result<(), JsValue> {
    if !options.is_object() {
        return Err(coded_error(
            "invalid-option",
            "heap options must be an object",
        ));
    }
    for key in js_sys::Object::keys(options.unchecked_ref::<js_sys::Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !OPTION_NAMES.contains(&key.as_str()) {
            let accepted = OPTION_NAMES.join(", ");
            return Err(coded_error(
                "invalid-option",
                &format!("unknown option `{key}`; the options are {accepted}"),
            ));
        }
    }
    Ok(())
}

/// A JS number that is a whole, non-negative, representable byte count.
fn whole_number(value: f64) -> Option<usize> {
    (value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= u32::MAX as f64)
        .then_some(value as usize)
}

fn size_arg(value: f64, what: &str) -> Result<usize, JsValue> {
    whole_number(value).ok_or_else(|| {
        coded_error(
            "invalid-size",
            &format!("{what} must be a whole number of bytes from 0 to 2^32 - 1, got {value}"),
        )
    })
}

/// An address or length of a raw read or write.
fn span_arg(value: f64) -> Result<usize, JsValue> {
    whole_number(value).ok_or_else(|| {
        coded_error(
            "out-of-bounds",
            &format!("{value} is not an address or length in the heap"),
        )
    })
}

fn address_arg(value: f64) -> Result<usize, JsValue> {
    whole_number(value).ok_or_else(|| {
        coded_error(
            "invalid-free",
            &format!("{value} is not an address returned by malloc"),
        )
    })
}

fn alloc_error(error: AllocError) -> JsValue {
    coded_error(error.code(), &error.to_string())
}

fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value
        .serialize(&serializer)
        .map_err(|e| coded_error("internal", &e.to_string()))
}

fn check_error(error: CheckError) -> JsValue {
    coded_error("corrupt-heap", &error.to_string())
}

/// The options a heap runs with, defaults filled in (`heap.options`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsOptions {
    policy: &'static str,
    align: usize,
    max_bytes: usize,
    coalesce: &'static str,
    split_min: usize,
    list_order: &'static str,
    quick_lists: bool,
}

/// The free lists in their order (`heap.freeLists()`).
#[derive(Serialize)]
struct JsFreeLists {
    /// The order's name (`ListOrder::name`).
    order: &'static str,
    /// Next fit's roving pointer (a block address), else null.
    rover: Option<usize>,
    lists: Vec<JsFreeList>,
}

/// One free list: its label, the block sizes it may hold, and its blocks'
/// header addresses in list order; `quick` for a quick list (freed blocks
/// of one size waiting to be merged, `min` = `max` = that size).
#[derive(Serialize)]
struct JsFreeList {
    label: String,
    min: usize,
    max: usize,
    quick: bool,
    /// The policy's wilderness: the free block that ends the heap, taken
    /// only when no other free block holds a request (`min` = `max` = 0).
    wilderness: bool,
    blocks: Vec<usize>,
}

/// The label of a free list: "free list" for a policy's one list, else its
/// size class ("24 B" for a class of one size, "992-1023 B").
fn list_label(order: ListOrder, min: usize, max: usize) -> String {
    if max == Wilderness::LIST_MIN {
        return "end of the heap".to_string();
    }
    match order {
        ListOrder::SizeClass if max < min + 8 => format!("{min} B"),
        ListOrder::SizeClass => format!("{min}-{max} B"),
        _ => "free list".to_string(),
    }
}

/// The name JS gives a page owner (a key of `PAGE` in `heaplab.js`).
fn page_owner_name(owner: PageOwner) -> &'static str {
    match owner {
        PageOwner::Free => "FREE",
        PageOwner::Meta => "META",
        PageOwner::ArenaHead => "ARENA_HEAD",
        PageOwner::Arena => "ARENA",
        PageOwner::LargeHead => "LARGE_HEAD",
        PageOwner::Large => "LARGE",
    }
}

/// The vocabulary JS shares with this module (`constants()`): every name
/// and code `heaplab.js` exports, defined here once.
#[derive(Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Constants {
    /// Every policy, in `PolicyKind::ALL` order.
    policies: Vec<&'static str>,
    /// Every free-list order, in `ListOrder::ALL` order.
    list_orders: Vec<&'static str>,
    /// Operation codes of `run`.
    run: BTreeMap<&'static str, u32>,
    /// Owner codes of `pages()`.
    page: BTreeMap<&'static str, u8>,
    /// Columns of the block table, and COLUMNS, their number.
    block: BTreeMap<&'static str, usize>,
    /// Bits of the block table's FLAGS column.
    block_flag: BTreeMap<&'static str, u32>,
}

/// The names and codes used across the boundary: `{ POLICIES, LIST_ORDERS,
/// RUN, PAGE, BLOCK, BLOCK_FLAG }` (see `heaplab.js`, which exports them
/// frozen after `init()`).
#[wasm_bindgen]
pub fn constants() -> Result<JsValue, JsValue> {
    let mut block: BTreeMap<&'static str, usize> = BLOCK_COLUMN_NAMES.into_iter().collect();
    block.insert("COLUMNS", BLOCK_COLUMNS);
    to_js(&Constants {
        policies: PolicyKind::ALL.iter().map(|k| k.name()).collect(),
        list_orders: ListOrder::ALL.iter().map(|o| o.name()).collect(),
        run: BTreeMap::from([("MALLOC", RUN_MALLOC), ("FREE", RUN_FREE), ("REALLOC", RUN_REALLOC)]),
        page: (0..=u8::MAX)
            .filter_map(PageOwner::from_u8)
            .map(|owner| (page_owner_name(owner), owner as u8))
            .collect(),
        block,
        block_flag: BLOCK_FLAGS.into_iter().collect(),
    })
}

/// Reads a malloc-lab trace (`.rep` text, as bytes) with Heaplab's one
/// `.rep` reader (`heaplab-trace`, which the allocator does not use),
/// lifecycle of every id included: `{ ids, header, ops, lines }` where
/// `header` is "short" or "classic", `ops` holds triples `(code, id, size)`
/// in the codes of `run` (0 malloc, 1 free with size 0, 2 realloc) and
/// `lines[i]` is the 1-based text line of operation i. Throws
/// `invalid-trace` with `line`, the 1-based line of the first bad one, and
/// `reason`, the message without its line.
#[wasm_bindgen(js_name = parseTrace)]
pub fn parse_trace(text: &[u8]) -> Result<JsValue, JsValue> {
    use heaplab_trace::{Header, HeaderKind, Op, Trace, TraceError};
    let invalid = |e: TraceError| {
        let error = coded_error("invalid-trace", &e.to_string());
        let _ = Reflect::set(&error, &JsValue::from_str("line"), &JsValue::from_f64(e.line as f64));
        let _ = Reflect::set(&error, &JsValue::from_str("reason"), &JsValue::from_str(&e.reason.to_string()));
        error
    };
    // The lifecycle check takes a byte per declared id: read the header first to size it.
    let header = Header::read(text).map_err(invalid)?;
    let mut scratch = vec![0u8; header.ids];
    let trace = Trace::parse_checked(text, &mut scratch).map_err(invalid)?;
    drop(scratch);
    let mut ops = Vec::with_capacity(header.ops * 3);
    let mut lines = Vec::with_capacity(header.ops);
    for (line, op) in trace.ops() {
        let (code, id, size) = match op {
            Op::Alloc { id, size } => (RUN_MALLOC, id, size),
            Op::Free { id } => (RUN_FREE, id, 0),
            Op::Realloc { id, size } => (RUN_REALLOC, id, size),
        };
        ops.extend([code, id as u32, size as u32]);
        lines.push(line as u32);
    }
    let kind = match header.kind {
        HeaderKind::Classic => "classic",
        HeaderKind::Short => "short",
    };
    let out = js_sys::Object::new();
    Reflect::set(&out, &JsValue::from_str("ids"), &JsValue::from_f64(header.ids as f64))?;
    Reflect::set(&out, &JsValue::from_str("header"), &JsValue::from_str(kind))?;
    Reflect::set(&out, &JsValue::from_str("ops"), &Uint32Array::from(ops.as_slice()))?;
    Reflect::set(&out, &JsValue::from_str("lines"), &Uint32Array::from(lines.as_slice()))?;
    Ok(out.into())
}

/// The limits of the `.rep` reader, which the JSON trace reader in JS
/// applies too (`traceLimits()`): `{ maxOps, maxSize, maxBytes }`, the most
/// operations (and declared ids), the largest request, the largest text.
#[wasm_bindgen(js_name = traceLimits)]
pub fn trace_limits() -> Result<JsValue, JsValue> {
    use heaplab_trace::{MAX_COUNT, MAX_REQUEST, MAX_TEXT};
    let out = js_sys::Object::new();
    Reflect::set(&out, &JsValue::from_str("maxOps"), &JsValue::from_f64(MAX_COUNT as f64))?;
    Reflect::set(&out, &JsValue::from_str("maxSize"), &JsValue::from_f64(MAX_REQUEST as f64))?;
    Reflect::set(&out, &JsValue::from_str("maxBytes"), &JsValue::from_f64(MAX_TEXT as f64))?;
    Ok(out.into())
}

#[derive(Serialize)]
struct JsSegment {
    base: usize,
    bytes: usize,
}

/// A heap in wasm memory, as JS sees it (wrapped by `Heap` in `heaplab.js`).
#[wasm_bindgen]
pub struct RawHeap {
    heap: Heap<RecycledMemory, AnyPolicy, Recorder<EVENTS>>,
    /// Allocation id of each live payload address. The one numbering of
    /// allocations: 1, 2, ... in allocation order (`malloc`, `calloc`), or
    /// chosen by the caller (`setNextId` for replays keeping their ids, the
    /// trace ids of `run`, id = trace id + 1); `slots` is its inverse.
    ids: BTreeMap<usize, u32>,
    /// The id the next `malloc` or `calloc` gets.
    next_id: u32,
    /// Backing store of the `blocks()` view; rebuilt on each call.
    block_table: Vec<[u32; BLOCK_COLUMNS]>,
    /// Backing store of the `pages()` view; rebuilt on each call.
    page_table: Vec<u8>,
    /// Payload address of each allocation id - 1 (a trace id of `run`),
    /// 0 when that id is not allocated.
    slots: Vec<usize>,
}

/// A saved heap (`heap.save()`), to go back to with `heap.restore(saved)`.
#[wasm_bindgen]
pub struct SavedHeap {
    /// The bookkeeping, a bitwise copy (boxed: the event recorder is large).
    heap: Box<Heap<RecycledMemory, AnyPolicy, Recorder<EVENTS>>>,
    memory: Saved,
    ids: BTreeMap<usize, u32>,
    next_id: u32,
    slots: Vec<usize>,
}

/// Operation codes of `run`.
const RUN_MALLOC: u32 = 0;
const RUN_FREE: u32 = 1;
const RUN_REALLOC: u32 = 2;

#[wasm_bindgen]
impl RawHeap {
    /// Creates a heap; `options` is undefined or an object (see `Options`).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<RawHeap, JsValue> {
        let options: Options = if options.is_undefined() || options.is_null() {
            Options::default()
        } else {
            reject_unknown_options(&options)?;
            serde_wasm_bindgen::from_value(options)
                .map_err(|e| coded_error("invalid-option", &format!("invalid heap options: {e}")))?
        };
        let config = options.into_config()?;
        Ok(RawHeap {
            heap: Heap::with_observer(
                RecycledMemory::new(config.max_bytes),
                config,
                Recorder::new(),
            ),
            ids: BTreeMap::new(),
            next_id: 1,
            block_table: Vec::new(),
            page_table: Vec::new(),
            slots: Vec::new(),
        })
    }

    /// `malloc(size, align)`: the payload's address. `align` 0 means the
    /// heap's default. As glibc's, `malloc(0)` returns a unique block of
    /// the minimum size, which `free` takes back.
    pub fn malloc(&mut self, size: f64, align: f64) -> Result<u32, JsValue> {
        self.heap.observer_mut().clear();
        let size = size_arg(size, "size")?.max(1);
        let align = match whole_number(align) {
            Some(0) => self.heap.config().align,
            Some(a) => a,
            None => {
                return Err(coded_error(
                    "invalid-align",
                    &format!("alignment must be a power of two, got {align}"),
                ))
            }
        };
        let id = self.free_next_id()?;
        let ptr = self.heap.alloc(size, align).map_err(alloc_error)?;
        let address = ptr.as_ptr() as usize;
        self.bind(id, address);
        Ok(address as u32)
    }

    /// C's `free(address)`.
    #[wasm_bindgen(js_name = freeAddress)]
    pub fn free_address(&mut self, address: f64) -> Result<(), JsValue> {
        self.heap.observer_mut().clear();
        let address = address_arg(address)?;
        self.heap.free(address as *mut u8).map_err(alloc_error)?;
        self.unbind(address);
        Ok(())
    }

    /// The allocation id of the live block whose payload starts at
    /// `address`, or 0 (no such block).
    #[wasm_bindgen(js_name = idOf)]
    pub fn id_of(&self, address: f64) -> u32 {
        whole_number(address).and_then(|a| self.ids.get(&a).copied()).unwrap_or(0)
    }

    /// The payload address of live allocation `id`, or 0 (not allocated).
    #[wasm_bindgen(js_name = addressOf)]
    pub fn address_of(&self, id: f64) -> u32 {
        whole_number(id)
            .filter(|&id| id >= 1)
            .and_then(|id| self.slots.get(id - 1).copied())
            .unwrap_or(0) as u32
    }

    /// The id the next `malloc` or `calloc` gets.
    #[wasm_bindgen(js_name = nextId)]
    pub fn next_id(&self) -> u32 {
        self.next_id
    }

    /// Makes `id` the id of the next allocation (a replay keeping its
    /// recorded ids); later ones count on from it. Throws `invalid-id` for
    /// an id that is not a whole number from 1 to 2^24 + 1.
    #[wasm_bindgen(js_name = setNextId)]
    pub fn set_next_id(&mut self, id: f64) -> Result<(), JsValue> {
        match whole_number(id) {
            Some(n) if n >= 1 && n <= MAX_ID as usize => {
                self.next_id = n as u32;
                Ok(())
            }
            _ => Err(coded_error(
                "invalid-id",
                &format!("an allocation id is a whole number from 1 to {MAX_ID}, got {id}"),
            )),
        }
    }

    /// Runs the integrity check; throws a `corrupt-heap` error naming the broken invariant.
    pub fn check(&self) -> Result<(), JsValue> {
        self.heap.check().map_err(check_error)
    }

    /// Merges the blocks waiting on the quick lists back into the free
    /// list (one `flush` event, after the merges'); whether there were any.
    pub fn flush(&mut self) -> bool {
        self.heap.observer_mut().clear();
        self.heap.flush()
    }

    /// Frees every block, keeping the memory already obtained.
    pub fn reset(&mut self) {
        self.heap.observer_mut().clear();
        self.heap.reset();
        self.ids.clear();
        self.next_id = 1;
        self.slots.clear();
    }

    /// Runs a batch of trace operations in wasm, without a JS call each:
    /// `ops` holds triples `(code, id, size)`, code 0 malloc, 1 free, 2
    /// realloc; `id` names the allocation as trace ids do, and its block's
    /// allocation id is `id + 1`. Stops at the first failure, which it
    /// throws with `index`, the failing triple's position (the operations
    /// before it are done; the failing one changed nothing).
    pub fn run(&mut self, ops: &[u32]) -> Result<(), JsValue> {
        if !ops.len().is_multiple_of(3) {
            return Err(coded_error(
                "invalid-trace",
                "run() takes (code, id, size) triples",
            ));
        }
        for (index, op) in ops.chunks_exact(3).enumerate() {
            self.heap.observer_mut().clear();
            self.run_one(op[0], op[1] as usize, op[2] as usize)
                .inspect_err(|error| {
                    let _ = Reflect::set(
                        error,
                        &JsValue::from_str("index"),
                        &JsValue::from(index as u32),
                    );
                })?;
        }
        Ok(())
    }

    /// Saves the whole heap (bookkeeping and the bytes of every page in use).
    pub fn save(&self) -> SavedHeap {
        let heap = &self.heap;
        let memory = Saved::capture(*heap.source(), heap.pages(), |addr, len| {
            heap.bytes(addr, len)
                .expect("a page in use lies inside the heap")
        });
        SavedHeap {
            // SAFETY: the copy is only ever used by `restore`, which first
            // writes back the bytes saved here (every page in use) and then
            // replaces this heap with a copy of it.
            heap: Box::new(unsafe { self.heap.duplicate() }),
            memory,
            ids: self.ids.clone(),
            next_id: self.next_id,
            slots: self.slots.clone(),
        }
    }

    /// Puts the heap back as it was when `saved` was made; the same saved
    /// heap can be restored any number of times.
    pub fn restore(&mut self, saved: &SavedHeap) -> Result<(), JsValue> {
        if !saved.memory.fits(*self.heap.source()) {
            return Err(coded_error(
                "invalid-save",
                "this saved heap belongs to another heap, or to a history that was replaced",
            ));
        }
        // SAFETY: the saved bookkeeping replaces the heap's, and right below,
        // before any other use, every page in use at the save is written
        // back; its runs are this heap's again (checked above, and `rewind`).
        self.heap = unsafe { saved.heap.duplicate() };
        saved.memory.rewind();
        for (addr, bytes) in saved.memory.pages() {
            // Through the saved segment table: the save may hold segments
            // obtained after the state being replaced.
            // SAFETY: the bytes written are those the heap held at the
            // save, so its memory matches its bookkeeping again (see above).
            let target = unsafe { self.heap.bytes_mut(*addr, bytes.len()) }
                .expect("saved pages lie in the saved segments");
            target.copy_from_slice(bytes);
        }
        self.heap.observer_mut().clear();
        self.ids.clone_from(&saved.ids);
        self.next_id = saved.next_id;
        self.slots.clone_from(&saved.slots);
        Ok(())
    }

    /// The options this heap runs with, defaults filled in.
    pub fn options(&self) -> Result<JsValue, JsValue> {
        let c = self.heap.config();
        to_js(&JsOptions {
            policy: self.heap.policy_kind().name(),
            align: c.align,
            max_bytes: c.max_bytes,
            coalesce: match c.coalesce {
                Coalesce::Immediate => "immediate",
                Coalesce::Deferred => "deferred",
            },
            split_min: c.split_min,
            list_order: self.heap.list_order().name(),
            quick_lists: c.quick_lists,
        })
    }

    /// The free blocks in the order the policy's search walks them, then
    /// the blocks waiting on quick lists:
    /// `{ order, rover, lists: [{ label, min, max, quick, blocks }] }` (see
    /// `Heap.freeLists` in `heaplab.js`).
    #[wasm_bindgen(js_name = freeLists)]
    pub fn free_lists(&self) -> Result<JsValue, JsValue> {
        let order = self.heap.list_order();
        let mut lists: Vec<JsFreeList> = Vec::new();
        self.heap.free_lists(|list, addr| {
            if lists.len() <= list.index {
                lists.push(JsFreeList {
                    label: list_label(order, list.min, list.max),
                    min: list.min,
                    max: list.max,
                    quick: false,
                    wilderness: list.max == Wilderness::LIST_MIN,
                    blocks: Vec::new(),
                });
            }
            if let Some(last) = lists.last_mut() {
                last.blocks.push(addr);
            }
        });
        // Then the quick lists, one per block size, smallest first.
        let free = lists.len();
        self.heap.quick_lists(|size, addr| {
            if lists.len() == free || lists.last().is_some_and(|l| l.min != size) {
                lists.push(JsFreeList {
                    label: format!("quick {size} B"),
                    min: size,
                    max: size,
                    quick: true,
                    wilderness: false,
                    blocks: Vec::new(),
                });
            }
            if let Some(last) = lists.last_mut() {
                last.blocks.push(addr);
            }
        });
        to_js(&JsFreeLists {
            order: order.name(),
            rover: self.heap.rover(),
            lists,
        })
    }

    /// The heap's figures as a plain object (the fields of `Stats`, in camelCase).
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        to_js(&self.heap.stats())
    }

    /// What the last operation did: an array of events `{ kind, ... }` (see
    /// `Event`). A search that examined more blocks than the recorder holds
    /// keeps the first events and says on the browser console how many it dropped.
    #[wasm_bindgen(js_name = lastEvents)]
    pub fn last_events(&self) -> Result<JsValue, JsValue> {
        let recorder = self.heap.observer();
        if recorder.dropped() > 0 {
            let note = format!(
                "heaplab: the last operation's events were cut to {EVENTS}; {} dropped",
                recorder.dropped()
            );
            web_sys::console::warn_1(&JsValue::from_str(&note));
        }
        to_js(&recorder.events())
    }

    /// The block table as a view into wasm memory: 6 numbers per block
    /// (address, size, payload, requested, flags, id), in address order.
    pub fn blocks(&mut self) -> Uint32Array {
        let ids = &self.ids;
        let rows = &mut self.block_table;
        rows.clear();
        rows.extend(self.heap.blocks().map(|b| {
            // A quick block is still used to the allocator (USED | QUICK),
            // its payload bytes in the requested column, no id.
            let flags = if b.used || b.quick { FLAG_USED } else { 0 }
                | if b.large { FLAG_LARGE } else { 0 }
                | if b.quick { FLAG_QUICK } else { 0 };
            let requested = if b.quick { b.size - 8 } else { b.requested };
            let id = if b.used {
                ids.get(&b.payload).copied().unwrap_or(0)
            } else {
                0
            };
            let mut row = [0; BLOCK_COLUMNS];
            row[COL_ADDRESS] = b.addr as u32;
            row[COL_SIZE] = b.size as u32;
            row[COL_PAYLOAD] = b.payload as u32;
            row[COL_REQUESTED] = requested as u32;
            row[COL_FLAGS] = flags;
            row[COL_ID] = id;
            row
        }));
        // The core lists segments in the order obtained; recycled segments
        // may lie below later ones. Rows are sorted within each segment, so
        // this adaptive sort only merges a few runs.
        rows.sort_by_key(|row| row[COL_ADDRESS]);
        // SAFETY: the view aliases `block_table`, which is not touched again
        // until the next call into this heap; JS is told to re-read views
        // after any call (memory growth detaches them).
        unsafe { Uint32Array::view(rows.as_flattened()) }
    }

    /// One owner byte per 4 KiB page of every segment, in address order (the
    /// `PageOwner` codes: 0 free, 1 metadata, 2 arena head, 3 arena, 4 large
    /// object head, 5 large object), as a view into wasm memory.
    pub fn pages(&mut self) -> Uint8Array {
        let mut pages: Vec<(usize, u8)> = self
            .heap
            .pages()
            .map(|(addr, owner)| (addr, owner as u8))
            .collect();
        pages.sort_by_key(|&(addr, _)| addr);
        self.page_table.clear();
        self.page_table
            .extend(pages.into_iter().map(|(_, owner)| owner));
        // SAFETY: as for `blocks`: valid until the next call into this heap.
        unsafe { Uint8Array::view(&self.page_table) }
    }

    /// The heap's segments, `[{ base, bytes }]`, in address order.
    pub fn segments(&self) -> Result<JsValue, JsValue> {
        let mut segments: Vec<JsSegment> = self
            .heap
            .segments()
            .map(|(base, bytes)| JsSegment { base, bytes })
            .collect();
        segments.sort_by_key(|s| s.base);
        to_js(&segments)
    }

    /// `realloc(address, size)`: the (possibly moved) payload's address.
    /// As glibc's, `realloc(p, 0)` frees `p` and returns 0 (NULL).
    pub fn realloc(&mut self, address: f64, size: f64) -> Result<u32, JsValue> {
        self.heap.observer_mut().clear();
        let address = address_arg(address)?;
        let size = size_arg(size, "size")?;
        if size == 0 {
            self.heap.free(address as *mut u8).map_err(alloc_error)?;
            self.unbind(address);
            return Ok(0);
        }
        let moved = self
            .heap
            .realloc(address as *mut u8, size)
            .map_err(alloc_error)?
            .as_ptr() as usize;
        self.rebind(address, moved);
        Ok(moved as u32)
    }

    /// `calloc(count, size)`: a zeroed payload of `count × size` bytes.
    pub fn calloc(&mut self, count: f64, size: f64) -> Result<u32, JsValue> {
        self.heap.observer_mut().clear();
        let count = size_arg(count, "count")?;
        let size = size_arg(size, "size")?;
        // As glibc's, `calloc` of 0 bytes returns a unique minimum-size block.
        let (count, size) = if count == 0 || size == 0 { (1, 1) } else { (count, size) };
        let id = self.free_next_id()?;
        let ptr = self.heap.calloc(count, size).map_err(alloc_error)?;
        let address = ptr.as_ptr() as usize;
        self.bind(id, address);
        Ok(address as u32)
    }

    /// A copy of `length` bytes at `address`; both must lie in the heap's pages.
    pub fn read(&self, address: f64, length: f64) -> Result<Uint8Array, JsValue> {
        let (address, length) = (span_arg(address)?, span_arg(length)?);
        let bytes = self.heap.bytes(address, length).map_err(alloc_error)?;
        Ok(Uint8Array::from(bytes))
    }

    /// Writes `bytes` at `address`, anywhere inside the heap's block pages:
    /// writing past a payload into the next header is allowed (and `check`
    /// reports it; `malloc`, `free` and `realloc` then fail with
    /// `corrupt-heap` until `reset`). Metadata pages are out of bounds.
    pub fn write(&mut self, address: f64, bytes: &[u8]) -> Result<(), JsValue> {
        // The same check and code as `read`: one code per kind of failure.
        let address = span_arg(address)?;
        self.heap.write(address, bytes).map_err(alloc_error)
    }
}

/// Largest allocation id (the inverse map `slots` holds one entry per id).
const MAX_ID: u32 = (1 << 24) + 1;

impl RawHeap {
    /// The id the next allocation gets, if it is free and in range.
    fn free_next_id(&self) -> Result<u32, JsValue> {
        let id = self.next_id;
        if id > MAX_ID {
            return Err(coded_error("invalid-id", &format!("allocation id {id} is too large")));
        }
        if self.slots.get(id as usize - 1).is_some_and(|&a| a != 0) {
            return Err(coded_error(
                "invalid-id",
                &format!("allocation id {id} is in use; set nextId to an id not allocated"),
            ));
        }
        Ok(id)
    }

    /// Records allocation `id` (1 ..= MAX_ID) at payload `address`.
    fn bind(&mut self, id: u32, address: usize) {
        let slot = id as usize - 1;
        if slot >= self.slots.len() {
            self.slots.resize(slot + 1, 0);
        }
        self.slots[slot] = address;
        self.ids.insert(address, id);
        self.next_id = self.next_id.max(id + 1);
    }

    /// Forgets the allocation at payload `address` (freed).
    fn unbind(&mut self, address: usize) {
        if let Some(id) = self.ids.remove(&address) {
            self.slots[id as usize - 1] = 0;
        }
    }

    /// The allocation at `from` now lives at `to` (realloc), its id kept.
    fn rebind(&mut self, from: usize, to: usize) {
        if let Some(id) = self.ids.remove(&from) {
            self.ids.insert(to, id);
            self.slots[id as usize - 1] = to;
        }
    }

    fn run_one(&mut self, code: u32, id: usize, size: usize) -> Result<(), JsValue> {
        if id >= MAX_ID as usize {
            return Err(coded_error(
                "invalid-trace",
                &format!("trace id {id} is too large"),
            ));
        }
        let slot = self.slots.get(id).copied().unwrap_or(0);
        let align = self.heap.config().align;
        match code {
            RUN_MALLOC if slot != 0 => Err(coded_error(
                "invalid-trace",
                &format!("id {id} is already allocated"),
            )),
            RUN_MALLOC => {
                // (`malloc(0)`: a unique minimum-size block, as glibc's.)
                let address = self.heap.alloc(size.max(1), align).map_err(alloc_error)?.as_ptr() as usize;
                self.bind(id as u32 + 1, address);
                Ok(())
            }
            RUN_FREE | RUN_REALLOC if slot == 0 => Err(coded_error(
                "invalid-trace",
                &format!("id {id} is not allocated"),
            )),
            // `realloc(p, 0)` frees `p`, as glibc's.
            RUN_FREE | RUN_REALLOC if code == RUN_FREE || size == 0 => {
                self.heap.free(slot as *mut u8).map_err(alloc_error)?;
                self.unbind(slot);
                Ok(())
            }
            RUN_REALLOC => {
                let moved = self
                    .heap
                    .realloc(slot as *mut u8, size)
                    .map_err(alloc_error)?
                    .as_ptr() as usize;
                self.rebind(slot, moved);
                Ok(())
            }
            _ => Err(coded_error(
                "invalid-trace",
                &format!("unknown operation code {code}"),
            )),
        }
    }
}

impl Drop for RawHeap {
    /// Hands the heap's memory to the next heap (see [`RecycledMemory`]).
    fn drop(&mut self) {
        self.heap.source().release();
    }
}
