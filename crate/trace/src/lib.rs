//! A strict reader for CS:APP malloc-lab traces (`.rep`), without allocating.
//!
//! ```text
//! 20000      classic header (4 lines): suggested heap size (unused),
//! 6          number of ids,
//! 12         number of operations,
//! 1          weight (unused)
//! a 0 2040   id 0 = malloc(2040)
//! r 0 4000   id 0 = realloc(id 0, 4000)
//! f 0        free(id 0)
//! ```
//!
//! The short header (2 lines) holds only the number of ids and the number of
//! operations. Both are accepted. This is Heaplab's only `.rep` reader: the
//! bench, a fuzz target and the wasm API use it, and through the wasm API so
//! do the playground, the compare page and the embed (`web/src/trace.js`).
//! The rules: blank lines, spaces, tabs, CR before LF and a UTF-8 byte-order
//! mark are allowed; `#` starts a comment that runs to the end of its line;
//! numbers are plain decimal digits (no sign, fraction or exponent); ids lie
//! below the declared number of ids; requests are at most [`MAX_REQUEST`]
//! bytes; the header declares at most [`MAX_COUNT`] ids and operations, and
//! the trace holds exactly the declared number of operations; the text is at
//! most [`MAX_TEXT`] bytes. Input that is not UTF-8 text (or holds U+FFFD,
//! what a decoder leaves of bytes that were not), or holds NUL or other
//! control characters, is rejected as binary at its line.
//!
//! Every error is a [`TraceError`]: the 1-based line of the first bad line and
//! the [`Reason`], whose message quotes the field at fault and, for an id
//! used out of turn, the line that allocated or freed it before.
//! [`Trace::parse`] checks the syntax; [`Trace::parse_checked`] also checks
//! each id's lifecycle (no free or realloc unless live, no malloc while live)
//! in a caller-provided scratch buffer of one byte per id ([`Header::read`]
//! says how many), so nothing is allocated.
//!
//! ```
//! use heaplab_trace::{Op, Reason, Trace};
//!
//! let t = Trace::parse(b"2\n3\na 0 24\nr 0 48\nf 0\n").unwrap();
//! assert_eq!(t.header.ids, 2);
//! let ops: Vec<_> = t.ops().collect();
//! assert_eq!(ops[1], (4, Op::Realloc { id: 0, size: 48 }));
//!
//! let e = Trace::parse_checked(b"2\n1\nf 1\n", &mut [0; 2]).unwrap_err();
//! assert_eq!((e.line, e.reason), (3, Reason::FreeBeforeAlloc { id: 1 }));
//! assert_eq!(e.to_string(), "line 3: id 1 freed before it was allocated");
//!
//! let e = Trace::parse_checked(b"2\n3\na 0 8\nf 0\nf 0\n", &mut [0; 2]).unwrap_err();
//! assert_eq!(e.to_string(), "line 5: id 0 freed twice (first freed at line 4)");
//! ```

#![no_std]
#![warn(missing_docs)]

use core::fmt;

/// Most ids, and most operations, a header may declare.
pub const MAX_COUNT: usize = 2_000_000;
/// Largest request size in bytes (2^31).
pub const MAX_REQUEST: usize = 1 << 31;
/// Largest trace text in bytes (64 MiB).
pub const MAX_TEXT: usize = 64 << 20;

/// Which header a trace has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderKind {
    /// 4 numbers: suggested heap size, ids, operations, weight.
    Classic,
    /// 2 numbers: ids, operations.
    Short,
}

/// The header of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Which variant.
    pub kind: HeaderKind,
    /// Suggested heap size (classic only; unused by drivers).
    pub heap_size: Option<u64>,
    /// Number of ids: every id is below it.
    pub ids: usize,
    /// Number of operations.
    pub ops: usize,
    /// Weight (classic only; unused by drivers).
    pub weight: Option<u64>,
}

/// One operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `a id size`: id = malloc(size).
    Alloc {
        /// The id.
        id: usize,
        /// Bytes requested.
        size: usize,
    },
    /// `r id size`: id = realloc(id, size).
    Realloc {
        /// The id.
        id: usize,
        /// New size in bytes.
        size: usize,
    },
    /// `f id`: free(id).
    Free {
        /// The id.
        id: usize,
    },
}

/// Which number of a line is at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// A number of the header.
    HeaderNumber,
    /// The id of an operation.
    Id,
    /// The size of `a` or `r`.
    Size,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::HeaderNumber => "header number",
            Field::Id => "id",
            Field::Size => "size",
        })
    }
}

/// The text of a field, as an error message quotes it: its first
/// [`Token::MAX`] bytes (cut at a character boundary; shown with `...` when
/// cut). A copy, so that a [`Reason`] borrows nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token {
    bytes: [u8; Token::MAX],
    len: u8,
    cut: bool,
}

impl Token {
    /// Most bytes kept.
    pub const MAX: usize = 40;

    /// A copy of `field`, which is UTF-8 (every line is checked before its fields are read).
    fn new(field: &[u8]) -> Token {
        let mut len = field.len().min(Token::MAX);
        while len < field.len() && len > 0 && field[len] & 0xC0 == 0x80 {
            len -= 1; // not inside a character
        }
        let mut bytes = [0; Token::MAX];
        bytes[..len].copy_from_slice(&field[..len]);
        Token { bytes, len: len as u8, cut: len < field.len() }
    }

    /// The text kept.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        if self.cut {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({:?}{})", self.as_str(), if self.cut { "..." } else { "" })
    }
}

/// Why a trace is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No header and no operation (reported at line 1).
    Empty,
    /// An operation before any header number.
    MissingHeader,
    /// A header line with this many fields (one number a line expected).
    HeaderFields(usize),
    /// A header of this many numbers (2 or 4 expected; 5 stands for more than 4).
    HeaderLength(usize),
    /// A field that should be a number is not plain decimal digits.
    NotANumber {
        /// Which number.
        field: Field,
        /// What stands there.
        text: Token,
    },
    /// A number with a minus sign.
    Negative {
        /// Which number.
        field: Field,
        /// What stands there, sign included.
        text: Token,
    },
    /// A number above its limit: [`MAX_REQUEST`] for a size, 2^64 - 1 for the rest.
    TooLarge {
        /// Which number.
        field: Field,
        /// What stands there.
        text: Token,
        /// The largest allowed.
        limit: u64,
    },
    /// The header declares more ids than [`MAX_COUNT`].
    TooManyIds(u64),
    /// The header declares more operations than [`MAX_COUNT`].
    TooManyOps(u64),
    /// A line that is not `a`, `r` or `f` followed by numbers: its first field.
    UnknownOp(Token),
    /// An operation with the wrong number of fields.
    FieldCount {
        /// The operation letter.
        op: char,
        /// Fields found (including the letter).
        found: usize,
    },
    /// An id not below the declared number of ids.
    IdOutOfRange {
        /// The id.
        id: u64,
        /// The declared number of ids.
        ids: usize,
    },
    /// More operations than the header declares.
    MoreOpsThanDeclared {
        /// Declared by the header.
        declared: usize,
        /// Line of the header's operation count.
        line: usize,
    },
    /// Fewer operations than the header declares (reported at the header's
    /// operation-count line).
    FewerOpsThanDeclared {
        /// Declared by the header.
        declared: usize,
        /// Found in the trace.
        found: usize,
    },
    /// A NUL byte: binary data.
    Nul,
    /// Bytes that are not UTF-8, or U+FFFD: binary data.
    InvalidUtf8,
    /// A control character other than tab and CR.
    ControlChar(u8),
    /// A text of this many bytes, above [`MAX_TEXT`] (reported at line 1).
    TextTooLarge(usize),
    /// `a` of an id that is live.
    AllocWhileLive {
        /// The id.
        id: usize,
        /// The line that allocated it.
        since: usize,
    },
    /// `r` of an id never allocated.
    ReallocBeforeAlloc {
        /// The id.
        id: usize,
    },
    /// `r` of a freed id.
    ReallocAfterFree {
        /// The id.
        id: usize,
        /// The line that freed it.
        since: usize,
    },
    /// `f` of an id never allocated.
    FreeBeforeAlloc {
        /// The id.
        id: usize,
    },
    /// `f` of a freed id.
    DoubleFree {
        /// The id.
        id: usize,
        /// The line that freed it first.
        since: usize,
    },
    /// [`Trace::parse_checked`] got a scratch buffer shorter than the number
    /// of ids (reported at the header's id-count line).
    ScratchTooSmall {
        /// Bytes needed (one per id).
        needed: usize,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HELP: &str = "expected 2 numbers (ids, operations) or 4 (heap size, ids, operations, weight), one a line";
        match *self {
            Reason::Empty => write!(f, "empty trace: missing header"),
            Reason::MissingHeader => write!(f, "missing header: expected the number of ids and the number of operations before the first operation"),
            Reason::HeaderFields(n) => write!(f, "header line holds {n} fields; {HELP}"),
            Reason::HeaderLength(n) if n > 4 => write!(f, "header has more than 4 numbers; {HELP}"),
            Reason::HeaderLength(n) => write!(f, "header has {n} numbers; {HELP}"),
            Reason::NotANumber { field, text } => write!(f, "{field} '{text}' is not a non-negative integer"),
            Reason::Negative { field, text } => write!(f, "negative {field} {text}"),
            Reason::TooLarge { field, text, limit } => write!(f, "{field} {text} is above the limit of {limit}"),
            Reason::TooManyIds(n) => write!(f, "header declares {n} ids, above the limit of {MAX_COUNT}"),
            Reason::TooManyOps(n) => write!(f, "header declares {n} operations, above the limit of {MAX_COUNT}"),
            Reason::UnknownOp(text) => write!(f, "unknown operation '{text}' (expected a, f or r)"),
            Reason::FieldCount { op, found } => {
                let (usage, want) = if op == 'f' { ("'f id'", 2) } else if op == 'a' { ("'a id size'", 3) } else { ("'r id size'", 3) };
                write!(f, "{usage} takes {want} fields, found {found}")
            }
            Reason::IdOutOfRange { id, ids } => write!(f, "id {id} is not below the declared number of ids ({ids})"),
            Reason::MoreOpsThanDeclared { declared, line } => write!(f, "more operations than the {declared} declared in the header (line {line})"),
            Reason::FewerOpsThanDeclared { declared, found } => write!(f, "header declares {declared} operations but the trace has {found}"),
            Reason::Nul => write!(f, "binary data (NUL byte), not a text trace"),
            Reason::InvalidUtf8 => write!(f, "binary data (invalid UTF-8), not a text trace"),
            Reason::ControlChar(c) => write!(f, "unexpected control character U+{c:04X}"),
            Reason::TextTooLarge(n) => write!(f, "trace is {n} bytes, above the limit of {MAX_TEXT}"),
            Reason::AllocWhileLive { id, since } => write!(f, "id {id} allocated while still live (allocated at line {since})"),
            Reason::ReallocBeforeAlloc { id } => write!(f, "id {id} reallocated before it was allocated"),
            Reason::ReallocAfterFree { id, since } => write!(f, "id {id} reallocated after it was freed (at line {since})"),
            Reason::FreeBeforeAlloc { id } => write!(f, "id {id} freed before it was allocated"),
            Reason::DoubleFree { id, since } => write!(f, "id {id} freed twice (first freed at line {since})"),
            Reason::ScratchTooSmall { needed } => write!(f, "lifecycle check needs {needed} bytes of scratch (one per id)"),
        }
    }
}

/// A malformed trace: the first bad line (1-based) and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong there.
    pub reason: Reason,
}

impl TraceError {
    /// Stable code, as the JS API reports it: `malformed-trace`.
    pub const fn code(&self) -> &'static str {
        "malformed-trace"
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

fn err<T>(line: usize, reason: Reason) -> Result<T, TraceError> {
    Err(TraceError { line, reason })
}

/// Up to 4 fields of a line (more are only counted).
#[derive(Clone, Copy)]
struct Fields<'a> {
    f: [&'a [u8]; 4],
    n: usize,
}

/// Splits `line` at spaces, tabs and CRs, stopping at `#`.
fn fields(line: &[u8], no: usize) -> Result<Fields<'_>, TraceError> {
    let mut out = Fields { f: [&[]; 4], n: 0 };
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        if c == b' ' || c == b'\t' || c == b'\r' {
            i += 1;
            continue;
        }
        if c == b'#' {
            break;
        }
        let start = i;
        while i < line.len() && !matches!(line[i], b' ' | b'\t' | b'\r' | b'#') {
            match line[i] {
                0 => return err(no, Reason::Nul),
                c @ (1..=31 | 127) => return err(no, Reason::ControlChar(c)),
                _ => i += 1,
            }
        }
        if out.n < 4 {
            out.f[out.n] = &line[start..i];
        }
        out.n += 1;
    }
    Ok(out)
}

/// Whether `line`, which holds a byte above 0x7F, is UTF-8 without U+FFFD.
fn clean_utf8(line: &[u8]) -> bool {
    core::str::from_utf8(line).is_ok() && !line.windows(3).any(|w| w == "\u{FFFD}".as_bytes())
}

/// A plain decimal number in `[0, limit]`; `field` names it in the error.
fn number(text: &[u8], field: Field, limit: u64, no: usize) -> Result<u64, TraceError> {
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !digits(text) {
        let token = Token::new(text);
        return match text {
            [b'-', rest @ ..] if digits(rest) => err(no, Reason::Negative { field, text: token }),
            _ => err(no, Reason::NotANumber { field, text: token }),
        };
    }
    let mut v: u64 = 0;
    for &c in text {
        match v.checked_mul(10).and_then(|v| v.checked_add(u64::from(c - b'0'))) {
            Some(next) if next <= limit => v = next,
            _ => return err(no, Reason::TooLarge { field, text: Token::new(text), limit }),
        }
    }
    Ok(v)
}

/// The non-empty lines of `text` from byte `at`, numbered from `no`.
#[derive(Clone)]
struct Lines<'a> {
    text: &'a [u8],
    at: usize,
    no: usize,
}

impl<'a> Lines<'a> {
    /// The next line with at least one field: `(line number, byte offset, fields)`.
    fn next_fields(&mut self) -> Option<Result<(usize, usize, Fields<'a>), TraceError>> {
        while self.at < self.text.len() {
            let start = self.at;
            let mut end = start;
            let mut high = 0;
            while end < self.text.len() && self.text[end] != b'\n' {
                high |= self.text[end];
                end += 1;
            }
            self.at = end + 1;
            self.no += 1;
            let line = &self.text[start..end];
            if high >= 0x80 && !clean_utf8(line) {
                return Some(err(self.no, Reason::InvalidUtf8));
            }
            match fields(line, self.no) {
                Ok(f) if f.n == 0 => continue,
                Ok(f) => return Some(Ok((self.no, start, f))),
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }
}

/// Reads one operation line (already known to start with a letter). With
/// `full`, `(declared, line)` of a header whose operations were all read: a
/// well-formed operation there is one too many.
fn operation(f: &Fields<'_>, no: usize, ids: usize, full: Option<(usize, usize)>) -> Result<Op, TraceError> {
    let op = match f.f[0] {
        [c @ (b'a' | b'r' | b'f')] => *c as char,
        other => return err(no, Reason::UnknownOp(Token::new(other))),
    };
    let want = if op == 'f' { 2 } else { 3 };
    if f.n != want {
        return err(no, Reason::FieldCount { op, found: f.n });
    }
    if let Some((declared, line)) = full {
        return err(no, Reason::MoreOpsThanDeclared { declared, line });
    }
    let id = number(f.f[1], Field::Id, u64::MAX, no)?;
    if id >= ids as u64 {
        return err(no, Reason::IdOutOfRange { id, ids });
    }
    let id = id as usize;
    if op == 'f' {
        return Ok(Op::Free { id });
    }
    let size = number(f.f[2], Field::Size, MAX_REQUEST as u64, no)? as usize;
    Ok(if op == 'a' { Op::Alloc { id, size } } else { Op::Realloc { id, size } })
}

/// What reading the header finds.
struct Head<'a> {
    header: Header,
    /// The text without its byte-order mark.
    text: &'a [u8],
    /// Byte offset and line number of the first operation line.
    body: usize,
    body_no: usize,
    /// Lines of the header's id count and operation count.
    ids_line: usize,
    ops_line: usize,
}

/// Reads the header: lines of one number, until a line starting with a letter.
fn head(text: &[u8]) -> Result<Head<'_>, TraceError> {
    if text.len() > MAX_TEXT {
        return err(1, Reason::TextTooLarge(text.len()));
    }
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let mut lines = Lines { text, at: 0, no: 0 };
    let mut nums = [(0u64, 0usize); 4];
    let mut n = 0;
    let mut first_op = None;
    while let Some(l) = lines.next_fields() {
        let (no, at, f) = l?;
        if f.f[0][0].is_ascii_alphabetic() {
            first_op = Some((no, at));
            break;
        }
        if f.n != 1 {
            return err(no, Reason::HeaderFields(f.n));
        }
        if n == 4 {
            return err(no, Reason::HeaderLength(5));
        }
        nums[n] = (number(f.f[0], Field::HeaderNumber, u64::MAX, no)?, no);
        n += 1;
    }
    if n == 0 {
        return match first_op {
            Some((no, _)) => err(no, Reason::MissingHeader),
            None => err(1, Reason::Empty),
        };
    }
    if n != 2 && n != 4 {
        return err(nums[n - 1].1, Reason::HeaderLength(n));
    }
    let (ids, ops) = if n == 4 { (nums[1], nums[2]) } else { (nums[0], nums[1]) };
    if ids.0 > MAX_COUNT as u64 {
        return err(ids.1, Reason::TooManyIds(ids.0));
    }
    if ops.0 > MAX_COUNT as u64 {
        return err(ops.1, Reason::TooManyOps(ops.0));
    }
    let header = Header {
        kind: if n == 4 { HeaderKind::Classic } else { HeaderKind::Short },
        heap_size: (n == 4).then_some(nums[0].0),
        ids: ids.0 as usize,
        ops: ops.0 as usize,
        weight: (n == 4).then_some(nums[3].0),
    };
    let (body_no, body) = first_op.unwrap_or((lines.no + 1, text.len()));
    Ok(Head { header, text, body, body_no, ids_line: ids.1, ops_line: ops.1 })
}

impl Header {
    /// Reads only the header of a trace (to size the scratch of
    /// [`Trace::parse_checked`]).
    ///
    /// # Errors
    /// Those of [`Trace::parse`] met in the header.
    pub fn read(text: &[u8]) -> Result<Header, TraceError> {
        head(text).map(|h| h.header)
    }
}

/// A parsed trace: its header, and its operations read on demand from the
/// text (already validated, so [`Trace::ops`] cannot fail).
#[derive(Clone, Debug)]
pub struct Trace<'a> {
    /// The header.
    pub header: Header,
    text: &'a [u8],
    /// Byte offset and line number (0-based count of lines before it) of the
    /// first operation line.
    body: usize,
    body_lines: usize,
    /// Line of the header's operation count (for "fewer operations").
    ops_line: usize,
}

impl<'a> Trace<'a> {
    /// Reads and validates a trace (syntax, header, ids in range, sizes,
    /// operation count). See the module docs for the rules.
    ///
    /// # Errors
    /// The first bad line and why.
    pub fn parse(text: &'a [u8]) -> Result<Self, TraceError> {
        Self::parse_inner(text, None)
    }

    /// As [`Trace::parse`], and also checks each id's lifecycle in `scratch`
    /// (one byte per id; its contents on entry do not matter).
    ///
    /// # Errors
    /// As [`Trace::parse`]; [`Reason::AllocWhileLive`] and the other
    /// lifecycle reasons; [`Reason::ScratchTooSmall`] when `scratch` is
    /// shorter than the number of ids.
    pub fn parse_checked(text: &'a [u8], scratch: &mut [u8]) -> Result<Self, TraceError> {
        Self::parse_inner(text, Some(scratch))
    }

    fn parse_inner(text: &'a [u8], mut scratch: Option<&mut [u8]>) -> Result<Self, TraceError> {
        let Head { header, text, body, body_no, ids_line, ops_line } = head(text)?;
        if let Some(s) = scratch.as_deref_mut() {
            if s.len() < header.ids {
                return err(ids_line, Reason::ScratchTooSmall { needed: header.ids });
            }
            s[..header.ids].fill(NEVER);
        }
        let trace = Trace { header, text, body, body_lines: body_no - 1, ops_line };
        // The operations.
        let mut lines = Lines { text, at: body, no: body_no - 1 };
        let mut count = 0;
        while let Some(l) = lines.next_fields() {
            let (no, _, f) = l?;
            let full = (count == header.ops).then_some((header.ops, ops_line));
            let op = operation(&f, no, header.ids, full)?;
            count += 1;
            if let Some(s) = scratch.as_deref_mut() {
                lifecycle(s, op, no).map_err(|e| trace.since(e))?;
            }
        }
        if count != header.ops {
            return err(ops_line, Reason::FewerOpsThanDeclared { declared: header.ops, found: count });
        }
        Ok(trace)
    }

    /// Fills in the line a lifecycle error refers back to: the last
    /// allocation (or free) of its id before the error's line.
    fn since(&self, mut e: TraceError) -> TraceError {
        let (id, of_free) = match e.reason {
            Reason::AllocWhileLive { id, .. } => (id, false),
            Reason::ReallocAfterFree { id, .. } | Reason::DoubleFree { id, .. } => (id, true),
            _ => return e,
        };
        let mut last = 0;
        for (no, op) in self.ops().take_while(|&(no, _)| no < e.line) {
            match op {
                Op::Alloc { id: i, .. } if i == id && !of_free => last = no,
                Op::Free { id: i } | Op::Realloc { id: i, size: 0 } if i == id && of_free => last = no,
                _ => {}
            }
        }
        match &mut e.reason {
            Reason::AllocWhileLive { since, .. } | Reason::ReallocAfterFree { since, .. } | Reason::DoubleFree { since, .. } => *since = last,
            _ => {}
        }
        e
    }

    /// The operations with their 1-based line numbers.
    pub fn ops(&self) -> Ops<'a> {
        Ops { lines: Lines { text: self.text, at: self.body, no: self.body_lines }, ids: self.header.ids }
    }

    /// Writes the trace back in `.rep` form (same header variant, one
    /// operation a line, no comments); parsing the output gives the same
    /// header and operations.
    ///
    /// # Errors
    /// Those of `w`.
    pub fn write_rep<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        let h = &self.header;
        match h.kind {
            HeaderKind::Classic => writeln!(w, "{}\n{}\n{}\n{}", h.heap_size.unwrap_or(0), h.ids, h.ops, h.weight.unwrap_or(1))?,
            HeaderKind::Short => writeln!(w, "{}\n{}", h.ids, h.ops)?,
        }
        for (_, op) in self.ops() {
            match op {
                Op::Alloc { id, size } => writeln!(w, "a {id} {size}")?,
                Op::Realloc { id, size } => writeln!(w, "r {id} {size}")?,
                Op::Free { id } => writeln!(w, "f {id}")?,
            }
        }
        Ok(())
    }

    /// The line of the header's operation count.
    pub fn ops_line(&self) -> usize {
        self.ops_line
    }
}

const NEVER: u8 = 0;
const LIVE: u8 = 1;
const FREED: u8 = 2;

/// Checks `op` against the state of its id (`since` left 0: see `Trace::since`).
fn lifecycle(s: &mut [u8], op: Op, no: usize) -> Result<(), TraceError> {
    match op {
        Op::Alloc { id, .. } => {
            if s[id] == LIVE {
                return err(no, Reason::AllocWhileLive { id, since: 0 });
            }
            s[id] = LIVE;
        }
        Op::Realloc { id, size } => match s[id] {
            NEVER => return err(no, Reason::ReallocBeforeAlloc { id }),
            FREED => return err(no, Reason::ReallocAfterFree { id, since: 0 }),
            // `realloc(p, 0)` frees `p`, as glibc's does (and the replays).
            _ if size == 0 => s[id] = FREED,
            _ => {}
        },
        Op::Free { id } => {
            match s[id] {
                NEVER => return err(no, Reason::FreeBeforeAlloc { id }),
                FREED => return err(no, Reason::DoubleFree { id, since: 0 }),
                _ => {}
            }
            s[id] = FREED;
        }
    }
    Ok(())
}

/// Iterator over a parsed trace's operations, see [`Trace::ops`].
#[derive(Clone)]
pub struct Ops<'a> {
    lines: Lines<'a>,
    ids: usize,
}

impl Iterator for Ops<'_> {
    /// `(line, operation)`.
    type Item = (usize, Op);

    fn next(&mut self) -> Option<(usize, Op)> {
        // The text was validated by `parse`, so errors cannot occur here;
        // should one anyway, the iteration ends.
        let (no, _, f) = self.lines.next_fields()?.ok()?;
        operation(&f, no, self.ids, None).ok().map(|op| (no, op))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::{String, ToString};
    use std::vec;
    use std::vec::Vec;

    fn ops(t: &Trace<'_>) -> Vec<(usize, Op)> {
        t.ops().collect()
    }

    fn bad(text: &str) -> TraceError {
        let mut scratch = vec![0u8; 64];
        Trace::parse_checked(text.as_bytes(), &mut scratch).map(|_| ()).unwrap_err()
    }

    #[test]
    fn short_and_classic_headers() {
        let s = Trace::parse(b"3\n2\na 0 24\nf 0\n").unwrap();
        assert_eq!(s.header, Header { kind: HeaderKind::Short, heap_size: None, ids: 3, ops: 2, weight: None });
        assert_eq!(ops(&s), [(3, Op::Alloc { id: 0, size: 24 }), (4, Op::Free { id: 0 })]);
        let c = Trace::parse(b"20000\n6\n3\n1\na 0 2040\nr 0 10\nf 0\n").unwrap();
        assert_eq!(c.header, Header { kind: HeaderKind::Classic, heap_size: Some(20000), ids: 6, ops: 3, weight: Some(1) });
        assert_eq!(ops(&c)[1], (6, Op::Realloc { id: 0, size: 10 }));
        assert_eq!(c.ops_line(), 3);
    }

    #[test]
    fn blanks_comments_crlf_tabs_and_bom() {
        let t = Trace::parse(b"\xEF\xBB\xBF# a comment\r\n\n 2 \r\n\t1  # ops\r\n\r\na\t1 8 # one\r\n\n").unwrap();
        assert_eq!((t.header.ids, t.header.ops), (2, 1));
        assert_eq!(ops(&t), [(6, Op::Alloc { id: 1, size: 8 })]);
        // A header without operations: zero declared.
        assert_eq!(ops(&Trace::parse(b"0\n0\n").unwrap()), []);
    }

    #[test]
    fn every_reason_with_its_line() {
        let t = Token::new;
        let (id, size, header) = (Field::Id, Field::Size, Field::HeaderNumber);
        let cases: &[(&str, usize, Reason)] = &[
            ("", 1, Reason::Empty),
            ("\n\n# nothing\n", 1, Reason::Empty),
            ("a 0 1\n", 1, Reason::MissingHeader),
            ("2\n1 2\n", 2, Reason::HeaderFields(2)),
            ("1\n2\n3\na 0 1\n", 3, Reason::HeaderLength(3)),
            ("1\n1\n1\n1\n1\n", 5, Reason::HeaderLength(5)),
            ("2\n-1\n", 2, Reason::Negative { field: header, text: t(b"-1") }),
            ("2\n1.5\n", 2, Reason::NotANumber { field: header, text: t(b"1.5") }),
            ("2\n-\n", 2, Reason::NotANumber { field: header, text: t(b"-") }),
            ("2\n99999999999999999999\n", 2, Reason::TooLarge { field: header, text: t(b"99999999999999999999"), limit: u64::MAX }),
            ("2000001\n1\n", 1, Reason::TooManyIds(2_000_001)),
            ("1\n3000000\n", 2, Reason::TooManyOps(3_000_000)),
            ("1\n1\nx 0 1\n", 3, Reason::UnknownOp(t(b"x"))),
            ("1\n1\nalloc 0 1\n", 3, Reason::UnknownOp(t(b"alloc"))),
            ("1\n1\na 0\n", 3, Reason::FieldCount { op: 'a', found: 2 }),
            ("1\n1\nf 0 8\n", 3, Reason::FieldCount { op: 'f', found: 3 }),
            ("1\n1\nr 0 1 2 3 4\n", 3, Reason::FieldCount { op: 'r', found: 6 }),
            ("1\n1\na 1 8\n", 3, Reason::IdOutOfRange { id: 1, ids: 1 }),
            ("1\n1\na x 8\n", 3, Reason::NotANumber { field: id, text: t(b"x") }),
            ("1\n1\na 0 -8\n", 3, Reason::Negative { field: size, text: t(b"-8") }),
            ("1\n1\na 0 +8\n", 3, Reason::NotANumber { field: size, text: t(b"+8") }),
            ("1\n1\na 0 2147483649\n", 3, Reason::TooLarge { field: size, text: t(b"2147483649"), limit: 1 << 31 }),
            ("1\n1\na 0 8\nf 0\n", 4, Reason::MoreOpsThanDeclared { declared: 1, line: 2 }),
            // One too many is reported before its own fields are read.
            ("1\n1\na 0 8\nf 9\n", 4, Reason::MoreOpsThanDeclared { declared: 1, line: 2 }),
            ("1\n3\na 0 8\nf 0\n", 2, Reason::FewerOpsThanDeclared { declared: 3, found: 2 }),
            ("1\n1\na 0\x00 8\n", 3, Reason::Nul),
            ("1\n1\na 0 8\x07\n", 3, Reason::ControlChar(7)),
            ("1\n1\na 0 \u{FFFD}\n", 3, Reason::InvalidUtf8),
            ("2\n2\na 0 8\na 0 8\n", 4, Reason::AllocWhileLive { id: 0, since: 3 }),
            ("2\n1\nr 1 8\n", 3, Reason::ReallocBeforeAlloc { id: 1 }),
            ("2\n3\na 0 8\nf 0\nr 0 8\n", 5, Reason::ReallocAfterFree { id: 0, since: 4 }),
            // `r 0 0` frees id 0, as glibc's `realloc(p, 0)`.
            ("2\n3\na 0 8\nr 0 0\nf 0\n", 5, Reason::DoubleFree { id: 0, since: 4 }),
            ("2\n3\na 0 8\nr 0 0\nr 0 8\n", 5, Reason::ReallocAfterFree { id: 0, since: 4 }),
            ("2\n1\nf 0\n", 3, Reason::FreeBeforeAlloc { id: 0 }),
            ("2\n3\na 0 8\nf 0\nf 0\n", 5, Reason::DoubleFree { id: 0, since: 4 }),
            // The line referred back to is the last one of that id.
            ("2\n7\na 0 8\nf 0\na 1 8\na 0 8\nf 0\n\n# x\nf 0\nf 1\n", 10, Reason::DoubleFree { id: 0, since: 7 }),
            // Met while scanning, before the short count is known.
            ("6\n5\nf 5\n", 3, Reason::FreeBeforeAlloc { id: 5 }),
            ("65\n0\n", 1, Reason::ScratchTooSmall { needed: 65 }),
        ];
        for (text, line, reason) in cases {
            let e = bad(text);
            assert_eq!((e.line, e.reason), (*line, *reason), "{text:?}");
            assert_eq!(e.code(), "malformed-trace");
            assert!(e.to_string().starts_with(&std::format!("line {line}: ")));
        }
        // Invalid UTF-8 on line 2; a bad line before it is reported first.
        let e = Trace::parse(b"1\n\xff\xfe\n").unwrap_err();
        assert_eq!((e.line, e.reason), (2, Reason::InvalidUtf8));
        let e = Trace::parse(b"1\n1\nx\n\xff\n").unwrap_err();
        assert_eq!((e.line, e.reason), (3, Reason::UnknownOp(t(b"x"))));
        // UTF-8 in a comment is text.
        assert!(Trace::parse("1\n0 # caf\u{e9}\n".as_bytes()).is_ok());
        // Lifecycle errors pass `parse` (syntax only).
        assert!(Trace::parse(b"2\n1\nf 0\n").is_ok());
    }

    #[test]
    fn messages_quote_the_field() {
        let message = |text: &str| bad(text).reason.to_string();
        assert_eq!(message("2\n1\nalloc 0 8\n"), "unknown operation 'alloc' (expected a, f or r)");
        assert_eq!(message("2\n1\na 0 8.5\n"), "size '8.5' is not a non-negative integer");
        assert_eq!(message("2\n1\na -1 8\n"), "negative id -1");
        assert_eq!(message("2\n1\na 0\n"), "'a id size' takes 3 fields, found 2");
        assert_eq!(message("2\n2\na 0 8\nf 0 8\n"), "'f id' takes 2 fields, found 3");
        assert_eq!(message("2\n1\na 0 2147483649\n"), "size 2147483649 is above the limit of 2147483648");
        assert_eq!(message("1\n2\n3\n4\n5\n"), "header has more than 4 numbers; expected 2 numbers (ids, operations) or 4 (heap size, ids, operations, weight), one a line");
        // A long field is cut (at a character boundary) and marked.
        let long = std::format!("2\n1\na 0 {}\u{e9}\u{e9}9\n", "1".repeat(39));
        assert_eq!(message(&long), std::format!("size '{}...' is not a non-negative integer", "1".repeat(39)));
        assert_eq!(Token::new("\u{e9}".repeat(30).as_bytes()).as_str().len(), 40);
    }

    #[test]
    fn text_size_limit_and_header_read() {
        let big = vec![b'\n'; MAX_TEXT + 1];
        assert_eq!(Trace::parse(&big).unwrap_err(), TraceError { line: 1, reason: Reason::TextTooLarge(MAX_TEXT + 1) });
        let h = Header::read(b"\xEF\xBB\xBF20000\n6\n3\n1\nthis line is not read\n").unwrap();
        assert_eq!((h.kind, h.ids, h.ops), (HeaderKind::Classic, 6, 3));
        assert_eq!(Header::read(b"2 1\n").unwrap_err().reason, Reason::HeaderFields(2));
    }

    #[test]
    fn messages_are_distinct() {
        let all = [
            Reason::Empty,
            Reason::MissingHeader,
            Reason::HeaderFields(2),
            Reason::HeaderLength(3),
            Reason::NotANumber { field: Field::Id, text: Token::new(b"x") },
            Reason::Negative { field: Field::Id, text: Token::new(b"-1") },
            Reason::TooLarge { field: Field::Id, text: Token::new(b"9"), limit: 1 },
            Reason::UnknownOp(Token::new(b"x")),
            Reason::Nul,
            Reason::InvalidUtf8,
            Reason::DoubleFree { id: 0, since: 1 },
            Reason::FreeBeforeAlloc { id: 0 },
        ];
        let texts: Vec<String> = all.iter().map(|r| r.to_string()).collect();
        for (i, a) in texts.iter().enumerate() {
            assert!(texts[i + 1..].iter().all(|b| a != b), "{a}");
        }
    }

    #[test]
    fn round_trip_both_headers() {
        for text in ["20000\n6\n4\n1\na 0 2040\na 1 2040\nr 1 8\nf 1\n", "# c\n6\n3\n\na 0 1 # x\nr 0 2\nf 0\n"] {
            let t = Trace::parse(text.as_bytes()).unwrap();
            let mut out = String::new();
            t.write_rep(&mut out).unwrap();
            let u = Trace::parse(out.as_bytes()).unwrap();
            assert_eq!(t.header, u.header);
            let strip = |t: &Trace<'_>| t.ops().map(|(_, o)| o).collect::<Vec<_>>();
            assert_eq!(strip(&t), strip(&u));
        }
    }

    #[test]
    fn the_malloclab_traces_parse_checked() {
        if cfg!(miri) {
            return; // no file system under Miri's isolation
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces/malloclab");
        let Ok(entries) = std::fs::read_dir(&dir) else { return };
        let mut scratch = vec![0u8; MAX_COUNT];
        let mut n = 0;
        for e in entries {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rep") {
                let text = std::fs::read(&p).unwrap();
                let t = Trace::parse_checked(&text, &mut scratch).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                assert_eq!(t.ops().count(), t.header.ops);
                n += 1;
            }
        }
        assert!(n > 0);
    }
}
