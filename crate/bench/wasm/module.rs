// Shared body of every wasm benchmark module, `include!`d by each one after
// it declares its `#[global_allocator]`. Without the `size` feature it
// exports the random-actions workload (the same actions as the native
// benchmark: `start(seed, max)`, then `run(n)` repeatedly, then `finish()`);
// with it, only `minimal(n)`, for code size.

// Every module links std alike (with panic = "abort"), as a Rust program
// that picks a global allocator does, so the sizes differ only by allocator.
extern crate alloc;

#[cfg(feature = "size")]
mod minimal {
    use alloc::{boxed::Box, vec, vec::Vec};

    /// Allocates a growing Vec and a boxed slice; returns a checksum.
    #[no_mangle]
    pub extern "C" fn minimal(n: u32) -> u32 {
        let mut v: Vec<u32> = Vec::new();
        for i in 0..n {
            v.push(i);
        }
        let b: Box<[u8]> = vec![7u8; n as usize].into_boxed_slice();
        v.iter().fold(0u32, |a, x| a.wrapping_add(*x)).wrapping_add(b.iter().map(|&x| u32::from(x)).sum::<u32>())
    }
}

#[cfg(not(feature = "size"))]
mod workload {
    use alloc::alloc::{alloc, dealloc, realloc, Layout};
    use alloc::vec::Vec;

    include!("../src/rng.rs");

    struct Live {
        ptr: *mut u8,
        size: usize,
        align: usize,
    }

    struct State {
        rng: Rng,
        max: usize,
        live: Vec<Live>,
    }

    static mut STATE: Option<State> = None;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    /// Begins a run: actions drawn from `seed`, sizes up to `max` bytes.
    #[no_mangle]
    pub extern "C" fn start(seed: u32, max: u32) {
        finish();
        // SAFETY: wasm32 without threads: nothing else touches STATE.
        unsafe { *core::ptr::addr_of_mut!(STATE) = Some(State { rng: Rng::new(u64::from(seed)), max: max as usize, live: Vec::with_capacity(1 << 16) }) };
    }

    /// `n` random actions (1/7 realloc, 3/7 free, 3/7 alloc; always alloc
    /// below 300 live allocations); returns how many succeeded.
    #[no_mangle]
    pub extern "C" fn run(n: u32) -> u32 {
        // SAFETY: as in `start`.
        let Some(s) = (unsafe { (*core::ptr::addr_of_mut!(STATE)).as_mut() }) else { return 0 };
        let mut done = 0;
        for _ in 0..n {
            let action = s.rng.range(0, 7);
            if action == 6 {
                if s.live.is_empty() {
                    continue;
                }
                let i = s.rng.range(0, s.live.len());
                let new_size = s.rng.range(1, s.max * 3);
                let l = &mut s.live[i];
                // SAFETY: `l` is live with this layout.
                let p = unsafe { realloc(l.ptr, layout(l.size, l.align), new_size) };
                if !p.is_null() {
                    (l.ptr, l.size) = (p, new_size);
                    done += 1;
                }
            } else if action < 3 || s.live.len() < 300 {
                let (size, align) = (s.rng.size(s.max), s.rng.align());
                // SAFETY: non-zero size.
                let p = unsafe { alloc(layout(size, align)) };
                if !p.is_null() {
                    s.live.push(Live { ptr: p, size, align });
                    done += 1;
                }
            } else {
                let i = s.rng.range(0, s.live.len());
                let l = s.live.swap_remove(i);
                // SAFETY: `l` was live with this layout.
                unsafe { dealloc(l.ptr, layout(l.size, l.align)) };
                done += 1;
            }
        }
        done
    }

    /// Frees everything still live.
    #[no_mangle]
    pub extern "C" fn finish() {
        // SAFETY: as in `start`.
        if let Some(s) = unsafe { (*core::ptr::addr_of_mut!(STATE)).take() } {
            for l in s.live {
                // SAFETY: `l` is live with this layout.
                unsafe { dealloc(l.ptr, layout(l.size, l.align)) };
            }
        }
    }
}
