//! The malloc-lab trace reader (`heaplab::trace`) on arbitrary bytes: it
//! never panics; an error names a line inside the text; a valid trace
//! round-trips (written back and read again, the same header and
//! operations); the lifecycle check only ever rejects what the syntax check
//! accepted, and accepted operations obey the id lifecycle.
#![no_main]

use heaplab_trace::{HeaderKind, Op, Reason, Trace, MAX_REQUEST};
use libfuzzer_sys::fuzz_target;

fn run(data: &[u8]) {
    let lines = 1 + data.iter().filter(|&&c| c == b'\n').count();
    let mut scratch = vec![0xAAu8; 4096];
    let checked = Trace::parse_checked(data, &mut scratch);
    let t = match Trace::parse(data) {
        Ok(t) => t,
        Err(e) => {
            assert!(e.line >= 1 && e.line <= lines, "error line {} outside 1..={lines}: {e}", e.line);
            assert!(!e.to_string().is_empty());
            let c = checked.expect_err("parse_checked accepted what parse rejected");
            // The same error, or a lifecycle error met first while scanning
            // (an operation count that falls short is only known at the end
            // and is reported at the header's line).
            let lifecycle = matches!(
                c.reason,
                Reason::AllocWhileLive { .. }
                    | Reason::ReallocBeforeAlloc { .. }
                    | Reason::ReallocAfterFree { .. }
                    | Reason::FreeBeforeAlloc { .. }
                    | Reason::DoubleFree { .. }
                    | Reason::ScratchTooSmall { .. }
            );
            let at_end = matches!(e.reason, Reason::FewerOpsThanDeclared { .. });
            assert!(c == e || (lifecycle && (c.line < e.line || at_end)), "parse_checked: {c}, parse: {e}");
            return;
        }
    };
    let h = t.header;
    assert_eq!(h.kind == HeaderKind::Classic, h.heap_size.is_some() && h.weight.is_some());
    let ops: Vec<(usize, Op)> = t.ops().collect();
    assert_eq!(ops.len(), h.ops, "operation count");
    let mut last = 0;
    for &(line, op) in &ops {
        assert!(line > last && line <= lines, "lines increase inside the text");
        last = line;
        let (id, size) = match op {
            Op::Alloc { id, size } | Op::Realloc { id, size } => (id, size),
            Op::Free { id } => (id, 0),
        };
        assert!(id < h.ids && size <= MAX_REQUEST);
    }
    // The lifecycle, replayed here: parse_checked must agree.
    if h.ids <= scratch.len() {
        let mut state = vec![0u8; h.ids];
        let mut first_bad = None;
        for &(line, op) in &ops {
            let ok = match op {
                Op::Alloc { id, .. } => std::mem::replace(&mut state[id], 1) != 1,
                // `realloc(p, 0)` frees p, as glibc's.
                Op::Realloc { id, size } => state[id] == 1 && (size != 0 || std::mem::replace(&mut state[id], 2) == 1),
                Op::Free { id } => std::mem::replace(&mut state[id], 2) == 1,
            };
            if !ok {
                first_bad = Some(line);
                break;
            }
        }
        match (&checked, first_bad) {
            (Ok(_), None) => {}
            (Err(e), Some(line)) => assert_eq!(e.line, line, "{e}"),
            (c, b) => panic!("lifecycle disagreement: {c:?} vs first bad line {b:?}"),
        }
    }
    // Round trip.
    let mut out = String::new();
    t.write_rep(&mut out).unwrap();
    let u = Trace::parse(out.as_bytes()).unwrap_or_else(|e| panic!("written trace does not parse: {e}\n{out}"));
    assert_eq!(u.header, h);
    assert!(u.ops().map(|(_, o)| o).eq(ops.iter().map(|&(_, o)| o)), "round trip changed the operations");
}

fuzz_target!(|data: &[u8]| run(data));
