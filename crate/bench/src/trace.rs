//! malloc-lab `.rep` traces, read with the core's no_std reader
//! ([`heaplab::trace`]) and expanded once into a vector, so that replays
//! time the allocators and not the parsing.

pub use heaplab_trace::Op;

/// A parsed trace.
pub struct Trace {
    pub name: String,
    /// Number of distinct ids (every id is below it).
    pub ids: usize,
    pub ops: Vec<Op>,
}

/// Every `.rep` trace in `dir`, sorted by name; traces that fail to parse
/// are reported on stderr and skipped.
pub fn load_dir(dir: &std::path::Path) -> Vec<Trace> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "rep")).collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            let text = std::fs::read(p).ok()?;
            match heaplab_trace::Trace::parse(&text) {
                Ok(t) => Some(Trace { name, ids: t.header.ids, ops: t.ops().map(|(_line, op)| op).collect() }),
                Err(e) => {
                    eprintln!("skipping trace {name}: {e}");
                    None
                }
            }
        })
        .collect()
}
