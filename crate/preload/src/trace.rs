//! `HEAPLAB_TRACE=file`: the program's calls written as a malloc-lab `.rep`
//! trace (the short header: ids, then operations), which the playground
//! and the compare page open.
//!
//! Nothing here calls `malloc` (it runs inside it): the address → id table
//! and the ids free for reuse live in pages from `mmap`, the text is built
//! in a fixed buffer and written with `write(2)`. Ids are the smallest free
//! one when a block is allocated (as the course's traces number them, and
//! as `scripts/record-trace.mjs` does), so the trace's id count is the most
//! blocks live at once. The header is written first as two fixed-width
//! numbers (the reader skips the spaces) and rewritten in place when the
//! process exits.
//!
//! `malloc(0)` is written with size 0, `realloc(p, 0)` as a free (glibc's
//! meaning), `realloc(NULL, n)` as an allocation; `calloc` and the aligned
//! allocations as allocations of their size (a `.rep` has no alignment); a
//! free of a pointer this process never handed out is not written.

use core::ptr;

/// A growable array of `T` in `mmap`'d pages (doubling with `mremap`).
struct MapVec<T: Copy> {
    ptr: *mut T,
    cap: usize,
}

impl<T: Copy> MapVec<T> {
    const fn new() -> Self {
        MapVec { ptr: ptr::null_mut(), cap: 0 }
    }

    /// Makes room for `n` elements (zeroed when new); false when memory is refused.
    fn reserve(&mut self, n: usize) -> bool {
        if n <= self.cap {
            return true;
        }
        let cap = n.max(4096).next_power_of_two();
        let (old, new) = (self.cap * core::mem::size_of::<T>(), cap * core::mem::size_of::<T>());
        // SAFETY: a fresh anonymous mapping, or the mapping this array made,
        // moved by the kernel to a larger size (its contents kept, the rest zero).
        let p = unsafe {
            if self.ptr.is_null() {
                libc::mmap(ptr::null_mut(), new, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
            } else {
                libc::mremap(self.ptr.cast(), old, new, libc::MREMAP_MAYMOVE)
            }
        };
        if p == libc::MAP_FAILED {
            return false;
        }
        self.ptr = p.cast();
        self.cap = cap;
        true
    }

    fn get(&self, i: usize) -> T {
        debug_assert!(i < self.cap);
        // SAFETY: i is below the capacity, and mapped memory is initialized (zero).
        unsafe { self.ptr.add(i).read() }
    }

    fn set(&mut self, i: usize, v: T) {
        debug_assert!(i < self.cap);
        // SAFETY: as in `get`.
        unsafe { self.ptr.add(i).write(v) }
    }
}

/// Address → id, open addressing with linear probing; key 0 is empty, and
/// a removed key leaves a tombstone (1) that a later insert reuses.
pub struct Ids {
    keys: MapVec<usize>,
    ids: MapVec<u32>,
    /// Slots in use (live keys and tombstones).
    used: usize,
    /// Ids free for reuse, a binary min-heap.
    free: MapVec<u32>,
    free_len: usize,
    /// Ids handed out so far: every id is below it.
    pub next: u32,
}

const TOMBSTONE: usize = 1;

impl Default for Ids {
    fn default() -> Self {
        Ids::new()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Ids {
    pub const fn new() -> Ids {
        Ids { keys: MapVec::new(), ids: MapVec::new(), used: 0, free: MapVec::new(), free_len: 0, next: 0 }
    }

    fn slot(&self, key: usize) -> usize {
        // Fibonacci hashing of the address (its low bits are alignment).
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16) & (self.keys.cap - 1)
    }

    /// Rebuilds the table at `cap` slots, dropping tombstones.
    fn rehash(&mut self, cap: usize) -> bool {
        let (keys, ids) = (core::mem::replace(&mut self.keys, MapVec::new()), core::mem::replace(&mut self.ids, MapVec::new()));
        if !self.keys.reserve(cap) || !self.ids.reserve(cap) {
            return false;
        }
        self.used = 0;
        for i in 0..keys.cap {
            let k = keys.get(i);
            if k > TOMBSTONE {
                self.put(k, ids.get(i));
            }
        }
        for (p, bytes) in [(keys.ptr.cast::<u8>(), keys.cap * 8), (ids.ptr.cast::<u8>(), ids.cap * 4)] {
            if !p.is_null() {
                // SAFETY: the old arrays' own mappings, no longer used.
                unsafe { libc::munmap(p.cast(), bytes) };
            }
        }
        true
    }

    fn put(&mut self, key: usize, id: u32) {
        let mask = self.keys.cap - 1;
        let mut i = self.slot(key);
        while self.keys.get(i) > TOMBSTONE {
            i = (i + 1) & mask;
        }
        if self.keys.get(i) == 0 {
            self.used += 1;
        }
        self.keys.set(i, key);
        self.ids.set(i, id);
    }

    /// Makes room for one more key; false when memory is refused.
    fn room(&mut self) -> bool {
        (self.used + 1) * 2 <= self.keys.cap || self.rehash((self.keys.cap * 2).max(1 << 12))
    }

    /// A new id for a block at `key` (the smallest free one); None when no memory.
    pub fn insert(&mut self, key: usize) -> Option<u32> {
        if !self.room() {
            return None;
        }
        let id = if self.free_len > 0 { self.pop_free() } else { self.next };
        if id == self.next {
            self.next += 1;
        }
        self.put(key, id);
        Some(id)
    }

    /// The id of the block at `key`, removed from the table (and free for reuse).
    pub fn remove(&mut self, key: usize) -> Option<u32> {
        let id = self.take(key)?;
        self.push_free(id);
        Some(id)
    }

    /// The id of the block at `key`, now the block at `to` (a realloc that moved it).
    pub fn rekey(&mut self, key: usize, to: usize) -> Option<u32> {
        let id = self.take(key)?;
        if self.room() {
            self.put(to, id);
        }
        Some(id)
    }

    /// The id of the block at `key`, removed from the table, not freed.
    fn take(&mut self, key: usize) -> Option<u32> {
        if self.keys.cap == 0 {
            return None;
        }
        let mask = self.keys.cap - 1;
        let mut i = self.slot(key);
        loop {
            match self.keys.get(i) {
                0 => return None,
                k if k == key => {
                    self.keys.set(i, TOMBSTONE);
                    return Some(self.ids.get(i));
                }
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn push_free(&mut self, id: u32) {
        if !self.free.reserve(self.free_len + 1) {
            return; // the id is not reused: traces stay valid, ids grow
        }
        let mut i = self.free_len;
        self.free_len += 1;
        self.free.set(i, id);
        while i > 0 && self.free.get((i - 1) / 2) > self.free.get(i) {
            let p = (i - 1) / 2;
            let (a, b) = (self.free.get(p), self.free.get(i));
            self.free.set(p, b);
            self.free.set(i, a);
            i = p;
        }
    }

    fn pop_free(&mut self) -> u32 {
        let top = self.free.get(0);
        self.free_len -= 1;
        self.free.set(0, self.free.get(self.free_len));
        let mut i = 0;
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = i;
            if l < self.free_len && self.free.get(l) < self.free.get(m) {
                m = l;
            }
            if r < self.free_len && self.free.get(r) < self.free.get(m) {
                m = r;
            }
            if m == i {
                return top;
            }
            let (a, b) = (self.free.get(i), self.free.get(m));
            self.free.set(i, b);
            self.free.set(m, a);
            i = m;
        }
    }
}

/// Width of each header number: room for any count, rewritten in place.
const HEADER_WIDTH: usize = 20;

/// The trace being written.
pub struct Recorder {
    fd: i32,
    buf: [u8; 1 << 16],
    len: usize,
    ops: u64,
    ids: Ids,
}

impl Recorder {
    pub const fn new() -> Recorder {
        Recorder { fd: -1, buf: [0; 1 << 16], len: 0, ops: 0, ids: Ids::new() }
    }

    pub fn active(&self) -> bool {
        self.fd >= 0
    }

    /// Starts writing to `path` (NUL-terminated): created if missing;
    /// when it exists (a parent process is writing it), `path.PID`. False
    /// when neither can be created.
    pub fn open(&mut self, path: &[u8]) -> bool {
        let mode = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
        // SAFETY: `path` is NUL-terminated (caller).
        let mut fd = unsafe { libc::open(path.as_ptr().cast(), mode, 0o644) };
        if fd < 0 {
            let mut other = [0u8; 4096];
            let n = path.len() - 1;
            if n + 22 > other.len() {
                return false;
            }
            other[..n].copy_from_slice(&path[..n]);
            other[n] = b'.';
            // SAFETY: getpid has no preconditions.
            let digits = decimal(unsafe { libc::getpid() } as u64, &mut other[n + 1..]);
            other[n + 1 + digits] = 0;
            // SAFETY: `other` is NUL-terminated.
            fd = unsafe { libc::open(other.as_ptr().cast(), mode, 0o644) };
        }
        if fd < 0 {
            return false;
        }
        self.fd = fd;
        self.header();
        true
    }

    /// Writes the two header lines (ids, operations), fixed width.
    fn header(&mut self) {
        let mut line = [b' '; 2 * (HEADER_WIDTH + 1)];
        for (k, value) in [u64::from(self.ids.next), self.ops].into_iter().enumerate() {
            let mut digits = [0u8; 20];
            let n = decimal(value, &mut digits);
            let end = (k + 1) * (HEADER_WIDTH + 1) - 1;
            line[end - n..end].copy_from_slice(&digits[..n]);
            line[end] = b'\n';
        }
        // SAFETY: the fd is this recorder's; the header is rewritten at offset 0.
        unsafe { libc::pwrite(self.fd, line.as_ptr().cast(), line.len(), 0) };
        if self.len == 0 && self.ops == 0 {
            // SAFETY: as above; the body starts after the header.
            unsafe { libc::lseek(self.fd, line.len() as libc::off_t, libc::SEEK_SET) };
        }
    }

    fn line(&mut self, op: u8, id: u32, size: Option<usize>) {
        if self.len + 48 > self.buf.len() {
            self.flush();
        }
        let b = &mut self.buf[self.len..];
        b[0] = op;
        b[1] = b' ';
        let mut n = 2 + decimal(u64::from(id), &mut b[2..]);
        if let Some(size) = size {
            b[n] = b' ';
            n += 1 + decimal(size as u64, &mut b[n + 1..]);
        }
        b[n] = b'\n';
        self.len += n + 1;
        self.ops += 1;
    }

    /// An allocation of `size` bytes at `p`.
    pub fn alloc(&mut self, p: *mut u8, size: usize) {
        if let Some(id) = self.ids.insert(p as usize) {
            self.line(b'a', id, Some(size));
        }
    }

    /// A free of `p` (ignored when unknown).
    pub fn free(&mut self, p: *mut u8) {
        if let Some(id) = self.ids.remove(p as usize) {
            self.line(b'f', id, None);
        }
    }

    /// A realloc of `old` to `size` bytes, now at `new`.
    pub fn realloc(&mut self, old: *mut u8, new: *mut u8, size: usize) {
        match self.ids.rekey(old as usize, new as usize) {
            Some(id) => self.line(b'r', id, Some(size)),
            None => self.alloc(new, size),
        }
    }

    /// Writes out the buffered lines.
    pub fn flush(&mut self) {
        let mut at = 0;
        while at < self.len {
            // SAFETY: the buffer's first `len` bytes are written text.
            let n = unsafe { libc::write(self.fd, self.buf[at..self.len].as_ptr().cast(), self.len - at) };
            if n <= 0 {
                break;
            }
            at += n as usize;
        }
        self.len = 0;
    }

    /// Flushes and rewrites the header with the final counts.
    pub fn finish(&mut self) {
        if !self.active() {
            return;
        }
        self.flush();
        self.header();
        // SAFETY: the recorder's own fd, closed once (then inactive).
        unsafe { libc::close(self.fd) };
        self.fd = -1;
    }

    /// In a child made by `fork` (sharing the parent's file): stop, writing nothing.
    pub fn abandon(&mut self) {
        if self.active() {
            // SAFETY: the child's copy of the fd; the parent keeps its own.
            unsafe { libc::close(self.fd) };
        }
        self.fd = -1;
        self.len = 0;
    }
}

/// Writes `v` in decimal at the start of `out`; the digits written.
fn decimal(mut v: u64, out: &mut [u8]) -> usize {
    let mut tmp = [0u8; 20];
    let mut n = 0;
    loop {
        tmp[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for i in 0..n {
        out[i] = tmp[n - 1 - i];
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_smallest_free_and_follow_their_block() {
        let mut ids = Ids::new();
        let a: Vec<u32> = (1..=5000usize).map(|k| ids.insert(k * 16).unwrap()).collect();
        assert_eq!(a, (0..5000).collect::<Vec<u32>>());
        assert_eq!((ids.remove(16 * 300), ids.remove(16 * 7), ids.remove(16 * 7)), (Some(299), Some(6), None));
        assert_eq!(ids.insert(99_999_984), Some(6), "the smallest free id first");
        assert_eq!(ids.insert(99_999_968), Some(299));
        assert_eq!(ids.insert(99_999_952), Some(5000), "then a new one");
        assert_eq!(ids.remove(16 * 4000), Some(3999), "found after rehashes and tombstones");
        assert_eq!(ids.remove(12345), None, "an address never handed out");
        assert_eq!(ids.rekey(16 * 5, 7), Some(4), "a moved block keeps its id");
        assert_eq!((ids.remove(16 * 5), ids.remove(7)), (None, Some(4)));
    }

    #[test]
    fn writes_a_trace_the_reader_accepts_with_the_final_header() {
        let dir = std::env::temp_dir().join(format!("heaplab-preload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.rep");
        let _ = std::fs::remove_file(&path);
        let mut c = path.to_str().unwrap().as_bytes().to_vec();
        c.push(0);
        let mut r = Box::new(Recorder::new());
        assert!(r.open(&c));
        let (p, q) = (0x1000 as *mut u8, 0x2000 as *mut u8);
        r.alloc(p, 24);
        r.alloc(q, 0);
        r.realloc(p, 0x3000 as *mut u8, 100);
        r.free(0x9999 as *mut u8);
        r.free(q);
        r.free(0x3000 as *mut u8);
        r.finish();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("a 0 24\na 1 0\nr 0 100\nf 1\nf 0\n"), "{text}");
        let lines: Vec<&str> = text.lines().take(2).map(str::trim).collect();
        assert_eq!(lines, ["2", "5"]);
        // A second process finding the file there writes FILE.PID.
        let mut other = Box::new(Recorder::new());
        assert!(other.open(&c));
        other.finish();
        assert!(dir.join(format!("t.rep.{}", std::process::id())).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
