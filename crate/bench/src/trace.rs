//! malloc-lab `.rep` traces: a header of numbers, one a line (2 numbers:
//! ids and operations; or 4: suggested heap size, ids, operations, weight),
//! then `a id size`, `r id size`, `f id`, one a line.

/// One trace operation.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    Alloc(usize, usize),
    Realloc(usize, usize),
    Free(usize),
}

/// A parsed trace.
pub struct Trace {
    pub name: String,
    /// Number of distinct ids (every id is below it).
    pub ids: usize,
    pub ops: Vec<Op>,
}

/// Parses a `.rep` trace; the error names the line.
pub fn parse(name: &str, text: &str) -> Result<Trace, String> {
    let mut header = Vec::new();
    let mut ops = Vec::new();
    let mut max_id = 0usize;
    for (i, line) in text.lines().enumerate() {
        let err = |why: &str| format!("{name}:{}: {why}", i + 1);
        let mut f = line.split_whitespace();
        let Some(first) = f.next() else { continue };
        let num = |s: Option<&str>| -> Result<usize, String> { s.ok_or_else(|| err("missing field"))?.parse().map_err(|_| err("not a number")) };
        let op = match first {
            "a" => Op::Alloc(num(f.next())?, num(f.next())?),
            "r" => Op::Realloc(num(f.next())?, num(f.next())?),
            "f" => Op::Free(num(f.next())?),
            n if ops.is_empty() => {
                header.push(n.parse::<usize>().map_err(|_| err("bad header number"))?);
                continue;
            }
            _ => return Err(err("unknown operation")),
        };
        if f.next().is_some() {
            return Err(err("extra field"));
        }
        let (Op::Alloc(id, _) | Op::Realloc(id, _) | Op::Free(id)) = op;
        max_id = max_id.max(id);
        ops.push(op);
    }
    if header.len() != 2 && header.len() != 4 {
        return Err(format!("{name}: expected a header of 2 or 4 numbers"));
    }
    Ok(Trace { name: name.to_string(), ids: max_id + 1, ops })
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
            let text = std::fs::read_to_string(p).ok()?;
            parse(&name, &text).map_err(|e| eprintln!("skipping trace: {e}")).ok()
        })
        .collect()
}
