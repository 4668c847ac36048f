//! Segregated fit looks at the first few blocks of the size class it takes
//! from (the request's own, or the class above) and takes the closest that
//! holds the request, not the newest: an exact fit a little way down the
//! list is reused, and the bigger block at the head is kept whole (on both faces of the engine; the size build, feature
//! `small`, takes the first block of the class that holds the request).

use crate::common::Region;
use crate::wilderness::{Face, checked, lean};
use heaplab::policy::Segregated;

/// Two holes of one size class, [1024, 1088): one of 1,072 bytes (freed
/// last, so at the head of the class's list) and one of 1,040, each
/// behind a fence; a request of 1,040 bytes takes the second.
fn takes_the_closest_of_the_class(h: &mut dyn Face, name: &str) {
    let exact = h.alloc(1_032); // a block of 1,040 bytes with its header
    h.alloc(24);
    let bigger = h.alloc(1_064); // 1,072 bytes
    h.alloc(24);
    h.free(exact, 1_032);
    h.free(bigger, 1_064);
    h.check();
    let p = h.alloc(1_032);
    assert_eq!(p, exact, "{name}: the exact hole, not the newest of the class");
    let q = h.alloc(1_064);
    assert_eq!(q, bigger, "{name}: the bigger hole stayed whole for the bigger request");
    h.check();
}

#[test]
#[cfg(not(feature = "small"))]
fn the_closest_block_of_the_own_class_is_taken() {
    takes_the_closest_of_the_class(&mut checked::<Segregated>().heap, "checked segregated fit");
    let r = Region::new(1 << 20);
    takes_the_closest_of_the_class(&mut lean::<Segregated>(&r), "lean segregated fit");
}

/// The same two holes; a request of 1,000 bytes (a block of 1,008, class
/// [992, 1024), empty) is served from the class above: by the closer hole.
#[cfg(not(feature = "small"))]
fn takes_the_closest_of_the_class_above(h: &mut dyn Face, name: &str) {
    let exact = h.alloc(1_032);
    h.alloc(24);
    let bigger = h.alloc(1_064);
    h.alloc(24);
    h.free(exact, 1_032);
    h.free(bigger, 1_064);
    let p = h.alloc(1_000);
    assert_eq!(p, exact, "{name}: the closer hole of the class above, not its head");
    h.check();
}

#[test]
#[cfg(not(feature = "small"))]
fn the_closest_block_of_the_class_above_is_taken() {
    takes_the_closest_of_the_class_above(&mut checked::<Segregated>().heap, "checked segregated fit");
    let r = Region::new(1 << 20);
    takes_the_closest_of_the_class_above(&mut lean::<Segregated>(&r), "lean segregated fit");
}
